import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSlowLog, resetSlowLog, slowLogLength, SlowLogWriter } from '../../src/server/slow-log.ts';
import { createSlowLogBuffer } from '../../src/server/slowlog-words.ts';
import { exited, firstMessage, startFixture } from '../helpers/workers.ts';

test('entries come back newest first, across slots, at most max-len of them; RESET hides what came before', () => {
  const buffer = createSlowLogBuffer(2, 3);
  const a = new SlowLogWriter(buffer, 0, 0);
  const b = new SlowLogWriter(buffer, 1, 0);
  for (let i = 0; i < 4; i++) {
    a.add(2, 10 + i, ['GET', `a${i}`], '127.0.0.1:1', 'x');
    b.add(0, 20 + i, ['PUT', `/b${i}`], '127.0.0.1');
  }
  const all = readSlowLog(buffer, -1);
  assert.equal(all.length, 3, 'max-len entries');
  assert.deepEqual(all.map((e) => e.args.map(String)), [['PUT', '/b3'], ['GET', 'a3'], ['PUT', '/b2']]);
  assert.deepEqual(all.map((e) => e.durationUs), [23, 13, 22]);
  assert.ok(all[0].id > all[1].id && all[1].id > all[2].id);
  assert.equal(all[1].clientName, 'x');
  assert.equal(readSlowLog(buffer, 2).length, 2);
  assert.equal(slowLogLength(buffer), 3);
  resetSlowLog(buffer);
  assert.equal(slowLogLength(buffer), 0);
  a.add(2, 5, ['PING'], '127.0.0.1:2');
  assert.deepEqual(readSlowLog(buffer, 10).map((e) => String(e.args[0])), ['PING']);
});

test('arguments are cut as Redis cuts them: 32 at most, 128 bytes each, and the entry keeps what fits', () => {
  const buffer = createSlowLogBuffer(1, 4);
  const w = new SlowLogWriter(buffer, 0, 0);
  w.add(2, 1, ['SET', 'k', 'v'.repeat(300)], '', '');
  const [e] = readSlowLog(buffer, 1);
  assert.equal(String(e.args[2]), `${'v'.repeat(128)}... (172 more bytes)`);
  w.add(2, 1, Array.from({ length: 40 }, (_, i) => String(i)), '', '');
  const [f] = readSlowLog(buffer, 1);
  assert.equal(f.args.length, 32);
  assert.equal(String(f.args[31]), '... (9 more arguments)');
  w.add(2, 1, ['MSET', ...Array.from({ length: 20 }, () => 'x'.repeat(100))], '', '');
  const [g] = readSlowLog(buffer, 1);
  assert.ok(g.args.length >= 3 && g.args.length < 21, `what fits in the entry: ${g.args.length} arguments`);
  assert.equal(String(g.args[0]), 'MSET');
});

