import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildDashboard } from '../../dashboard/build.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const noBrowser = CHROMIUM === undefined ? 'Debian\'s chromium is not installed (apt-get install chromium; .ci/run installs it)' : false;

test('the committed dashboard/dist is what npm run build:dashboard makes of dashboard/src', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-dash-'));
  try {
    await buildDashboard(dir);
    for (const f of ['index.html', 'app.js', 'app.css']) {
      assert.ok(readFileSync(join(dir, f)).equals(readFileSync(`dashboard/dist/${f}`)), `dashboard/dist/${f} is stale: run npm run build:dashboard`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let srv: RunningServer;
before(async () => { srv = await startServer(['--threads', '2', '--memory', '32mb']); });
after(async () => { await srv.stop(); });

test('the admin port serves the page and refuses other sites\' origins (a DNS name rebound to 127.0.0.1 included)', async () => {
  const page = await fetch(`${srv.admin}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.match(await page.text(), /<script type="module" src="\/dashboard\/app.js">/);
  const own = `http://127.0.0.1:${srv.adminPort}`;
  assert.equal((await fetch(`${srv.admin}/v1/stats`, { headers: { Origin: own } })).status, 200);
  for (const origin of ['http://evil.example', `http://rebound.example:${srv.adminPort}`, 'null']) {
    const r = await fetch(`${srv.admin}/v1/admin/flush`, { method: 'POST', headers: { Origin: origin } });
    assert.equal(r.status, 403, origin);
    assert.equal((await r.json() as { error: { code: string } }).error.code, 'SABCACHE_ERR_FORBIDDEN_ORIGIN');
  }
  // The key view: type, version, TTL and value (base64).
  await fetch(`${srv.base}/v1/kv/view-me?ttl=100`, { method: 'PUT', body: 'hello' });
  const e = await (await fetch(`${srv.admin}/v1/admin/entry/view-me`)).json() as { type: string; version: string; ttlSeconds: number; value: string };
  assert.deepEqual([e.type, Buffer.from(e.value, 'base64').toString(), e.ttlSeconds > 90], ['bytes', 'hello', true]);
  assert.equal((await fetch(`${srv.admin}/v1/admin/entry/nope`)).status, 404);
  // The stream: a frame at once.
  const ac = new AbortController();
  const stream = await fetch(`${srv.admin}/v1/admin/stream`, { signal: ac.signal });
  assert.equal(stream.headers.get('content-type'), 'text/event-stream');
  const first = await stream.body!.getReader().read();
  ac.abort();
  const frame = JSON.parse(Buffer.from(first.value!).toString().replace(/^data: /, '')) as { items: number; status: string; latency: object };
  assert.equal(frame.status, 'ready');
  assert.ok(frame.items >= 1 && typeof frame.latency === 'object');
});

test('in Chromium: live charts, a key written over HTTP shows within 2 s, edits read back over HTTP, a stale edit is refused and shown', { skip: noBrowser }, async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const errors: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.admin}/`);
    await page.locator('#status.ready').waitFor({ timeout: 10_000 });

    // Traffic for the charts.
    for (let i = 0; i < 50; i++) await fetch(`${srv.base}/v1/kv/load:${i}`, { method: 'PUT', body: `v${i}` });
    for (let i = 0; i < 100; i++) await (await fetch(`${srv.base}/v1/kv/load:${i}`)).arrayBuffer();

    // Watch: a key written over HTTP appears within 2 s.
    await page.click('nav button[data-tab=watch]');
    await page.fill('#watch-prefix', 'dash:');
    await page.click('#watch-start');
    await page.locator('#watch-info', { hasText: 'watching' }).waitFor({ timeout: 5000 });
    assert.equal((await fetch(`${srv.base}/v1/kv/dash:new`, { method: 'PUT', body: 'first' })).status, 204);
    await page.locator('#watch-events li', { hasText: 'set dash:new' }).waitFor({ timeout: 2000 });

    // The key browser finds it by prefix and by glob (a page at a time).
    await page.click('nav button[data-tab=keys]');
    await page.fill('#pattern', 'dash:*w');
    await page.click('#key-search button[type=submit]');
    await page.locator('#key-list li', { hasText: 'dash:new' }).waitFor({ timeout: 2000 });
    await page.fill('#pattern', 'dash:');
    await page.click('#key-search button[type=submit]');
    await page.locator('#key-list li', { hasText: 'dash:new' }).click();
    await page.locator('#entry-meta', { hasText: 'type bytes' }).waitFor();
    assert.equal(await page.textContent('#entry-value'), 'first');

    // An edit made in the browser reads back over HTTP.
    await page.fill('#edit-value', 'edited in the browser');
    await page.click('#save');
    await page.locator('#entry-message', { hasText: 'Saved.' }).waitFor();
    assert.equal(await (await fetch(`${srv.base}/v1/kv/dash:new`)).text(), 'edited in the browser');

    // A stale edit: another writer changes the key after the page read it.
    assert.equal((await fetch(`${srv.base}/v1/kv/dash:new`, { method: 'PUT', body: 'another writer' })).status, 204);
    await page.fill('#edit-value', 'stale');
    await page.click('#save');
    await page.locator('#entry-message.error', { hasText: 'another writer changed this key' }).waitFor();
    assert.equal(await (await fetch(`${srv.base}/v1/kv/dash:new`)).text(), 'another writer', 'the other writer\'s value stays');

    // TTL and delete.
    await page.locator('#key-list li', { hasText: 'dash:new' }).click();
    await page.fill('#ttl', '300');
    await page.click('#set-ttl');
    await page.locator('#entry-meta', { hasText: 'TTL 300 s' }).waitFor();
    assert.equal((await fetch(`${srv.base}/v1/kv/dash:new`)).headers.get('sabcache-ttl'), '300');
    await page.click('#delete');
    await page.locator('#entry-message', { hasText: 'Deleted.' }).waitFor();
    assert.equal((await fetch(`${srv.base}/v1/kv/dash:new`)).status, 404);

    // The charts drew non-zero series.
    await page.click('nav button[data-tab=overview]');
    await page.waitForFunction(() => {
      const c = (window as unknown as { sabcacheDashboard: { charts(): Record<string, number[][]> } }).sabcacheDashboard.charts();
      return c['chart-ops'].slice(1).some((s) => s.some((v) => v > 0)) && c['chart-memory'][1].some((v) => v > 0);
    }, undefined, { timeout: 10_000 });
    const charts = await page.evaluate(() => (window as unknown as { sabcacheDashboard: { charts(): Record<string, number[][]> } }).sabcacheDashboard.charts());
    assert.ok(charts['chart-ops'][3].some((v) => v > 0), 'sets/s drawn');
    assert.ok(charts['chart-latency'].slice(1).some((s) => s.some((v) => v > 0)), 'latency drawn');
    assert.equal(await page.locator('.uplot').count(), 7);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard.png' });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('with users configured the dashboard needs the admin role: a browser with admin credentials uses it, one with a read role is refused', { skip: noBrowser }, async () => {
  const { chromium } = await import('playwright-core');
  const { writeFileSync } = await import('node:fs');
  const { hashPassword } = await import('../../src/server/password-hash.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-dash-users-'));
  const users = join(dir, 'users.json');
  writeFileSync(users, JSON.stringify({ users: [{ name: 'ops', password: hashPassword('ops-pass'), role: 'admin' }, { name: 'reader', password: hashPassword('r-pass'), role: 'read' }] }));
  const s = await startServer(['--threads', '1', '--memory', '16mb', '--users-file', users]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    assert.equal((await fetch(`${s.admin}/`)).status, 401, 'no credential');
    const reader = await browser.newContext({ httpCredentials: { username: 'reader', password: 'r-pass' } });
    const refused = await (await reader.newPage()).goto(`${s.admin}/`);
    assert.ok(refused?.status() === 401 || refused?.status() === 403, `the read role is refused: ${refused?.status()}`);
    const ops = await browser.newContext({ httpCredentials: { username: 'ops', password: 'ops-pass' } });
    const page = await ops.newPage();
    await page.goto(`${s.admin}/`);
    await page.locator('#status.ready').waitFor({ timeout: 10_000 });
    await fetch(`${s.base}/v1/kv/secured`, { method: 'PUT', body: 'v', headers: { Authorization: `Basic ${Buffer.from('ops:ops-pass').toString('base64')}` } });
    await page.click('nav button[data-tab=keys]');
    await page.fill('#pattern', 'sec');
    await page.click('#key-search button[type=submit]');
    await page.locator('#key-list li', { hasText: 'secured' }).click();
    await page.locator('#entry-meta', { hasText: 'type bytes' }).waitFor();
  } finally {
    await browser.close();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
