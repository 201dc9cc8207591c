import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, type RunningServer, startServer } from '../helpers/server-process.ts';

let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '32mb', '--max-value-bytes', '64kb']);
});
after(async () => {
  await srv.stop();
});

/** Sends `bytes` on a fresh connection (then half-closes it) and resolves with everything the server answered before it closed or `ms` passed. */
function exchange(bytes: Buffer | string, ms = 1000, halfClose = true): Promise<{ reply: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = connect(srv.respPort, '127.0.0.1');
    let reply = '';
    let closedByServer = false;
    const done = (): void => resolve({ reply, closedByServer });
    const timer = setTimeout(() => { s.destroy(); done(); }, ms);
    s.on('data', (d) => (reply += d.toString('latin1')));
    s.on('end', () => { closedByServer = true; });
    s.on('close', () => { clearTimeout(timer); done(); });
    s.on('error', () => {});
    s.write(bytes, () => { if (halfClose) s.end(); });
  });
}

test('a pipeline 1,000 deep is answered in order, and binary-safe keys and values round-trip', async () => {
  const r = new Redis({ port: srv.respPort, host: '127.0.0.1' });
  try {
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`p:${i}`, `v${i}`);
    for (let i = 0; i < 1000; i++) p.get(`p:${i}`);
    const res = await p.exec();
    assert.equal(res!.length, 2000);
    for (let i = 0; i < 1000; i++) assert.deepEqual(res![1000 + i], [null, `v${i}`]);
    const key = Buffer.from([0, 1, 13, 10, 255, 42, 36]);
    const value = Buffer.from([13, 10, 0, 36, 45, 49, 13, 10]);
    assert.equal(await r.set(key, value), 'OK');
    assert.deepEqual(await r.getBuffer(key), value);
    const big = Buffer.alloc(60_000, 7);
    await r.set('big', big);
    assert.deepEqual(await r.getBuffer('big'), big);
  } finally {
    r.disconnect();
  }
});

test('the hot commands (GET, SET, MSET, INCR, DECR) read their arguments in place: any case, large values, their errors, and the general forms they hand on', async () => {
  const big = 'v'.repeat(40_000); // more than the first guess of room for a GET's value
  const cmd = (...a: string[]): string => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  const { reply } = await exchange(
    cmd('sEt', 'hot:a', '1') + cmd('GET', 'hot:a') + cmd('incr', 'hot:a') + cmd('DeCr', 'hot:a') + cmd('set', 'hot:big', big) + cmd('get', 'hot:big') +
      cmd('mset', 'hot:m1', 'x', 'hot:m2', 'y') + cmd('get', 'hot:m2') + cmd('set', 'hot:a', 'z', 'NX') + cmd('set', 'hot:a', 'z', 'BOGUS') +
      cmd('rpush', 'hot:l', 'e') + cmd('get', 'hot:l') + cmd('incr', 'hot:l') + cmd('incr', 'hot:m1') + cmd('get', 'hot:nope') + cmd('mset', 'hot:odd') + cmd('gett', 'x'),
  );
  const wrongType = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
  assert.equal(reply, ['+OK\r\n', '$1\r\n1\r\n', ':2\r\n', ':1\r\n', '+OK\r\n', `$${big.length}\r\n${big}\r\n`, '+OK\r\n', '$1\r\ny\r\n', '$-1\r\n', '-ERR syntax error\r\n',
    ':1\r\n', wrongType, wrongType, '-ERR value is not an integer or out of range\r\n', '$-1\r\n', "-ERR wrong number of arguments for 'mset' command\r\n",
    "-ERR unknown command 'gett', with args beginning with: 'x'\r\n"].join(''));
});

test('replies queued behind a client that does not read stay intact while later reads are answered (the writer moves to a new buffer)', async () => {
  // 200 values of 32 KiB, each different: 6.4 MB of replies, more than the socket buffers
  // hold while the client is paused, so the server's socket queues replies it has not sent.
  const r = new Redis({ port: srv.respPort });
  const value = (i: number): Buffer => Buffer.alloc(32 * 1024, i % 251).fill(`v${i}:`, 0, 8);
  try {
    for (let i = 0; i < 200; i += 20) await r.pipeline(Array.from({ length: 20 }, (_, j) => ['set', `q:${i + j}`, value(i + j)])).exec();
  } finally {
    r.disconnect();
  }
  const s = connect(srv.respPort, '127.0.0.1');
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.pause();
  // In 20 writes, so that the server answers in many reads, each while earlier replies wait.
  for (let i = 0; i < 200; i += 10) {
    s.write(Array.from({ length: 10 }, (_, j) => `*2\r\n$3\r\nGET\r\n$${String(i + j).length + 2}\r\nq:${i + j}\r\n`).join(''));
    await new Promise((res) => setTimeout(res, 10));
  }
  await new Promise((res) => setTimeout(res, 300));
  s.resume();
  const expected = Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from(`$${32 * 1024}\r\n`), value(i), Buffer.from('\r\n')])));
  const deadline = Date.now() + 10_000;
  while (chunks.reduce((n, c) => n + c.length, 0) < expected.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  s.destroy();
  const got = Buffer.concat(chunks);
  assert.equal(got.length, expected.length);
  assert.ok(got.equals(expected), 'every reply is the value of its own key');
});