test('readers never see a torn entry while 2 threads rewrite their rings (the seqlock)', async () => {
  const buffer = createSlowLogBuffer(2, 4);
  const n = 200_000;
  const workers = [0, 1].map((slot) => startFixture('slowlog-writer', { buffer, slot, n }));
  for (const w of workers) w.ref();
  const done = workers.map((w) => firstMessage<string>(w));
  const ends = workers.map(exited);
  let finished = false;
  void Promise.all(done).then(() => { finished = true; });
  let reads = 0;
  let torn = 0;
  while (!finished) {
    for (const e of readSlowLog(buffer, -1)) {
      reads++;
      const k = e.durationUs;
      const digits = String(k);
      const expected = digits.repeat(Math.ceil(100 / digits.length)).slice(0, 100);
      if (String(e.args[0]) !== expected || e.client !== `c${k}` || e.clientName !== `name${k}`) torn++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(ends);
  assert.ok(reads > 100, `the readers read while the writers wrote (${reads} entries)`);
  assert.equal(torn, 0, `${torn} of ${reads} entries read mixed two writes`);
  const ids = readSlowLog(buffer, -1).map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique across threads');
});

test('a server with --slowlog-threshold 0 logs every RESP command, HTTP request and WebSocket message: SLOWLOG and /v1/admin/slowlog', async () => {
  const { startServer } = await import('../helpers/server-process.ts');
  const { Redis } = await import('ioredis');
  const srv = await startServer(['--threads', '2', '--memory', '16mb', '--slowlog-threshold', '0', '--slowlog-max-len', '50']);
  try {
    const redis = new Redis({ port: srv.respPort, connectionName: 'tester' });
    await redis.set('slow-key', 'v');
    await redis.set('slow-key', 'v2', 'EX', '100'); // not the fast path: timed
    await fetch(`${srv.base}/v1/kv/slow-http`, { method: 'PUT', body: 'x' });
    await (await fetch(`${srv.base}/v1/kv/slow-http`)).arrayBuffer();
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(srv.base).port}/v1/ws`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send('{"id":1,"op":"get","key":"slow-ws"}');
    await new Promise((resolve) => ws.once('message', resolve));
    ws.close();
    const entries = await redis.call('SLOWLOG', 'GET', '-1') as [number, number, number, string[], string, string][];
    const set = entries.find((e) => e[3][0] === 'set');
    assert.ok(set, 'the SET with EX is logged');
    assert.deepEqual(set[3], ['set', 'slow-key', 'v2', 'EX', '100']);
    assert.equal(entries.filter((e) => e[3][0] === 'set').length, 1, 'the plain SET (served from the received bytes) is not timed');
    assert.match(set[4], /^127\.0\.0\.1:\d+$/);
    assert.equal(set[5], 'tester');
    assert.ok(Math.abs(set[1] - Date.now() / 1000) < 60 && set[2] >= 0);
    const r = await fetch(`${srv.admin}/v1/admin/slowlog?count=-1`);
    assert.equal(r.status, 200);
    const body = await r.json() as { entries: { id: number; protocol: string; command: string[]; client: string; durationUs: number }[]; length: number };
    assert.deepEqual(body.entries.filter((e) => e.protocol === 'http').map((e) => e.command).reverse(), [['PUT', '/v1/kv/slow-http'], ['GET', '/v1/kv/slow-http']]);
    assert.equal(body.length, body.entries.length);
    assert.deepEqual(body.entries.filter((e) => e.protocol === 'ws').map((e) => e.command), [['WS', '1 requests', '{"id":1,"op":"get","key":"slow-ws"}']]);
    assert.ok(body.entries.every((e, i) => i === 0 || e.id < body.entries[i - 1].id), 'newest first');
    assert.equal((await fetch(`${srv.admin}/v1/admin/slowlog?count=x`)).status, 400);
    assert.equal(await redis.call('SLOWLOG', 'LEN'), body.length, 'the same entries (the SLOWLOG GET before it among them)');
    await assert.rejects(redis.call('SLOWLOG', 'GET', '-2'), /count should be greater than or equal to -1/);
    await assert.rejects(redis.call('SLOWLOG', 'NOPE'), /unknown subcommand/);
    assert.equal((await fetch(`${srv.admin}/v1/admin/slowlog`, { method: 'DELETE' })).status, 200);
    assert.equal(await redis.call('SLOWLOG', 'LEN'), 0);
    redis.disconnect();
  } finally {
    await srv.stop();
  }
});

test('the default threshold (10 ms) keeps quick commands out; -1 logs nothing', async () => {
  const { startServer } = await import('../helpers/server-process.ts');
  const { Redis } = await import('ioredis');
  for (const args of [[], ['--slowlog-threshold=-1']]) {
    const srv = await startServer(['--threads', '1', '--memory', '16mb', ...args]);
    try {
      const redis = new Redis({ port: srv.respPort });
      for (let i = 0; i < 50; i++) await redis.get(`k${i}`);
      const logged = await redis.call('SLOWLOG', 'GET', '-1') as unknown[][];
      // A GET over 10 ms would be an outlier here; with -1 none can be logged at all.
      assert.ok(logged.every((e) => (e[3] as string[])[0] !== 'get' || (e[2] as number) >= 10_000), JSON.stringify(logged));
      if (args.length) assert.deepEqual(logged, []);
      redis.disconnect();
    } finally {
      await srv.stop();
    }
  }
});
