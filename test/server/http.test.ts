import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { HttpClient } from '../../src/client/index.ts';
import { adaptClient } from '../contract/client-adapter.ts';
import { cacheContract } from '../contract/cache-contract.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '16mb', '--max-value-bytes', '64kb', '--max-key-bytes', '1024']);
});
after(async () => {
  assert.equal(await srv.stop(), 0, `graceful exit; output:\n${srv.output()}`);
});

const url = (key: string, query = ''): string => `${srv.base}/v1/kv/${encodeURIComponent(key)}${query}`;

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

cacheContract('http client', () => adaptClient(() => new HttpClient(srv.base)));

test('[http] GET sends the bytes with an ETag; a PUT changes it; If-None-Match gives 304', async () => {
  const put = await fetch(url('etag'), { method: 'PUT', body: 'v1' });
  assert.equal(put.status, 204);
  const etag = put.headers.get('etag')!;
  assert.match(etag, /^"[0-9a-z]+\.[0-9a-z]+"$/);
  const get = await fetch(url('etag'));
  assert.equal(get.headers.get('etag'), etag);
  assert.equal(get.headers.get('content-type'), null, 'bytes: no Content-Type (HTTP: application/octet-stream)');
  assert.equal(await get.text(), 'v1');
  const cached = await fetch(url('etag'), { headers: { 'if-none-match': etag } });
  assert.equal(cached.status, 304);
  const put2 = await fetch(url('etag'), { method: 'PUT', body: 'v2' });
  assert.notEqual(put2.headers.get('etag'), etag);
  assert.equal((await fetch(url('etag'), { headers: { 'if-none-match': etag } })).status, 200);
});

