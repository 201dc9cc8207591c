import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb', '--allowed-origins', 'http://app.example,https://other.example']);
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const origin = { origin: 'http://app.example' };

test('answers to an allowed Origin carry CORS headers, errors included', async () => {
  const put = await fetch(`${srv.base}/v1/kv/c`, { method: 'PUT', body: 'v', headers: origin });
  assert.equal(put.status, 204);
  assert.equal(put.headers.get('access-control-allow-origin'), 'http://app.example');
  assert.equal(put.headers.get('vary'), 'Origin');
  assert.match(put.headers.get('access-control-expose-headers')!, /ETag/);
  for (const [url, init] of [[`${srv.base}/v1/kv/c`, {}], [`${srv.base}/v1/kv/missing`, {}], [`${srv.base}/v1/keys`, {}], [`${srv.base}/nope`, {}], [`${srv.base}/v1/mget`, { method: 'POST', body: '{"keys":["c"]}', headers: { 'content-type': 'application/json' } }]] as const) {
    const r = await fetch(url, { ...init, headers: { ...('headers' in init ? init.headers : {}), ...origin } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://app.example', url);
    await r.body?.cancel();
  }
});

test('other origins are refused 403 on every request; requests without Origin get no CORS headers', async () => {
  const evil = await fetch(`${srv.base}/v1/kv/c`, { headers: { origin: 'http://evil.example' } });
  assert.equal(evil.status, 403);
  assert.equal((await evil.json()).error.code, 'SABCACHE_ERR_FORBIDDEN_ORIGIN');
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const plain = await fetch(`${srv.base}/v1/kv/c`);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('access-control-allow-origin'), null);
  await plain.body?.cancel();
});

test('preflights: 204 with methods and headers for an allowed Origin, 403 otherwise', async () => {
  const ok = await fetch(`${srv.base}/v1/kv/c`, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'PUT' } });
  assert.equal(ok.status, 204);
  assert.match(ok.headers.get('access-control-allow-methods')!, /PUT/);
  assert.match(ok.headers.get('access-control-allow-headers')!, /If-Match/);
  const bad = await fetch(`${srv.base}/v1/kv/c`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
  assert.equal(bad.status, 403);
  assert.equal((await fetch(`${srv.base}/v1/mget`, { method: 'OPTIONS', headers: origin })).status, 204);
});

test('the CORS headers of one answer do not leak into the next on the same connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (headers: Record<string, string>) => new Promise<string | undefined>((resolve, reject) => {
    http.get(`${srv.base}/v1/kv/c`, { agent, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.headers['access-control-allow-origin'] as string | undefined)); }).on('error', reject);
  });
  assert.equal(await get(origin), 'http://app.example');
  assert.equal(await get({}), undefined);
  agent.destroy();
});
