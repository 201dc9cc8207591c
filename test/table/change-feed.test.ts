import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { ChangeFeedTail, FEED_STALL_MS, feedWatched } from '../../src/table/change-feed.ts';
import { CHANGE_DELETE, CHANGE_EVICT, CHANGE_EXPIRE, CHANGE_SET, F_HEAD, FEED_KEY_BYTES, FEED_SLOTS, feedWord, WAYS } from '../../src/table/layout.ts';
import { advanceSeconds, keysInOneBucket, makeTable } from '../helpers/tables.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

const tick = () => new Promise((r) => setTimeout(r, 20));
const dec = new TextDecoder();

function collect(t: ReturnType<typeof makeTable>) {
  const events: [number, string, boolean][] = [];
  let lagged = 0;
  const tail = new ChangeFeedTail(t.v, t.threadWord, (r) => events.push([r.kind, dec.decode(r.key), r.truncated]), () => lagged++);
  return { tail, events, lagged: () => lagged };
}

test('nothing is published while nobody watches; a tail sees every change in order', async () => {
  const t = makeTable();
  t.set('before', 'x');
  assert.equal(t.v.i32[feedWord(t.v.g, F_HEAD)], 0, 'no watcher: no record');
  const c = collect(t);
  c.tail.start();
  assert.equal(feedWatched(t.v), true);
  t.set('a', '1');
  t.incr('n', 2);
  t.delete('a');
  t.set('ttl', 'x', 1);
  advanceSeconds(t, 3);
  t.delete('ttl'); // expired: reported as expire, not delete
  const long = 'L'.repeat(FEED_KEY_BYTES + 10);
  t.set(long, 'x');
  const same = keysInOneBucket(t, WAYS + 1, 'full');
  for (const k of same.slice(0, WAYS)) t.set(k, 'v');
  t.set(same[WAYS], 'v'); // the bucket is full: one way is evicted
  await tick();
  const kinds = c.events.map(([k, key]) => `${k}:${key.slice(0, 6)}`);
  assert.deepEqual(kinds.slice(0, 6), [`${CHANGE_SET}:a`, `${CHANGE_SET}:n`, `${CHANGE_DELETE}:a`, `${CHANGE_SET}:ttl`, `${CHANGE_EXPIRE}:ttl`, `${CHANGE_SET}:LLLLLL`]);
  assert.equal(c.events[5][1].length, FEED_KEY_BYTES);
  assert.equal(c.events[5][2], true, 'a long key is flagged truncated');
  assert.ok(c.events.some(([k]) => k === CHANGE_EVICT), 'a bucket-local eviction is reported');
  assert.equal(c.lagged(), 0);
  await c.tail.stop();
  assert.equal(feedWatched(t.v), false);
  t.close();
});

test('a tail the ring laps reports lag and goes on', async () => {
  const t = makeTable(8 << 20, 1024);
  const c = collect(t);
  c.tail.start();
  for (let i = 0; i < FEED_SLOTS + 500; i++) t.set(`k${i % 100}`, 'v'); // no await: the tail cannot keep up
  await tick();
  assert.ok(c.lagged() >= 1);
  const before = c.events.length;
  t.set('after', 'v');
  await tick();
  assert.deepEqual(c.events.slice(before).map(([, key]) => key), ['after'], 'it reads on after the lag');
  await c.tail.stop();
  t.close();
});

test('a slot reserved by a writer that died is skipped after a while, as lag', async () => {
  const t = makeTable();
  const c = collect(t);
  c.tail.start();
  Atomics.add(t.v.i32, feedWord(t.v.g, F_HEAD), 1); // reserved, never published
  t.set('later', 'v');
  await new Promise((r) => setTimeout(r, FEED_STALL_MS + 150));
  assert.equal(c.lagged(), 1);
  assert.deepEqual(c.events.map(([, key]) => key), ['later']);
  await c.tail.stop();
  t.close();
});

test('changes of one key by two threads reach a tail in the order they happened', async () => {
  const cache = SharedCache.create({ memoryBytes: '4mb', maxValueBytes: 1024 });
  const t = cache.table;
  const events: number[] = [];
  let lagged = 0;
  const tail = new ChangeFeedTail(t.v, t.threadWord, (r) => { if (dec.decode(r.key) === 'k') events.push(r.kind); }, () => lagged++);
  tail.start();
  const token = new SharedArrayBuffer(4);
  // 2 × 1000 changes fit in the 2048-slot ring: no lap even if this thread's tail only runs
  // at the end, so any lag or disorder here is a real fault.
  const rounds = 1000;
  const workers = [0, 1].map((role) => startFixture('feed-worker', { handle: cache.handle, token, role, rounds }));
  await Promise.all(workers.map((w) => firstMessage(w)));
  await tick();
  await tail.stop();
  assert.equal(lagged, 0);
  assert.equal(events.length, 2 * rounds);
  for (let i = 0; i < events.length; i++) assert.equal(events[i], i % 2 === 0 ? CHANGE_SET : CHANGE_DELETE, `event ${i}`);
  cache.close();
});

test('a bulk restore (restoreEntries) publishes each key it stores, once', async () => {
  const t = makeTable();
  const c = collect(t);
  c.tail.start();
  const keys = Array.from({ length: 40 }, (_, i) => `restored-${i}`); // more than one group
  const enc = new TextEncoder();
  const src = new Uint8Array(40 * 64);
  const starts = new Int32Array(40);
  const dv = new DataView(src.buffer);
  let at = 0;
  keys.forEach((k, i) => {
    const kb = enc.encode(k);
    dv.setUint32(at, kb.length, true);
    dv.setUint32(at + 4, 3, true);
    src.set(kb, at + 12);
    src.set(enc.encode('val'), at + 12 + kb.length);
    starts[i] = at;
    at = (at + 12 + kb.length + 3 + 7) & ~7;
  });
  assert.deepEqual(t.restoreEntries(src, starts, keys.length, true), { stored: 40, skipped: 0 });
  await tick();
  // Linked in bucket order (table/restore-batch.ts), not the records' order: one set each.
  assert.deepEqual(c.events.map(([kind, key]) => `${kind}:${key}`).sort(), keys.map((k) => `${CHANGE_SET}:${k}`).sort());
  await c.tail.stop();
  t.close();
});
