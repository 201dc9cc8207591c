import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { EntryResult } from '../../src/table/entry-result.ts';
import { expireAt } from '../../src/commands/write.ts';
import { checkIndex } from '../helpers/index-check.ts';
import { checkValue, makeValue } from '../helpers/self-check.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

async function runAll(cache: SharedCache, op: 'incr' | 'cas' | 'ttl', threads: number, iterations: number, at?: number[]) {
  const start = new SharedArrayBuffer(8);
  const workers = Array.from({ length: threads }, () => startFixture('ops-worker', { handle: cache.handle, op, iterations, start, at }));
  // Every thread at the start line before any goes (a fixed wait let a slow start run them one after another).
  const gate = new Int32Array(start);
  while (Atomics.load(gate, 1) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  return Promise.all(workers.map((w) => firstMessage<{ replaced: string[]; attempts: number }>(w)));
}

test('4 threads incr one key: no increment is lost', async () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  await runAll(cache, 'incr', 4, 20_000);
  assert.equal(cache.get('counter'), '80000');
  cache.close();
});

test('4 threads compare-and-swap one key: exactly one winner per version', async () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  cache.set('cas', '0');
  const results = await runAll(cache, 'cas', 4, 2_000);
  const wins = results.flatMap((r) => r.replaced);
  assert.equal(new Set(wins).size, wins.length, 'no version was replaced twice');
  assert.equal(cache.get('cas'), String(wins.length), 'every win counted once, none lost');
  const attempts = results.reduce((s, r) => s + r.attempts, 0);
  assert.ok(attempts > wins.length, `threads really raced (${attempts} attempts for ${wins.length} wins)`);
  cache.close();
});

test('2 threads change a key\'s expiry while this one reads it: a read sees one write\'s second with that write\'s millisecond code, never a mix', async () => {
  // setTtl changes two words of a published entry (E_EXPIRE_AT and the code in the flags
  // word) under the bucket lock; a reader between the two stores must fail its seq check.
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  cache.set('ttl', 'v');
  const base = Math.floor(Date.now() / 1000) * 1000 + 100_000;
  const at = [base + 123, base + 50_877]; // different seconds and different codes
  const pairs = new Set(at.map((ms) => `${Math.ceil(ms / 1000)}/${Math.ceil(ms / 1000) * 1000 - ms + 1}`));
  expireAt(cache.commands, 'ttl', at[0] / 1000);
  const done = runAll(cache, 'ttl', 2, 200_000, at);
  const r = new EntryResult();
  let reads = 0;
  const seen = new Set<string>();
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    for (let i = 0; i < 1000; i++) {
      assert.ok(cache.table.has('ttl', r));
      const pair = `${r.expireAt}/${r.expireCode}`;
      if (!pairs.has(pair)) assert.fail(`a torn expiry: ${pair}`);
      seen.add(pair);
      reads++;
    }
    await new Promise((res) => setImmediate(res));
  }
  await done;
  assert.ok(reads > 1000 && seen.size === 2, `${reads} reads saw ${[...seen]}`);
  cache.close();
});

test('restoreEntries while 3 threads overwrite, delete and evict the same keys: no torn, foreign or lost-link value', async () => {
  // The bulk load copies into segments it holds, publishes their write offsets, then links
  // the batch in bucket order under the bucket locks; writers and evictors of other threads
  // race it on the same buckets. A batch's segments must not be sealed before its links
  // (an evictor could free one under a link): foreign ways and values would show it.
  // Few keys, so that the load and the writers often hit the same key at the same time.
  const KEYS = 500;
  const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
  try {
    // A write in four to a key of its own (coldEvery) fills the cache with live entries, so
    // that segments are evicted during the load (overwrites alone are compacted).
    const workers = [1, 2, 3].map((thread) => startFixture('stress-worker', { handle: cache.handle, durationMs: 2000, keyCount: KEYS, thread, coldEvery: 4 }));
    const done = Promise.all(workers.map((w) => firstMessage<{ writes: number; bad: number; samples: string[] }>(w)));
    const enc = new TextEncoder();
    const t = cache.table;
    const recs = new Uint8Array(1 << 20);
    const starts = new Int32Array(4096);
    let counter = 0;
    let stored = 0;
    let blocks = 0;
    const deadline = performance.now() + 1500;
    while (performance.now() < deadline) {
      // One block of padded records (a snapshot's) of self-checking values written by "thread 9".
      const dv = new DataView(recs.buffer);
      let at = 0;
      let n = 0;
      while (n < starts.length && at < recs.length - 1024) {
        const key = `key:${(counter * 7919) % KEYS}`;
        const kb = enc.encode(key);
        const vb = enc.encode(makeValue(key, 9, ++counter));
        dv.setUint32(at, kb.length | (1 << 16), true);
        dv.setUint32(at + 4, vb.length, true);
        dv.setUint32(at + 8, 0, true);
        recs.set(kb, at + 12);
        recs.set(vb, at + 12 + kb.length);
        starts[n++] = at;
        at = (at + 12 + kb.length + vb.length + 7) & ~7;
      }
      // Most blocks leave their batch unlinked (as a snapshot load does), so batches span
      // calls and hold their segments while the other threads evict around them.
      stored += t.restoreEntries(recs, starts, n, true, ++blocks % 4 !== 0).stored;
    }
    t.linkRestored();
    const results = await done;
    assert.ok(stored > 10_000, `restored ${stored}`);
    for (const r of results) assert.deepEqual(r.samples, []);
    assert.ok(results.every((r) => r.bad === 0 && r.writes > 0));
    const bad: string[] = [];
    let present = 0;
    for (let i = 0; i < KEYS; i++) {
      const v = cache.get(`key:${i}`);
      if (v === undefined) continue;
      present++;
      const why = checkValue(`key:${i}`, v);
      if (why) bad.push(`key:${i}: ${why}`);
    }
    assert.deepEqual(bad, []);
    // Segments, not items: what the race needs is segments freed under the load. Items
    // dropped live were too few to count on: a batch holds many records of each of the 500
    // keys, and all but the last of them are dead once linked (0 in 3 of 5 runs).
    assert.ok(cache.stats().evictedSegments > 0, 'the cache evicted segments during the load');
    const index = checkIndex(cache.table.v);
    assert.deepEqual([index.oddBuckets, index.lockedBuckets, index.foreignWays], [0, 0, 0]);
    // One way per key: what a link made outside the lock could break (a writer of the same
    // key racing it into a second way). The window is narrow on 2 cores: a net, not a proof;
    // removing the lock did not make this test fail in two runs.
    let cold = 0;
    let cursor = '0';
    do {
      const page = cache.scan({ cursor, prefix: 'cold:', count: 10_000 });
      cold += page.keys.length;
      cursor = page.cursor;
    } while (cursor !== '0');
    assert.equal(index.liveWays, present + cold, 'every linked way is a distinct key');
  } finally {
    cache.close();
  }
});

test('4 threads taking version blocks at once never get the same one (the atomic add in takeVersionBlock)', async () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  const start = new SharedArrayBuffer(4);
  const count = 200_000;
  const workers = Array.from({ length: 4 }, () => startFixture('version-writer', { handle: cache.handle, count, start }));
  await Promise.all(workers.map((w) => firstMessage(w))); // every thread attached
  const done = workers.map((w) => firstMessage<{ firsts: number[] }>(w));
  Atomics.store(new Int32Array(start), 0, 1);
  Atomics.notify(new Int32Array(start), 0);
  const firsts = (await Promise.all(done)).flatMap((r) => r.firsts);
  assert.equal(new Set(firsts).size, firsts.length, 'every block was handed out once');
  cache.close();
});
