import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { exchangeUntilClose } from '../helpers/raw-exchange.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

// Keyspace notifications (resp-pubsub.ts) with real clients, for writes made by other
// threads and over other protocols.
let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '32mb']);
});
after(async () => {
  await srv.stop();
});

/** Collects messages until `done` says enough, or fails after `ms`. */
function collect<T>(sub: Redis, done: (got: T[]) => boolean, ms = 8000): { got: T[]; until: Promise<void> } {
  const got: T[] = [];
  const until = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(got)}`)), ms);
    const check = (): void => {
      if (done(got)) {
        clearTimeout(timer);
        resolve();
      }
    };
    sub.on('message', (channel: string, message: string) => { got.push([channel, message] as T); check(); });
    sub.on('pmessage', (pattern: string, channel: string, message: string) => { got.push([pattern, channel, message] as T); check(); });
  });
  return { got, until };
}

test('SUBSCRIBE and PSUBSCRIBE hear set, del and expired from every thread and over HTTP, in order per key', async () => {
  // Several subscribers, so that some share a thread with the writer and some do not.
  const subs = Array.from({ length: 3 }, () => new Redis({ port: srv.respPort }));
  const writer = new Redis({ port: srv.respPort });
  try {
    // The expiry is found by the main thread's sweep (all buckets every 10 s at most).
    const seen = subs.map((s) => collect<string[]>(s, (g) => g.some((m) => m.join(' ') === '__keyspace@0__:ks:* __keyspace@0__:ks:ttl expired'), 20_000));
    for (const s of subs) {
      assert.deepEqual(await s.subscribe('__keyspace@0__:ks:a', '__keyevent@0__:del'), 2);
      assert.equal(await s.psubscribe('__keyspace@0__:ks:*'), 3);
    }
    await writer.set('ks:a', '1');
    await writer.incr('ks:a');
    await fetch(`${srv.base}/v1/kv/ks:b`, { method: 'PUT', body: 'over http' });
    await fetch(`${srv.base}/v1/kv/ks:a`, { method: 'DELETE' });
    await writer.set('ks:ttl', 'x', 'PX', 100);
    await Promise.all(seen.map((s) => s.until));
    for (const { got } of seen) {
      const lines = got.map((m) => m.join(' '));
      const exact = lines.filter((l) => l.startsWith('__keyspace@0__:ks:a '));
      assert.deepEqual(exact, ['__keyspace@0__:ks:a set', '__keyspace@0__:ks:a set', '__keyspace@0__:ks:a del']);
      assert.ok(lines.includes('__keyevent@0__:del ks:a'));
      assert.ok(lines.includes('__keyspace@0__:ks:* __keyspace@0__:ks:b set'), 'the HTTP write is heard');
      const patternA = lines.filter((l) => l.startsWith('__keyspace@0__:ks:* __keyspace@0__:ks:a '));
      assert.deepEqual(patternA.map((l) => l.split(' ')[2]), ['set', 'set', 'del']);
    }
  } finally {
    for (const s of subs) s.disconnect();
    writer.disconnect();
  }
});

test('a subscribed RESP2 connection takes only the pub/sub commands; UNSUBSCRIBE ends that; node-redis pSubscribe works', async () => {
  const raw = new Redis({ port: srv.respPort });
  const nr = createClient({ socket: { port: srv.respPort } });
  nr.on('error', () => {});
  try {
    await raw.subscribe('__keyevent@0__:set');
    await raw.unsubscribe(); // (what a subscribed connection may run is checked on a raw socket below: ioredis drops those replies)
    assert.equal(await raw.call('GET', 'nothing-here'), null);
    await nr.connect();
    const heard = new Promise<string[]>((resolve) => {
      void nr.pSubscribe('__keyevent@0__:*', (message, channel) => resolve([channel, message]));
    });
    await new Promise((r) => setTimeout(r, 50));
    await raw.set('from-node-redis-test', 'v');
    assert.deepEqual(await heard, ['__keyevent@0__:set', 'from-node-redis-test']);
  } finally {
    raw.disconnect();
    await nr.disconnect().catch(() => {});
  }
});

test('RESP2 context rules on a raw connection: Redis wording, PING as a message, RESET leaves subscribed mode', async () => {
  const reply = await exchangeUntilClose(srv.respPort, 'SUBSCRIBE __keyevent@0__:evicted\r\nGET k\r\nPING\r\nRESET\r\nGET k\r\nQUIT\r\n');
  assert.equal(reply, '*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:evicted\r\n:1\r\n' +
    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" +
    '*2\r\n$4\r\npong\r\n$0\r\n\r\n+RESET\r\n$-1\r\n+OK\r\n');
});

test('a subscriber that does not read is disconnected, never buffered without bound; the others and the data are unharmed', async () => {
  const slow = connect(srv.respPort, '127.0.0.1');
  let closed = false;
  let received = 0;
  slow.on('close', () => (closed = true));
  slow.on('error', () => {});
  await new Promise<void>((resolve) => slow.once('data', () => resolve()).write('SUBSCRIBE __keyevent@0__:set\r\n'));
  slow.on('data', (d: Buffer) => (received += d.length));
  slow.pause(); // reads nothing more for now
  const writer = new Redis({ port: srv.respPort });
  try {
    const key = 'k'.repeat(100);
    // Each MSET of 500 keys makes 500 messages of ~150 bytes: 1,000 of them, ~75 MB of
    // messages, more than the 32 MiB limit plus what the kernel's socket buffers hold.
    let produced = 0;
    for (let batch = 0; batch < 1000; batch++) {
      const args: string[] = [];
      for (let i = 0; i < 500; i++) args.push(`${key}${i}`, 'v');
      await writer.mset(...args);
      produced += 500 * 150;
      if (batch % 20 === 19) await new Promise((r) => setTimeout(r, 1));
    }
    // Read what it was sent: the server closed it, so the stream ends well short of all.
    slow.resume();
    const deadline = Date.now() + 15_000;
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed, 'the subscriber that did not read was disconnected');
    assert.ok(received < produced * 0.8, `it got ${received} bytes of ${produced} made`);
    assert.equal(await writer.get(`${key}7`), 'v');
  } finally {
    writer.disconnect();
    slow.destroy();
  }
});

test('evictions are heard on __keyevent@0__:evicted', async () => {
  const small = await startServer(['--threads', '1', '--memory', '16mb', '--max-value-bytes', '64kb']);
  const sub = new Redis({ port: small.respPort });
  const writer = new Redis({ port: small.respPort });
  try {
    const { got, until } = collect<string[]>(sub, (g) => g.length > 0, 20_000);
    await sub.subscribe('__keyevent@0__:evicted');
    const value = 'e'.repeat(32 * 1024);
    for (let i = 0; i < 2000 && got.length === 0; i++) {
      await writer.set(`fill:${i}`, value);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // maintenance runs
    }
    await until;
    assert.equal(got[0][0], '__keyevent@0__:evicted');
    assert.match(got[0][1], /^fill:\d+$/);
  } finally {
    sub.disconnect();
    writer.disconnect();
    await small.stop();
  }
});