test('every worker thread accepts on the RESP port (SO_REUSEPORT)', async () => {
  const clients = Array.from({ length: 24 }, () => new Redis({ port: srv.respPort, host: '127.0.0.1' }));
  try {
    const ids = await Promise.all(clients.map((c) => c.client('ID') as Promise<number>));
    const threads = new Set(ids.map((id) => Math.floor(id / 2 ** 32)));
    assert.equal(threads.size, 2, `connections landed on threads ${[...threads]}`);
  } finally {
    for (const c of clients) c.disconnect();
  }
});

test('hostile streams get their protocol error and a closed connection; stored keys stay', async () => {
  const r = new Redis({ port: srv.respPort, host: '127.0.0.1' });
  await r.set('keep', 'safe');
  const cases: [string | Buffer, RegExp | null][] = [
    ['*1\r\n$1000000000\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
    ['*-7\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/],
    ['*2\r\n$3\r\nGET\r\n$-5\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
    ['*99999999999\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/],
    ['*1\r\n:1\r\n', /^-ERR Protocol error: expected '\$', got ':'\r\n$/],
    [`SET k ${'x'.repeat(70_000)}`, /^-ERR Protocol error: too big inline request\r\n$/],
    ['*2\r\n$3\r\nGET\r\n$4\r\nke', null], // truncated, then half-closed: nothing to answer
  ];
  for (const [wire, expect] of cases) {
    // Not half-closed: the server itself closes after a protocol error.
    const { reply, closedByServer } = await exchange(wire, 1000, expect === null);
    if (expect) {
      assert.match(reply, expect, JSON.stringify(String(wire).slice(0, 40)));
      assert.ok(closedByServer, 'the stream cannot be resynchronized: closed');
    } else assert.equal(reply, '');
  }
  let seed = 99;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 30; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
    const { reply } = await exchange(junk, 500);
    assert.ok(reply === '' || reply.startsWith('-') || reply.startsWith('+') || reply.startsWith('$') || reply.startsWith(':') || reply.startsWith('*'), reply.slice(0, 40));
  }
  assert.equal(await r.get('keep'), 'safe', 'no input touched stored data');
  assert.equal(await r.ping(), 'PONG', 'the threads still serve');
  r.disconnect();
  const stats = await (await fetch(`${srv.admin}/v1/stats`)).json() as { serverThreads: number };
  assert.equal(stats.serverThreads, 2, 'no worker crashed');
});

test('QUIT answers OK and closes; a command after it in the same read is not run', async () => {
  const { reply, closedByServer } = await exchange('PING\r\nQUIT\r\nSET after-quit 1\r\n', 1000, false);
  assert.equal(reply, '+PONG\r\n+OK\r\n');
  assert.ok(closedByServer);
  const r = new Redis({ port: srv.respPort, host: '127.0.0.1' });
  assert.equal(await r.exists('after-quit'), 0);
  r.disconnect();
});

const hasRedisCli = spawnSync('redis-cli', ['--version']).status === 0;

test('redis-cli: one-shot commands and --pipe', { skip: !hasRedisCli && 'redis-cli is not installed (apt-get install redis-tools)' }, () => {
  const cli = (...args: string[]): string => execFileSync('redis-cli', ['-p', String(srv.respPort), ...args], { encoding: 'utf8' }).trim();
  assert.equal(cli('PING'), 'PONG');
  assert.equal(cli('SET', 'cli', 'hello world'), 'OK');
  assert.equal(cli('GET', 'cli'), 'hello world');
  assert.equal(cli('INCRBY', 'cli-n', '5'), '5');
  const commands = Array.from({ length: 500 }, (_, i) => `SET pipe:${i} ${i}\r\n`).join('');
  const out = execFileSync('redis-cli', ['-p', String(srv.respPort), '--pipe'], { input: commands, encoding: 'utf8' });
  assert.match(out, /errors: 0, replies: 500/);
  assert.equal(cli('GET', 'pipe:499'), '499');
});

test('a RESP port in use is a clear startup error', async () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(await freePort()), '--resp-port', String(srv.respPort), '--threads', '1', '--memory', '8mb'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot listen on RESP port 127\.0\.0\.1:\d+: the port is in use \(SABCACHE_ERR_LISTEN\)/);
});
