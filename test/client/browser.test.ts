import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { freePort, startServer } from '../helpers/server-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>sabcache client</title>
<script type="module">
import { HttpClient, WsClient } from '/client.js';
window.run = async (base, wsUrl) => {
  const out = {};
  const h = new HttpClient(base);
  out.version = await h.set('browser', 'héllo');
  out.get = await h.get('browser');
  out.incr = await h.incr('browser:n', 2);
  out.ttl = await h.ttl('browser');
  const ws = await WsClient.connect({ url: wsUrl });
  out.wsGet = await ws.get('browser');
  out.many = await Promise.all(['a', 'b', 'c'].map((k) => ws.set('browser:' + k, k)));
  const events = [];
  await ws.watch('browser', (e) => events.push(e.kind));
  await h.set('browser', 'again');
  for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  out.events = events;
  ws.close();
  return out;
};
window.ready = true;
</script>`;

test('HttpClient and WsClient work in a real browser (headless Chromium), across origins', { skip }, async () => {
  const bundle = await build({ entryPoints: [new URL('../../src/client/index.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', write: false });
  const pagePort = await freePort();
  const pages = http.createServer((req, res) => {
    if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.outputFiles[0].text);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  await new Promise<void>((r) => pages.listen(pagePort, '127.0.0.1', r));
  const srv = await startServer(['--threads', '2', '--memory', '8mb', '--max-value-bytes', '64kb', '--allowed-origins', `http://127.0.0.1:${pagePort}`]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const out = await page.evaluate(([base, wsUrl]) => (window as unknown as { run(b: string, w: string): Promise<Record<string, unknown>> }).run(base, wsUrl), [srv.base, `ws://127.0.0.1:${srv.port}/v1/ws`]);
    assert.deepEqual(errors, []);
    assert.match(String(out.version), /^[0-9a-f]+\.[0-9a-f]+$/);
    assert.equal(out.get, 'héllo');
    assert.equal(out.incr, 2);
    assert.equal(out.ttl, -1);
    assert.equal(out.wsGet, 'héllo');
    assert.equal((out.many as string[]).length, 3);
    assert.deepEqual(out.events, ['set']);
  } finally {
    await browser.close();
    pages.close();
    assert.equal(await srv.stop(), 0);
  }
});
