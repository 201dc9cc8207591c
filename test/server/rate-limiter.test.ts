import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createLimitsBuffer, RATE_CELLS, TICK_NS } from '../../src/server/limit-words.ts';
import { identityOfAddress, identityOfAddressText, identityOfName, RateLimiter } from '../../src/server/rate-limiter.ts';
import { startServer } from '../helpers/server-process.ts';
import { exited, firstMessage, startFixture } from '../helpers/workers.ts';

const S = 1e9 / TICK_NS; // ticks per second

test('GCRA: a burst at once, then one request per emission interval; the wait is what is left', () => {
  const rate = new RateLimiter(createLimitsBuffer(), { perClient: 10, perClientBurst: 5, global: 0, globalBurst: 1 });
  const id = identityOfName('alice');
  const t0 = 100 * S;
  for (let i = 0; i < 5; i++) assert.equal(rate.take(id, t0), 0, `request ${i + 1} of the burst`);
  assert.equal(rate.take(id, t0), 100, 'the 6th waits one interval (100 ms)');
  assert.equal(rate.take(id, t0 + 0.05 * S), 50, 'refused requests are not charged: half an interval later, half is left');
  assert.equal(rate.take(id, t0 + 0.1 * S), 0, 'one interval later, one more');
  assert.equal(rate.take(id, t0 + 0.1 * S), 100);
  assert.equal(rate.take(identityOfName('bob'), t0), 0, 'another client has its own budget');
  for (let i = 0; i < 5; i++) assert.equal(rate.take(id, t0 + 10 * S), 0, 'idle long enough: the whole burst is back');
  assert.deepEqual(rate.counts(), { refusedPerClient: 3, refusedGlobal: 0, cellsShared: 0 });
});

test('the global limit holds all clients together; a client over its own limit does not spend it', () => {
  const rate = new RateLimiter(createLimitsBuffer(), { perClient: 1, perClientBurst: 2, global: 100, globalBurst: 3 });
  const t0 = 5 * S;
  assert.equal(rate.take(1, t0), 0);
  assert.equal(rate.take(1, t0), 0);
  assert.ok(rate.take(1, t0) > 0, 'client 1 over its own limit');
  assert.equal(rate.take(2, t0), 0, 'the global budget had 3: one is left');
  assert.equal(rate.take(3, t0), 10, 'the global limit: wait 10 ms');
  assert.deepEqual(rate.counts(), { refusedPerClient: 1, refusedGlobal: 1, cellsShared: 0 });
});

test('cells of clients whose budget is back are taken by others: a full table recovers', () => {
  const rate = new RateLimiter(createLimitsBuffer(), { perClient: 1, perClientBurst: 1, global: 0, globalBurst: 1 });
  const t0 = 10 * S;
  for (let i = 1; i <= RATE_CELLS * 1.5; i++) rate.take(identityOfName(`a${i}`), t0);
  const shared = rate.counts().cellsShared;
  assert.ok(shared > 0, 'more clients in debt at once than cells: some share');
  // The shared ones were refused more, never less: every client took its one request or was refused.
  for (let i = 1; i <= RATE_CELLS / 8; i++) assert.equal(rate.take(identityOfName(`b${i}`), t0 + 100 * S), 0, `client b${i}`);
  assert.equal(rate.counts().cellsShared, shared, 'long after, every cell is free again: no new client shares');
});

test('an address has one identity over HTTP (uWS text bytes) and RESP (Node text), apart from a user of that name', () => {
  assert.equal(identityOfAddress(new TextEncoder().encode('127.0.0.1').buffer), identityOfAddressText('127.0.0.1'));
  assert.notEqual(identityOfName('127.0.0.1'), identityOfAddressText('127.0.0.1'));
  assert.notEqual(identityOfAddressText('10.0.0.1'), identityOfAddressText('10.0.0.2'));
});