test('[http] HEAD answers 200 / 404 with no body', async () => {
  await fetch(url('head'), { method: 'PUT', body: 'some value' });
  const h = await fetch(url('head'), { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.ok(h.headers.get('etag'));
  assert.equal(await h.text(), '');
  assert.equal((await fetch(url('no-such-key'), { method: 'HEAD' })).status, 404);
});

test('[http] odd methods get 405 with Allow; unknown routes get JSON 404', async () => {
  for (const method of ['POST', 'OPTIONS']) {
    const r = await fetch(url('k'), { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, PUT, PATCH, DELETE');
    assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_METHOD_NOT_ALLOWED');
  }
  for (const path of ['/', '/v1/kv', '/v1/kv/a/b', '/v2/kv/a']) {
    const r = await fetch(srv.base + path);
    assert.equal(r.status, 404, path);
    assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_NOT_FOUND');
  }
});

test('[http] bad input gets its 4xx, and the server keeps serving and keeps its data', async () => {
  await fetch(url('precious'), { method: 'PUT', body: 'still here' });
  const cases: [string, RequestInit, number, string][] = [
    [`${srv.base}/v1/kv/%E0%A4`, {}, 400, 'SABCACHE_ERR_BAD_KEY'],
    [`${srv.base}/v1/kv/%zz`, {}, 400, 'SABCACHE_ERR_BAD_KEY'],
    [`${srv.base}/v1/kv/${'k'.repeat(1025)}`, {}, 414, 'SABCACHE_ERR_KEY_TOO_LARGE'],
    [`${srv.base}/v1/kv/${'é'.repeat(513)}`, { method: 'PUT', body: 'x' }, 414, 'SABCACHE_ERR_KEY_TOO_LARGE'],
    [url('precious', '?ttl=-1'), { method: 'PUT', body: 'x' }, 400, 'SABCACHE_ERR_BAD_TTL'],
    [url('precious', '?ttl=abc'), { method: 'PUT', body: 'x' }, 400, 'SABCACHE_ERR_BAD_TTL'],
    [url('precious', '?ttl=1.5'), { method: 'PUT', body: 'x' }, 400, 'SABCACHE_ERR_BAD_TTL'],
    [url('precious', '?ttl=99999999999'), { method: 'PUT', body: 'x' }, 400, 'SABCACHE_ERR_BAD_TTL'],
    [url('precious'), { method: 'PUT', body: new Uint8Array(64 * 1024 + 1) }, 413, 'SABCACHE_ERR_VALUE_TOO_LARGE'],
  ];
  for (const [u, init, status, code] of cases) {
    const r = await fetch(u, init);
    assert.equal(r.status, status, `${init.method ?? 'GET'} ${u.slice(0, 80)}`);
    assert.equal((await errorOf(r)).code, code);
  }
  assert.equal(await (await fetch(url('precious'))).text(), 'still here');
});

/** Sends `head` then `chunk` repeatedly (paced) until the server answers; returns the answer. */
function streamUntilAnswered(port: number, head: string, chunk: Buffer, maxChunks: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    s.on('data', (d) => { answer += d; });
    s.on('error', () => {});
    s.on('close', () => resolve(answer));
    s.write(head);
    const pump = (): void => {
      if (answer || s.destroyed) return;
      if (sent++ >= maxChunks) return void s.end();
      s.write(chunk, () => setTimeout(pump, 1));
    };
    pump();
    setTimeout(() => s.destroy(), 10_000);
  });
}

test('[http] a body without Content-Length is cut off at the limit while it streams', async () => {
  // 4 MiB offered in 8 KiB chunks against a 64 KiB limit: the server answers 413 and closes
  // after about 64 KiB, long before the end.
  const chunk = Buffer.concat([Buffer.from('2000\r\n'), Buffer.alloc(0x2000, 66), Buffer.from('\r\n')]);
  const answer = await streamUntilAnswered(srv.port, 'PUT /v1/kv/streamed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunk, 512);
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /SABCACHE_ERR_VALUE_TOO_LARGE/);
  assert.equal((await fetch(url('streamed'))).status, 404, 'nothing was stored');
  // A chunked body within the limit is stored whole.
  const ok = await new Promise<number>((resolve, reject) => {
    const req = http.request(url('streamed'), { method: 'PUT' }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1000, 65 + i));
    req.end();
  });
  assert.equal(ok, 204);
  const got = await (await fetch(url('streamed'))).text();
  assert.equal(got.length, 10_000);
  assert.equal(got.slice(9000), 'J'.repeat(1000));
});

test('[http] a body with Content-Length that arrives in two parts is stored whole', async () => {
  // The first part is not the whole body, so it must be copied before the next arrives.
  const answer = await new Promise<string>((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out.includes('\r\n\r\n')) { s.destroy(); resolve(out); }
    });
    s.on('error', reject);
    s.write('PUT /v1/kv/two-parts HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n' + 'a'.repeat(1000));
    setTimeout(() => s.write('b'.repeat(1000)), 50);
  });
  assert.match(answer, /^HTTP\/1\.1 204 /);
  assert.equal(await (await fetch(url('two-parts'))).text(), 'a'.repeat(1000) + 'b'.repeat(1000));
});

test('[http] a declared Content-Length over the limit is refused before the body is read', async () => {
  const answer = await streamUntilAnswered(srv.port, `PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`, Buffer.alloc(0x2000), 4);
  assert.match(answer, /^HTTP\/1\.1 413 /);
});

test('[http] garbage on the socket does not take a thread down', async () => {
  for (const junk of ['\x00\x01\x02garbage\r\n\r\n', 'GET /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n', 'PUT /v1/kv/x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n']) {
    await new Promise<void>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () => s.end(junk));
      s.on('data', () => {});
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
  }
  assert.equal((await fetch(`${srv.admin}/healthz`)).status, 200);
  await fetch(url('alive'), { method: 'PUT', body: 'yes' });
  assert.equal(await (await fetch(url('alive'))).text(), 'yes');
});

