import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { WsClient, type WebSocketConstructor } from '../../src/client/index.ts';
import { decodeResponses, OP_GET, OP_SET, RequestWriter, ST_ERROR, ST_STORED, ST_VALUE, type WsResponse } from '../../src/protocol/ws-protocol.ts';
import { adaptClient } from '../contract/client-adapter.ts';
import { cacheContract } from '../contract/cache-contract.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
let client: WsClient;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '16mb', '--max-value-bytes', '64kb', '--ws-max-requests', '100', '--ws-max-backpressure-bytes', '256kb', '--allowed-origins', 'https://app.example']);
  client = await WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as unknown as WebSocketConstructor, maxRequestsPerMessage: 100 });
});
after(async () => {
  client.close();
  assert.equal(await srv.stop(), 0, srv.output());
});

cacheContract('ws client', () => adaptClient(() => client));

/** Opens a raw socket, sends `messages`, and collects what comes back until it closes or `ms` pass. */
async function raw(messages: (Uint8Array | string)[], ms = 500, headers: Record<string, string> = {}): Promise<{ replies: (Buffer | string)[]; closeCode?: number; status?: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`, { headers });
  const replies: (Buffer | string)[] = [];
  return new Promise((resolve) => {
    const done = (closeCode?: number, status?: number) => resolve({ replies, closeCode, status });
    ws.on('unexpected-response', (_req, res) => done(undefined, res.statusCode));
    ws.on('error', () => {});
    ws.on('open', () => { for (const m of messages) ws.send(m, { binary: typeof m !== 'string' }); });
    ws.on('message', (d, isBinary) => replies.push(isBinary ? (d as Buffer) : String(d)));
    ws.on('close', (code) => done(code));
    setTimeout(() => { ws.terminate(); done(); }, ms);
  });
}

test('[ws] many requests in one tick travel as one message, answers matched by id', async () => {
  const n = 500;
  const writes = await Promise.all(Array.from({ length: n }, (_, i) => client.set(`pipe:${i}`, `v${i}`)));
  assert.ok(writes.every((v) => typeof v === 'string'));
  const reads = await Promise.all(Array.from({ length: n }, (_, i) => client.get(`pipe:${i}`)));
  assert.deepEqual(reads, Array.from({ length: n }, (_, i) => `v${i}`));
});

test('[ws] the JSON text form answers the same operations', async () => {
  const { replies } = await raw([JSON.stringify([{ id: 1, op: 'set', key: 'j', value: 'v', ttl: 60 }, { id: 2, op: 'get', key: 'j' }, { id: 3, op: 'incr', key: 'jn', by: '5' }, { id: 4, op: 'bogus', key: 'x' }]), '{oops', JSON.stringify({ id: 9, op: 'ttl', key: 'j' })]);
  const [batch, bad, single] = replies.map((r) => JSON.parse(String(r)));
  assert.equal(batch[0].status, 'stored');
  assert.deepEqual({ ...batch[1], version: undefined, ttl: undefined }, { id: 2, status: 'value', value: 'v', type: 'string', version: undefined, ttl: undefined });
  assert.deepEqual(batch[2], { id: 3, status: 'integer', value: '5' });
  assert.equal(batch[3].error.code, 'SABCACHE_ERR_BAD_REQUEST');
  assert.equal(bad.error.code, 'SABCACHE_ERR_BAD_REQUEST');
  assert.equal(single.id, 9);
  assert.equal(single.status, 'ttl');
});

test('[ws] a truncated batch runs the requests before the damage and answers an error for it', async () => {
  const w = new RequestWriter();
  w.add(1, OP_SET, 'trunc:a', { value: new TextEncoder().encode('A') });
  w.add(2, OP_GET, 'trunc:a');
  w.add(3, OP_SET, 'trunc:b', { value: new TextEncoder().encode('a long value') });
  const frame = w.take();
  const { replies } = await raw([frame.subarray(0, frame.length - 4), new Uint8Array([1, 2, 3]), new Uint8Array([7, 0, 0, 0, 99, 0, 0, 0])]);
  const [first, second, third] = replies.map((r) => decodeResponses(new Uint8Array(r as Buffer)));
  assert.deepEqual(first.map((r) => [r.id, r.status]), [[1, ST_STORED], [2, ST_VALUE], [3, ST_ERROR]]);
  assert.equal(first[2].code, 'SABCACHE_ERR_BAD_REQUEST');
  assert.equal(second[0].status, ST_ERROR);
  assert.match(third[0].message!, /unknown op 99/);
  assert.equal(await client.get('trunc:b'), undefined, 'the damaged request did not run');
});

test('[ws] too many requests in one message: an error for the first one over, the rest skipped', async () => {
  const w = new RequestWriter();
  for (let i = 1; i <= 150; i++) w.add(i, OP_SET, `many:${i}`, { value: new Uint8Array([1]) });
  const { replies } = await raw([w.take()]);
  const answers = decodeResponses(new Uint8Array(replies[0] as Buffer));
  assert.equal(answers.length, 101);
  assert.equal(answers[100].id, 101);
  assert.equal(answers[100].status, ST_ERROR);
  assert.equal(await client.get('many:120'), undefined);
});

test('[ws] a message over the size limit closes the connection at once', async () => {
  const { closeCode, replies } = await raw([new Uint8Array(64 * 1024 + 65 * 1024)], 2000);
  // uWS drops the socket without a close frame: the client sees 1006 (abnormal closure).
  assert.equal(closeCode, 1006);
  assert.equal(replies.length, 0);
  assert.equal(await client.get('pipe:1'), 'v1', 'the server keeps serving');
});

test('[ws] a browser Origin must be allowed; clients without Origin are', async () => {
  assert.equal((await raw([], 500, { origin: 'https://evil.example' })).status, 403);
  const ok = await raw([JSON.stringify({ id: 1, op: 'ttl', key: 'x' })], 500, { origin: 'https://app.example' });
  assert.equal(JSON.parse(String(ok.replies[0])).status, 'ttl');
});

test('[ws] a client that never reads its answers is disconnected with 4001, not buffered without bound', async () => {
  await client.set('big', new Uint8Array(60 * 1024));
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
  await new Promise((r) => ws.once('open', r));
  // Stop reading: the socket's receive buffer and the server's send buffer fill up.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const w = new RequestWriter();
  for (let i = 1; i <= 3; i++) w.add(i, OP_GET, 'big'); // ~180 KB per message, under the 256 KB limit
  const frame = w.take();
  for (let i = 0; i < 100; i++) ws.send(frame); // ~18 MB of answers: more than the kernel's socket buffers hold
  await new Promise((r) => setTimeout(r, 1000));
  // Read again: what the server buffered before it gave up arrives, then its close frame.
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  let received = 0;
  ws.on('message', (d: Buffer) => { received += d.length; });
  const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
  ws.terminate();
  assert.equal(code, 4001);
  assert.ok(received < 12 * 1024 * 1024, `bounded: ${received} bytes arrived of ~18 MB asked for (kernel buffers + at most 256 KB)`);
  // One message asking for more than the limit at once is refused the same way.
  const big = new RequestWriter();
  for (let i = 1; i <= 10; i++) big.add(i, OP_GET, 'big');
  const { closeCode } = await raw([big.take()], 2000);
  assert.equal(closeCode, 4001);
  assert.equal(await client.get('pipe:1'), 'v1', 'the server keeps serving');
});

test('[ws] the client reconnects after its worker restarts, with backoff', async () => {
  const c = await WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as unknown as WebSocketConstructor, backoffInitialMs: 50 });
  await c.set('reconnect', 'before');
  for (const i of [0, 1]) assert.equal((await fetch(`${srv.admin}/v1/admin/workers/${i}/restart`, { method: 'POST' })).status, 202);
  let value: string | undefined;
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    try {
      value = await c.get('reconnect');
      break;
    } catch (e) {
      assert.equal((e as { code: string }).code, 'SABCACHE_ERR_CONNECTION');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.equal(value, 'before');
  c.close();
  await assert.rejects(c.get('x'), { code: 'SABCACHE_ERR_CLOSED' });
});

test('[ws] with --fsync always, thousands of answers in flight at once each come back whole, after their writes are synced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-ws-always-'));
  const always = await startServer(['--threads', '1', '--memory', '16mb', '--data-dir', dir, '--wal', '--fsync', 'always', '--snapshot-interval', '0']);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${always.port}/v1/ws`);
    await new Promise((r) => ws.once('open', r));
    const n = 3000;
    const valueOf = (i: number) => new TextEncoder().encode(`value ${i} `.repeat(1 + (i % 40)));
    const answers: WsResponse[] = [];
    const all = new Promise<void>((resolve) => {
      ws.on('message', (d: Buffer) => {
        answers.push(...decodeResponses(new Uint8Array(d)));
        if (answers.length >= 2 * n) resolve();
      });
      setTimeout(resolve, 30_000); // a lost answer fails the count below instead of hanging
    });
    // Each message sets one key and reads it back: its answer (up to ~400 bytes) waits for
    // the fdatasync while the next messages arrive, so many wait at once.
    const w = new RequestWriter();
    for (let i = 0; i < n; i++) {
      w.add(2 * i + 1, OP_SET, `always:${i}`, { value: valueOf(i) });
      w.add(2 * i + 2, OP_GET, `always:${i}`);
      ws.send(w.take());
    }
    await all;
    ws.close();
    assert.equal(answers.length, 2 * n);
    answers.forEach((a, k) => assert.equal(a.id, k + 1, 'in order'));
    for (let i = 0; i < n; i++) {
      assert.equal(answers[2 * i].status, ST_STORED, `set ${i}`);
      assert.deepEqual(answers[2 * i + 1].value, valueOf(i), `get ${i}`);
    }
  } finally {
    assert.equal(await always.stop(), 0, always.output());
    rmSync(dir, { recursive: true, force: true });
  }
});
