import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { type WatchEvent, type WebSocketConstructor, WsClient } from '../../src/client/index.ts';
import { decodeResponses, FLAG_PREFIX, OP_WATCH, RequestWriter, ST_EVENT, ST_LAGGED } from '../../src/protocol/ws-protocol.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
let client: WsClient;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '16mb', '--max-value-bytes', '64kb', '--ws-max-backpressure-bytes', '64kb']);
  client = await WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as unknown as WebSocketConstructor });
});
after(async () => {
  client.close();
  assert.equal(await srv.stop(), 0, srv.output());
});

/** An HTTP request on a fresh connection (the kernel may pick either worker thread). */
function request(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${srv.base}${path}`, { method, agent: false, headers: path.startsWith('/v1/m') ? { 'content-type': 'application/json' } : {} }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    req.on('error', reject);
    req.end(body);
  });
}

const until = async (cond: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

test('[watch] a key and a prefix get the changes made through any thread, and only theirs', async () => {
  const keyEvents: WatchEvent[] = [];
  const prefixEvents: WatchEvent[] = [];
  const unwatchKey = await client.watch('w:one', (e) => keyEvents.push(e));
  await client.watch('p:', (e) => prefixEvents.push(e), { prefix: true });
  await request('PUT', '/v1/kv/w:one', 'a');
  await request('PUT', '/v1/kv/p:x', 'b');
  await request('PUT', '/v1/kv/other', 'c');
  await request('DELETE', '/v1/kv/w:one');
  await request('POST', '/v1/kv/p:n/incr');
  await until(() => keyEvents.length >= 2 && prefixEvents.length >= 2);
  assert.deepEqual(keyEvents, [{ kind: 'set', key: 'w:one', truncated: false }, { kind: 'delete', key: 'w:one', truncated: false }]);
  assert.deepEqual(prefixEvents.map((e) => e.kind === 'lagged' ? 'lagged' : `${e.kind} ${e.key}`), ['set p:x', 'set p:n']);
  await unwatchKey();
  await request('PUT', '/v1/kv/w:one', 'again');
  await request('PUT', '/v1/kv/p:y', 'b');
  await until(() => prefixEvents.length >= 3);
  assert.equal(keyEvents.length, 2, 'no events after unwatch');
});

test('[watch] changes of one key from different connections arrive in order', async () => {
  const events: string[] = [];
  await client.watch('order', (e) => { if (e.kind !== 'lagged') events.push(e.kind); });
  const rounds = 60;
  for (let i = 0; i < rounds; i++) {
    await request('PUT', '/v1/kv/order', String(i));
    await request('DELETE', '/v1/kv/order');
  }
  await until(() => events.length >= 2 * rounds);
  assert.equal(events.length, 2 * rounds);
  for (let i = 0; i < events.length; i++) assert.equal(events[i], i % 2 ? 'delete' : 'set', `event ${i}`);
});

test('[watch] an expired key is reported as expire', async () => {
  const events: WatchEvent[] = [];
  await client.watch('short', (e) => events.push(e));
  await request('PUT', '/v1/kv/short?ttl=1', 'x');
  await new Promise((r) => setTimeout(r, 2200));
  await request('DELETE', '/v1/kv/short'); // finds it expired: removed as expired
  await until(() => events.length >= 2);
  assert.deepEqual(events.map((e) => e.kind), ['set', 'expire']);
});

test('[watch] the JSON form watches too', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
  await new Promise((r) => ws.once('open', r));
  const got: object[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d))));
  ws.send(JSON.stringify({ id: 1, op: 'watch', key: 'json:', prefix: true }));
  await until(() => got.length >= 1);
  await request('PUT', '/v1/kv/json:a', 'v');
  await until(() => got.length >= 2);
  ws.close();
  assert.deepEqual(got, [{ id: 1, status: 'ok' }, { id: 0, status: 'event', kind: 'set', key: 'json:a', truncated: false }]);
});

test('[watch] a watcher that stops reading gets LAGGED once it reads again, never a silent gap', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
  await new Promise((r) => ws.once('open', r));
  const w = new RequestWriter();
  w.add(1, OP_WATCH, 'flood:', { flags: FLAG_PREFIX });
  ws.send(w.take());
  await new Promise((r) => ws.once('message', r));
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const long = 'x'.repeat(100);
  for (let batch = 0; batch < 120; batch++) {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ key: `flood:${long}${batch}:${i}`, value: 'v' }));
    assert.equal(await request('POST', '/v1/mset', JSON.stringify({ entries })), 200);
  }
  let events = 0;
  let lagged = 0;
  ws.on('message', (d: Buffer) => {
    for (const r of decodeResponses(new Uint8Array(d))) {
      if (r.status === ST_EVENT) events++;
      if (r.status === ST_LAGGED) lagged++;
    }
  });
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  await until(() => lagged > 0, 10_000);
  ws.close();
  // At least one: the connection fell behind; the 2048-slot feed may also have lapped the
  // worker during 120k changes, which is reported the same way.
  assert.ok(lagged >= 1, `LAGGED after ${events} events`);
  assert.ok(events < 120_000, 'some events were withheld');
});

test('[watch] a client watches again after a reconnect and hears lagged', async () => {
  const c = await WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as unknown as WebSocketConstructor, backoffInitialMs: 50 });
  const events: WatchEvent[] = [];
  await c.watch('again', (e) => events.push(e));
  for (const i of [0, 1]) await fetch(`${srv.admin}/v1/admin/workers/${i}/restart`, { method: 'POST' });
  await until(() => events.some((e) => e.kind === 'lagged'), 8000);
  // Both replacements serving, and the client's renewed watch confirmed on its new connection.
  for (let i = 0; i < 100; i++) {
    const stats = (await (await fetch(`${srv.admin}/v1/stats`)).json()) as { serverThreads: number };
    if (stats.serverThreads === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1500)); // past the restart linger of the old workers
  await c.ttl('again'); // a round trip on the current connection
  // Both workers restarted: retry until one listens again.
  for (let i = 0; i < 100; i++) {
    if (await request('PUT', '/v1/kv/again', 'v').catch(() => 0) === 204) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await until(() => events.some((e) => e.kind === 'set'), 8000);
  c.close();
  assert.ok(events.some((e) => e.kind === 'lagged'));
  assert.ok(events.some((e) => e.kind === 'set' && e.key === 'again'));
});