/** Runs the limits-race fixture in one thread per entry of `kinds`, all released at once; resolves with the sum of what they let through. */
async function race<T = number>(kinds: string[], data: { n: number; burst: number; identity: number; sweeps?: number }): Promise<T[]> {
  const buffer = createLimitsBuffer();
  const gate = new SharedArrayBuffer(12);
  const workers = kinds.map((kind) => startFixture('limits-race', { buffer, gate, kind, now: 50 * S, maxConnections: 0, maxConnectionsPerAddress: 0, ...data }));
  for (const w of workers) w.ref(); // the main thread waits on them
  const g = new Int32Array(gate);
  while (Atomics.load(g, 1) < kinds.length) await new Promise((r) => setTimeout(r, 5));
  // Listen before releasing them: a worker that answered may be gone before a later listener.
  const answers = workers.map((w) => firstMessage<T>(w));
  const ends = workers.map(exited);
  Atomics.store(g, 0, 1);
  Atomics.notify(g, 0);
  const all = await Promise.all(answers);
  await Promise.all(ends);
  return all;
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

test('3 threads at one instant: exactly the burst is allowed (the CAS loop; a plain store lets more through)', async () => {
  assert.equal(sum(await race(['rate', 'rate', 'rate'], { n: 150_000, burst: 200_000, identity: 7 })), 200_000);
});

test('two threads with the first requests of the same new clients: each client gets one cell (a second claim would double its burst)', async () => {
  // Two threads each send one request for each of 40,000 clients (burst 1): 40,000 in all
  // may pass; a third sweeps meanwhile. Without the second pass's own-tag check, a thread
  // that found the first cell claimed and charged by the other claimed the next: 40,001 to 41,355 let through.
  // Three times: one run misses the race now and then (1 in 4 with the check removed).
  for (let run = 0; run < 3; run++) assert.equal(sum(await race(['identities', 'identities', 'sweep'], { n: 40_000, burst: 1, identity: 1000, sweeps: 30 })), 40_000);
});

test('a sweep racing requests never undoes a charge: let-through instants stay one interval apart (a plain store breaks it)', async () => {
  // One client (1,000,000/s: 8 ticks apart, burst 1) asked without pause by two threads at
  // the instant of a shared clock, which a third moves on a tick at a time, sweeping the
  // client's cells at each instant: whenever the cell's time is reached, a sweep and a request
  // act on it at once. GCRA lets requests through at least 8 ticks apart.
  const [a, b] = await race<number[]>(['clocked', 'clocked', 'clocked-sweep'], { n: 1_000_000, burst: 1, identity: 77, sweeps: 1_000_000 });
  const times = [...a, ...b].sort((x, y) => x - y);
  let closest = Infinity;
  for (let i = 1; i < times.length; i++) closest = Math.min(closest, times[i] - times[i - 1]);
  assert.ok(times.length > 1_000, `${times.length} let through`);
  assert.ok(closest >= 8, `two requests let through ${closest} ticks apart`);
});

test('times are read relative to now across the 2^32-tick wrap; sweeps keep idle cells past (without them one reads as ahead)', () => {
  const buffer = createLimitsBuffer();
  const rate = new RateLimiter(buffer, { perClient: 10, perClientBurst: 1, global: 0, globalBurst: 1 });
  const id = identityOfName('carol');
  const t0 = 2 ** 32 - 3 * S; // 3 s before the 32-bit tick count wraps
  for (let t = 0; t < t0; t += 60 * S) rate.sweep(t); // what the servers' threads do every minute
  assert.equal(rate.take(id, t0), 0);
  assert.equal(rate.take(id, t0 + 0.05 * S), 50, 'the wait is right');
  assert.equal(rate.take(id, t0 + 5 * S - 1), 0, 'and right across the wrap');
  for (let t = t0 + 60 * S; t < t0 + 1200 * S; t += 60 * S) rate.sweep(t);
  assert.equal(rate.take(id, t0 + 1200 * S), 0, '20 minutes idle, swept every minute: past');
  const unswept = new RateLimiter(createLimitsBuffer(), { perClient: 10, perClientBurst: 1, global: 0, globalBurst: 1 });
  unswept.take(id, 5 * S);
  assert.equal(unswept.take(id, 5 * S + 2 ** 32 - 0.01 * S), 110, 'never swept, 2^32 ticks later its time (one 100 ms interval on) reads as 110 ms ahead');
  assert.throws(() => new RateLimiter(buffer, { perClient: 10, perClientBurst: 10_000, global: 0, globalBurst: 1 }), (e: { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION', 'a burst of 1,000 s');
});

test('server: one budget per client over HTTP, WebSocket and RESP, on every thread; 429 with Retry-After', async () => {
  const srv = await startServer(['--threads', '2', '--memory', '16mb', '--rate-limit', '10', '--rate-limit-burst', '5']);
  try {
    // HTTP: 12 requests at once over several connections (both threads): the burst of 5,
    // plus one per 100 ms that passed meanwhile.
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(`${srv.base}/v1/kv/k`).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() }))));
    const elapsed = performance.now() - t0;
    const allowed = answers.filter((a) => a.status === 404).length;
    assert.ok(allowed >= 5 && allowed <= 5 + Math.floor(elapsed / 100), `${allowed} allowed in ${elapsed} ms`);
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(limited.length, 12 - allowed);
    assert.equal(limited[0].retryAfter, '1');
    assert.equal(JSON.parse(limited[0].body).error.code, 'SABCACHE_ERR_RATE_LIMITED');

    await new Promise((r) => setTimeout(r, 700)); // the burst comes back
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const reply = new Promise<string>((r) => ws.once('message', (m) => r(String(m))));
    ws.send(JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ id: i + 1, op: 'get', key: 'k' }))));
    const items = JSON.parse(await reply) as { status: string; error?: { code: string } }[];
    const wsLimited = items.filter((x) => x.error?.code === 'SABCACHE_ERR_RATE_LIMITED').length;
    assert.ok(wsLimited >= 2 && wsLimited <= 3, `${wsLimited} of 8 WebSocket requests refused`);
    ws.close();

    await new Promise((r) => setTimeout(r, 700));
    const text = await new Promise<string>((resolve, reject) => {
      const s = net.connect(srv.respPort, '127.0.0.1');
      let got = '';
      s.on('data', (d) => {
        got += d;
        if (got.split('\r\n').length > 8) { s.destroy(); resolve(got); }
      });
      s.on('error', reject);
      s.write('PING\r\n'.repeat(8));
    });
    const lines = text.split('\r\n').filter(Boolean);
    assert.ok(lines.filter((l) => l === '+PONG').length >= 5, text);
    assert.match(lines[7], /^-ERR rate limit exceeded: retry in \d+ ms \(SABCACHE_ERR_RATE_LIMITED\)$/);
    const stats = await (await fetch(`${srv.admin}/v1/stats`)).json() as { limits: { rateLimited: number } };
    assert.ok(stats.limits.rateLimited >= 6, JSON.stringify(stats.limits));
  } finally {
    await srv.stop();
  }
});

