/**
 * The dashboard's first paint with 1 million keys in the cache (issue target: within 1 s
 * over loopback). A server with 1,000,000 keys of 100 B (filled over RESP with
 * `redis-cli --pipe`); then, each round, a fresh Chromium page (Debian's, driven by
 * playwright-core) loads `/` from the admin port and reports, from the page's own clock
 * (navigation start = 0): the first contentful paint, the first live frame drawn (the status
 * pill set from the stream), and the key browser's first page of keys (from the click on
 * Search to the first key shown).
 *
 * Run: npm run bench:dashboard   (results: bench/results/dashboard.{md,json})
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { startProcess, stopProcess } from './helpers/processes.ts';

const KEYS = Number(process.env.SABCACHE_BENCH_KEYS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (CHROMIUM === undefined || spawnSync('redis-cli', ['--version']).error !== undefined) {
  console.log('bench:dashboard needs Debian\'s chromium and redis-tools (apt-get install chromium redis-tools)');
  process.exit(0);
}

const port = await freePort();
const adminPort = await freePort();
const respPort = await freePort();
const server = await startProcess([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', String(respPort), '--threads', '2', '--memory', '512mb'], /sabcache: serving|"msg":"serving /);
const admin = `http://127.0.0.1:${adminPort}`;

// 1M SETs as RESP, piped in one go.
const value = 'v'.repeat(100);
const parts: string[] = [];
for (let i = 0; i < KEYS; i++) {
  const key = `key:${String(i).padStart(7, '0')}`;
  parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$100\r\n${value}\r\n`);
}
const fill = spawnSync('redis-cli', ['-p', String(respPort), '--pipe'], { input: parts.join(''), maxBuffer: 1 << 26 });
if (fill.status !== 0) throw new Error(`fill failed: ${fill.stderr}`);
const items = (await (await fetch(`${admin}/v1/stats`)).json() as { items: number }).items;
console.log(`cache holds ${items} keys`);

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const rows: { fcpMs: number; firstFrameMs: number; firstKeysMs: number }[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${admin}/`, { waitUntil: 'commit' });
    await page.locator('#status.ready').waitFor({ timeout: 10_000 });
    const firstFrameMs = await page.evaluate(() => performance.now());
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
    const fcpMs = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime);
    await page.click('nav button[data-tab=keys]');
    await page.fill('#pattern', 'key:');
    const clicked = await page.evaluate(() => { (document.querySelector('#key-search button[type=submit]') as HTMLButtonElement).click(); return performance.now(); });
    await page.locator('#key-list li').first().waitFor();
    const firstKeysMs = (await page.evaluate(() => performance.now())) - clicked;
    rows.push({ fcpMs, firstFrameMs, firstKeysMs });
    console.log(`round ${r + 1}: first paint ${fcpMs.toFixed(0)} ms, first live frame ${firstFrameMs.toFixed(0)} ms, first page of keys ${firstKeysMs.toFixed(0)} ms`);
    await context.close();
  }
} finally {
  await browser.close();
  await stopProcess(server);
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const cell = (k: keyof typeof rows[0]): string => `${median(rows.map((x) => x[k])).toFixed(0)} ms (${Math.min(...rows.map((x) => x[k])).toFixed(0)}–${Math.max(...rows.map((x) => x[k])).toFixed(0)})`;
const lines = [
  '# Dashboard first paint with 1 million keys',
  '',
  `Node ${process.version}; ${items} keys of 100 B in a 512 MiB cache, 2 server threads, idle; Debian Chromium headless, a fresh context each round; ${ROUNDS} rounds; ${new Date().toISOString()}; command: \`npm run bench:dashboard\``,
  '',
  '| from navigation start | median (min–max) |',
  '|---|---|',
  `| first contentful paint | ${cell('fcpMs')} |`,
  `| first live frame drawn (charts, status) | ${cell('firstFrameMs')} |`,
  '',
  `| key browser | median (min–max) |`,
  '|---|---|',
  `| first page of keys (prefix \`key:\`, 200 a page) after Search | ${cell('firstKeysMs')} |`,
];
writeFileSync(new URL('./results/dashboard.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/dashboard.json', import.meta.url), JSON.stringify({ node: process.version, items, rounds: rows }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
