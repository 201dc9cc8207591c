import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Redis } from 'ioredis';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
before(async () => { srv = await startServer(['--threads', '2', '--memory', '16mb']); });
after(async () => { await srv.stop(); });

interface Family { name: string; type: string; metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[] }
async function scrape(): Promise<Map<string, Family>> {
  const r = await fetch(`${srv.admin}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Map((parsePrometheusTextFormat(await r.text()) as Family[]).map((f) => [f.name, f]));
}
const value = (m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => {
  const f = m.get(name);
  assert.ok(f, `no ${name}`);
  const s = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return s === undefined ? 0 : Number(s.value ?? s.count);
};

test('a fresh server scrapes: counters, gauges and histograms by protocol and class, all parsed', async () => {
  const m = await scrape();
  for (const name of ['sabcache_hits_total', 'sabcache_misses_total', 'sabcache_sets_total', 'sabcache_evictions_total', 'sabcache_expirations_total', 'sabcache_items', 'sabcache_memory_limit_bytes', 'sabcache_segments', 'sabcache_operations_total', 'sabcache_operation_duration_seconds', 'sabcache_rejected_total', 'sabcache_connections_open']) {
    assert.ok(m.has(name), `${name} is exported`);
  }
  assert.equal(m.get('sabcache_hits_total')!.type, 'COUNTER');
  assert.equal(m.get('sabcache_operation_duration_seconds')!.type, 'HISTOGRAM');
  assert.equal(value(m, 'sabcache_memory_limit_bytes'), 16 * 1024 * 1024);
});

test('values move as the operations predict, over HTTP and RESP; histogram buckets are cumulative and end at the count', async () => {
  const before = await scrape();
  for (let i = 0; i < 20; i++) await fetch(`${srv.base}/v1/kv/p${i}`, { method: 'PUT', body: 'v' });
  for (let i = 0; i < 30; i++) await (await fetch(`${srv.base}/v1/kv/p${i}`)).arrayBuffer(); // 20 hits, 10 misses
  const redis = new Redis({ port: srv.respPort });
  await redis.mget('p0', 'p1', 'nope');
  await redis.set('r', '1');
  redis.disconnect();
  const m = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}): number => value(m, name, labels) - value(before, name, labels);
  assert.equal(delta('sabcache_sets_total'), 21);
  assert.equal(delta('sabcache_hits_total'), 22);
  assert.equal(delta('sabcache_misses_total'), 11);
  assert.equal(delta('sabcache_operations_total', { protocol: 'http', class: 'write' }), 20);
  assert.equal(delta('sabcache_operations_total', { protocol: 'http', class: 'read' }), 30);
  assert.equal(delta('sabcache_operations_total', { protocol: 'resp', class: 'batch' }), 1);
  assert.equal(delta('sabcache_operations_total', { protocol: 'resp', class: 'write' }), 1);
  assert.equal(value(m, 'sabcache_items'), 21);
  // The parser keeps only unlabelled histograms: the labelled series are read from the lines.
  const text = await (await fetch(`${srv.admin}/metrics`)).text();
  const series = (suffix: string): [string, number][] => [...text.matchAll(new RegExp(`^sabcache_operation_duration_seconds_${suffix}\\{protocol="http",class="read"(?:,le="([^"]+)")?\\} (\\S+)$`, 'gm'))].map((x) => [x[1], Number(x[2])]);
  const buckets = series('bucket').map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n] as const);
  assert.equal(buckets.length, 20, 'the 19 bounds and +Inf');
  assert.ok(buckets.every(([le, n], i) => i === 0 || (n >= buckets[i - 1][1] && le > buckets[i - 1][0])), 'cumulative, bounds ascending');
  assert.equal(buckets.at(-1)![1], series('count')[0][1]);
  assert.ok(series('count')[0][1] >= 30 && series('sum')[0][1] > 0);
  const stats = await (await fetch(`${srv.admin}/v1/stats`)).json() as { latency: { http: { read: { count: number; p50Us: number; p99Us: number } } } };
  assert.ok(stats.latency.http.read.count >= 30 && stats.latency.http.read.p99Us >= stats.latency.http.read.p50Us && stats.latency.http.read.p50Us > 0);
});

test('OpenMetrics when the scraper asks for it; INFO latencystats over RESP', async () => {
  const r = await fetch(`${srv.admin}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
  assert.match(r.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
  const text = await r.text();
  assert.match(text, /\n# EOF\n$/);
  assert.match(text, /^# TYPE sabcache_hits counter$/m);
  assert.match(text, /^sabcache_hits_total \d+$/m);
  const redis = new Redis({ port: srv.respPort });
  await redis.get('x');
  const info = await redis.info('latencystats');
  assert.match(info, /^latency_percentiles_usec_resp_read:p50=[\d.]+,p99=[\d.]+,p99\.9=[\d.]+\r?$/m);
  assert.doesNotMatch(await redis.info(), /latencystats/i, 'not in the default sections, as Redis');
  redis.disconnect();
});

test('connections by protocol and refusals for credentials: the gauges follow RESP and WebSocket connections, auth refusals count on every protocol', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { hashPassword } = await import('../../src/server/password-hash.ts');
  const net = await import('node:net');
  const { WebSocket } = await import('ws');
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-prom-'));
  const users = join(dir, 'users.json');
  writeFileSync(users, JSON.stringify({ users: [{ name: 'ops', password: hashPassword('ops-pass'), role: 'admin' }, { name: 'reader', password: hashPassword('r-pass'), role: 'read' }] }));
  const s = await startServer(['--threads', '2', '--memory', '16mb', '--users-file', users]);
  const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  try {
    const scrapeAuth = async (): Promise<Map<string, Family>> => {
      const r = await fetch(`${s.admin}/metrics`, { headers: basic('ops', 'ops-pass') });
      assert.equal(r.status, 200);
      return new Map((parsePrometheusTextFormat(await r.text()) as Family[]).map((f) => [f.name, f]));
    };
    const before = await scrapeAuth();
    assert.equal((await fetch(`${s.base}/v1/kv/k`)).status, 401);
    assert.equal((await fetch(`${s.base}/v1/kv/k`, { method: 'PUT', body: 'v', headers: basic('reader', 'r-pass') })).status, 403);
    const sock = net.connect(s.respPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET k\r\n');
    assert.match(String(await new Promise((r) => sock.once('data', r))), /^-NOAUTH/);
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/v1/ws`, { headers: basic('reader', 'r-pass') });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const during = await scrapeAuth();
    assert.equal(value(during, 'sabcache_connections_open', { protocol: 'resp' }), 1);
    assert.equal(value(during, 'sabcache_connections_open', { protocol: 'ws' }), 1);
    assert.equal(value(during, 'sabcache_rejected_total', { reason: 'auth' }) - value(before, 'sabcache_rejected_total', { reason: 'auth' }), 3, 'a 401, a 403 and a NOAUTH');
    sock.destroy();
    ws.close();
    await new Promise((r) => setTimeout(r, 300));
    const after = await scrapeAuth();
    assert.equal(value(after, 'sabcache_connections_open', { protocol: 'resp' }), 0);
    assert.equal(value(after, 'sabcache_connections_open', { protocol: 'ws' }), 0);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