test('server with users: a credential has its own budget; new (unchecked) credentials are charged to the address first, so password guessing is held to its rate', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { hashPassword } = await import('../../src/server/password-hash.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-rate-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [
    { name: 'u1', password: hashPassword('p1'), role: 'read' },
    { name: 'u2', password: hashPassword('p2'), role: 'read' },
  ] }));
  const srv = await startServer(['--threads', '1', '--memory', '16mb', '--users-file', join(dir, 'users.json'), '--rate-limit', '1', '--rate-limit-burst', '4']);
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const get = async (auth: string): Promise<number> => (await fetch(`${srv.base}/v1/kv/k`, { headers: { authorization: auth } })).status;
  try {
    // The first request of each user is a new credential: charged to the address (2 of its 4) and to the user.
    assert.equal(await get(basic('u1', 'p1')), 404);
    assert.equal(await get(basic('u2', 'p2')), 404);
    for (let i = 0; i < 3; i++) assert.equal(await get(basic('u1', 'p1')), 404, 'u1 has 4 of its own');
    assert.equal(await get(basic('u1', 'p1')), 429, 'u1 spent its burst');
    assert.equal(await get(basic('u2', 'p2')), 404, 'u2 is another budget');
    // Guesses: each a new credential, charged to the address, which has 2 left.
    const guesses = [];
    for (let i = 0; i < 4; i++) guesses.push(await get(basic('u1', `guess${i}`)));
    assert.deepEqual(guesses, [401, 401, 429, 429]);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
