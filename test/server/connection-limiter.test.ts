import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { CONNECTION_RESP, CONNECTION_WS, ConnectionLimiter, NO_CELL, REFUSED_ADDRESS, REFUSED_TOTAL } from '../../src/server/connection-limiter.ts';
import { createLimitsBuffer } from '../../src/server/limit-words.ts';
import { identityOfAddressText } from '../../src/server/rate-limiter.ts';
import { startServer } from '../helpers/server-process.ts';
import { exited, firstMessage, startFixture } from '../helpers/workers.ts';

test('the total and per-address limits; closing gives the slot back', () => {
  const c = new ConnectionLimiter(createLimitsBuffer(), { maxConnections: 4, maxConnectionsPerAddress: 2 });
  const a = identityOfAddressText('10.0.0.1');
  const b = identityOfAddressText('10.0.0.2');
  const a1 = c.open(a, CONNECTION_RESP);
  const a2 = c.open(a, CONNECTION_WS);
  assert.ok(a1 >= 0 && a2 === a1, 'one cell per address');
  assert.equal(c.open(a, CONNECTION_RESP), REFUSED_ADDRESS);
  const b1 = c.open(b, CONNECTION_RESP);
  c.open(b, CONNECTION_RESP);
  assert.equal(c.open(identityOfAddressText('10.0.0.3'), CONNECTION_WS), REFUSED_TOTAL);
  assert.equal(c.openConnections(), 4);
  assert.deepEqual(c.openByProtocol(), { ws: 1, resp: 3 }, 'refused connections are not counted');
  c.close(a1, CONNECTION_RESP);
  assert.ok(c.open(a, CONNECTION_WS) >= 0, 'a closed connection makes room for its address');
  c.close(b1, CONNECTION_RESP);
  assert.deepEqual(c.refused(), { total: 1, perAddress: 1 });
  assert.equal(c.openConnections(), 3);
  assert.deepEqual(c.openByProtocol(), { ws: 2, resp: 1 });
  const off = new ConnectionLimiter(createLimitsBuffer(), { maxConnections: 0, maxConnectionsPerAddress: 0 });
  assert.equal(off.open(a, CONNECTION_WS), NO_CELL, 'no per-address limit: counted in the total only');
  off.close(NO_CELL, CONNECTION_WS);
  assert.equal(off.openConnections(), 0);
  assert.deepEqual(off.openByProtocol(), { ws: 0, resp: 0 });
});

test('3 threads opening at once: exactly the limit is let in (add, then compare)', async () => {
  for (const [maxConnections, maxConnectionsPerAddress] of [[5000, 0], [0, 3000]]) {
    const buffer = createLimitsBuffer();
    const gate = new SharedArrayBuffer(8);
    const workers = Array.from({ length: 3 }, () => startFixture('limits-race', { buffer, gate, kind: 'connections', n: 4000, now: 0, identity: 9, burst: 1, maxConnections, maxConnectionsPerAddress }));
    for (const w of workers) w.ref();
    const g = new Int32Array(gate);
    while (Atomics.load(g, 1) < 3) await new Promise((r) => setTimeout(r, 5));
    // Listen before releasing them: a worker that answered may be gone before a later listener.
    const counts = workers.map((w) => firstMessage<number>(w));
    const ends = workers.map(exited);
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
    const allowed = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
    await Promise.all(ends);
    assert.equal(allowed, maxConnections || maxConnectionsPerAddress);
    const view = new ConnectionLimiter(buffer, { maxConnections, maxConnectionsPerAddress });
    assert.equal(view.openConnections(), allowed);
    // Each thread's connections alternate between the protocols: the gauges lose no add.
    const { ws, resp } = view.openByProtocol();
    assert.equal(ws + resp, allowed, `protocol gauges ${ws} + ${resp}`);
  }
});

/** Opens a RESP connection; resolves with it once PING is answered, or with the text the server sent before closing. */
function resp(port: number): Promise<net.Socket | string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got === '+PONG\r\n') resolve(s);
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write('PING\r\n');
  });
}

test('server: RESP and WebSocket connections counted together per address, on every thread; refused with Redis\'s words / 503', async () => {
  const srv = await startServer(['--threads', '2', '--memory', '16mb', '--max-connections-per-address', '3']);
  try {
    const open = await Promise.all([resp(srv.respPort), resp(srv.respPort), resp(srv.respPort)]);
    assert.ok(open.every((s) => typeof s !== 'string'), 'three connections fit');
    assert.equal(await resp(srv.respPort), '-ERR max number of clients from this address reached\r\n');
    const refusedWs = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    assert.equal(refusedWs, 503, 'a WebSocket upgrade from the same address is refused');
    (open[0] as net.Socket).destroy();
    await new Promise((r) => setTimeout(r, 100));
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.close();
    const stats = await (await fetch(`${srv.admin}/v1/stats`)).json() as { limits: { refusedConnectionsPerAddress: number; openConnections: number } };
    assert.equal(stats.limits.refusedConnectionsPerAddress, 2);
    for (const s of open.slice(1)) (s as net.Socket).destroy();
  } finally {
    await srv.stop();
  }
});

test('server: --max-connections refuses past the total with Redis\'s maxclients reply', async () => {
  const srv = await startServer(['--threads', '2', '--memory', '16mb', '--max-connections', '2']);
  try {
    const open = await Promise.all([resp(srv.respPort), resp(srv.respPort)]);
    assert.equal(await resp(srv.respPort), '-ERR max number of clients reached\r\n');
    for (const s of open) (s as net.Socket).destroy();
  } finally {
    await srv.stop();
  }
});