test('[http] every server thread serves the port; admin /healthz and /v1/stats', async () => {
  // Separate connections, so the kernel spreads them over the threads (SO_REUSEPORT).
  for (let i = 0; i < 40; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get(url(`spread:${i}`), { agent: false }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
    });
  }
  const health = await fetch(`${srv.admin}/healthz`);
  assert.equal((await health.json() as { status: string }).status, 'ok');
  const stats = (await (await fetch(`${srv.admin}/v1/stats`)).json()) as Record<string, unknown> & { threads: { requests: number }[]; serverThreads: number };
  for (const k of ['items', 'memoryUsedBytes', 'memoryLimitBytes', 'hits', 'misses', 'sets', 'deletes', 'evictions', 'expired']) {
    assert.equal(typeof stats[k], 'number', k);
  }
  assert.equal(stats.memoryLimitBytes, 16 * 1024 * 1024);
  assert.ok((stats.memoryUsedBytes as number) <= (stats.memoryLimitBytes as number));
  assert.equal(stats.serverThreads, 2);
  const serving = stats.threads.filter((t) => t.requests > 0);
  assert.equal(serving.length, 2, `both threads took requests: ${JSON.stringify(stats.threads)}`);
  assert.equal((await fetch(`${srv.admin}/v1/stats`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${srv.admin}/nope`)).status, 404);
});

test('[http] a worker restarted by the admin is replaced while the other serves, and data stays', async () => {
  await fetch(url('survivor'), { method: 'PUT', body: 'kept' });
  const r = await fetch(`${srv.admin}/v1/admin/workers/0/restart`, { method: 'POST' });
  assert.equal(r.status, 202);
  let failures = 0;
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const res = await fetch(url('survivor')).catch(() => undefined);
    if (!res || res.status !== 200 || (await res.text()) !== 'kept') failures++;
  }
  assert.equal(failures, 0);
  const stats = (await (await fetch(`${srv.admin}/v1/stats`)).json()) as { serverThreads: number };
  assert.equal(stats.serverThreads, 2);
  assert.match(srv.output(), /worker 0 exited with code 0; restarting/);
  assert.equal((await fetch(`${srv.admin}/v1/admin/workers/9/restart`, { method: 'POST' })).status, 404);
});

test('[http] conditional PUT answers 412 with its code; incr errors are 409/400; PATCH changes the TTL', async () => {
  const k = url('cond');
  const v1 = (await fetch(k, { method: 'PUT', body: 'a' })).headers.get('etag')!;
  let r = await fetch(k, { method: 'PUT', body: 'b', headers: { 'if-none-match': '*' } });
  assert.equal(r.status, 412);
  assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_PRECONDITION_FAILED');
  r = await fetch(k, { method: 'PUT', body: 'b', headers: { 'if-match': v1 } });
  assert.equal(r.status, 204);
  assert.equal((await fetch(k, { method: 'PUT', body: 'c', headers: { 'if-match': v1 } })).status, 412);
  assert.equal((await fetch(k, { method: 'PUT', body: 'c', headers: { 'if-match': 'W/"x"' } })).status, 400);
  assert.equal((await fetch(k, { method: 'PUT', body: 'c', headers: { 'if-match': '*', 'if-none-match': '*' } })).status, 400);
  r = await fetch(`${k}/incr`, { method: 'POST' });
  assert.equal(r.status, 409);
  assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_NOT_INTEGER');
  r = await fetch(`${url('n')}/incr?by=1.5`, { method: 'POST' });
  assert.equal(r.status, 400);
  assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_BAD_VALUE');
  r = await fetch(`${url('n')}/decr?by=5`, { method: 'POST' });
  assert.equal(await r.text(), '-5');
  assert.ok(r.headers.get('etag'));
  assert.equal(r.headers.get('etag'), (await fetch(url('n'), { method: 'HEAD' })).headers.get('etag'), 'decr gives the ETag the value then has');
  assert.equal((await fetch(`${k}?ttl=100`, { method: 'PATCH' })).status, 204);
  const ttl = Number((await fetch(k, { method: 'HEAD' })).headers.get('sabcache-ttl'));
  assert.ok(ttl >= 99 && ttl <= 101);
  assert.equal((await fetch(`${k}?ttl=0`, { method: 'PATCH' })).status, 204);
  assert.equal((await fetch(k, { method: 'HEAD' })).headers.get('sabcache-ttl'), null);
  assert.equal((await fetch(k, { method: 'PATCH' })).status, 400);
  assert.equal((await fetch(`${url('absent')}?ttl=5`, { method: 'PATCH' })).status, 404);
  assert.equal((await fetch(`${k}/nope`, { method: 'POST' })).status, 404);
  r = await fetch(`${k}/incr`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST');
});

test('[http] binary mget/mset keep bytes exact; bad batches change nothing', async () => {
  const enc = new TextEncoder();
  const entries: [string, Uint8Array, number][] = [['bin:a', new Uint8Array([0, 255, 10]), 0], ['bin:ключ', new Uint8Array(0), 60]];
  const parts: Uint8Array[] = [];
  for (const [key, value, ttl] of entries) {
    const kb = enc.encode(key);
    const head = new Uint8Array(2 + kb.length + 8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, kb.length, true);
    head.set(kb, 2);
    dv.setUint32(2 + kb.length, ttl, true);
    dv.setUint32(6 + kb.length, value.length, true);
    parts.push(head, value);
  }
  let r = await fetch(`${srv.base}/v1/mset`, { method: 'POST', body: Buffer.concat(parts), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { versions: string[] }).versions.length, 2);
  const keys = ['bin:a', 'bin:missing', 'bin:ключ'].map((k) => enc.encode(k));
  const req = Buffer.concat(keys.map((kb) => Buffer.concat([Buffer.from([kb.length & 255, kb.length >> 8]), kb])));
  r = await fetch(`${srv.base}/v1/mget`, { method: 'POST', body: req, headers: { 'content-type': 'application/octet-stream' } });
  const out = Buffer.from(await r.arrayBuffer());
  assert.equal(out.readInt32LE(0), 3);
  assert.deepEqual([...out.subarray(4, 7)], [0, 255, 10]);
  assert.equal(out.readInt32LE(7), -1);
  assert.equal(out.readInt32LE(11), 0);
  assert.equal(out.length, 15);
  for (const [body, type] of [['{not json', 'application/json'], ['{"keys":[1]}', 'application/json'], [Buffer.from([5, 0, 1]), 'application/octet-stream']] as const) {
    r = await fetch(`${srv.base}/v1/mget`, { method: 'POST', body, headers: { 'content-type': type } });
    assert.equal(r.status, 400);
    assert.equal((await errorOf(r)).code, 'SABCACHE_ERR_BAD_REQUEST');
  }
  r = await fetch(`${srv.base}/v1/mset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries: [{ key: 'ok-one', value: 'x' }, { key: 'k'.repeat(2000), value: 'y' }] }) });
  assert.equal(r.status, 414);
  assert.equal((await fetch(url('ok-one'))).status, 404, 'a bad batch stores nothing');
  r = await fetch(`${srv.base}/v1/mget`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) }) });
  assert.equal(r.status, 400);
  assert.equal((await fetch(`${srv.base}/v1/mget`)).status, 405);
});

test('[http] /v1/keys pages through a prefix; admin flush removes everything', async () => {
  await fetch(`${srv.base}/v1/mset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries: Array.from({ length: 30 }, (_, i) => ({ key: `list/é ${i}`, value: 'v' })) }) });
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const page = (await (await fetch(`${srv.base}/v1/keys?prefix=${encodeURIComponent('list/é ')}&cursor=${cursor}&count=7`)).json()) as { keys: string[]; cursor: string };
    for (const k of page.keys) seen.add(k);
    cursor = page.cursor;
  } while (cursor !== '0');
  assert.equal(seen.size, 30);
  assert.equal((await fetch(`${srv.base}/v1/keys?count=0`)).status, 400);
  const r = await fetch(`${srv.admin}/v1/admin/flush`, { method: 'POST' });
  assert.ok(((await r.json()) as { removed: number }).removed >= 30);
  assert.equal((await fetch(url('list/é 3'))).status, 404);
});
