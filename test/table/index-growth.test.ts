import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { Maintenance } from '../../src/memory/maintenance.ts';
import { growIndex } from '../../src/table/index-growth.ts';
import { H_BUCKET_COUNT, H_FIRST_SEGMENT, H_INDEX_GATE, SEG_INDEX, SEG_STATE_MASK, S_STATE, segmentRowWord } from '../../src/table/layout.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { checkIndex } from '../helpers/index-check.ts';
import { makeTable } from '../helpers/tables.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

test('the index grows over the first segments as small items fill it: every key stays readable, segments taken are the index\'s', () => {
  // An index started for 16 KiB items: 64 buckets, far too few for 30,000 small ones.
  const t = makeTable(16 << 20, 4096, 16384);
  t.growsIndex = true; // as the owner's table: a write that finds its bucket full grows it too
  const m = new Maintenance(t);
  const n0 = t.bucketCount;
  for (let i = 0; i < 30_000; i++) {
    t.set(`key:${i}`, `value ${i}`);
    if (i % 500 === 0) m.tick();
  }
  for (let i = 0; i < 20; i++) m.tick();
  const n = t.bucketCount;
  assert.ok(n > n0 * 20, `grew from ${n0} to ${n} buckets`);
  let missing = 0;
  for (let i = 0; i < 30_000; i++) if (t.getString(`key:${i}`) !== `value ${i}`) missing++;
  // Before the index caught up, full buckets evicted some of their own entries: few.
  assert.ok(missing < 3000, `${missing} of 30,000 keys evicted by full buckets while the index grew`);
  const idx = checkIndex(t.v);
  assert.deepEqual({ odd: idx.oddBuckets, locked: idx.lockedBuckets, foreign: idx.foreignWays }, { odd: 0, locked: 0, foreign: 0 });
  assert.equal(idx.liveWays, 30_000 - missing, 'every key is linked once');
  const first = Atomics.load(t.v.i32, H_FIRST_SEGMENT);
  assert.ok(first > 0, 'segments were taken');
  for (let s = 0; s < first; s++) assert.equal(Atomics.load(t.v.i32, segmentRowWord(t.v.g, s) + S_STATE) & SEG_STATE_MASK, SEG_INDEX);
  t.close();
});

test('growth waits while the gate is held (a snapshot walk, a restore\'s link), and stops at the most the geometry allows', () => {
  const t = makeTable(4 << 20, 1024, 16384);
  Atomics.store(t.v.i32, H_INDEX_GATE, 1);
  assert.deepEqual(growIndex(t, 1000, 1000), { splits: 0, segmentsTaken: 0, stalled: 'gate' });
  Atomics.store(t.v.i32, H_INDEX_GATE, 0);
  const r = growIndex(t, 10 ** 9, 10 ** 9);
  assert.equal(Atomics.load(t.v.i32, H_BUCKET_COUNT), t.v.g.maxBucketCount);
  assert.ok(r.splits > 0 && r.segmentsTaken > 0);
  assert.equal(Atomics.load(t.v.i32, H_INDEX_GATE), 0, 'the gate is open again');
  t.set('after', 'growth');
  assert.equal(t.getString('after'), 'growth');
  t.close();
});

test('4 threads write, rewrite and read back their keys while the owner grows the index 16-fold: no stale value, no read that misses a key present', async (t) => {
  // 256 MiB never evicts 4 × 25,000 small keys by segments; the index starts at about 800
  // buckets for 32 KiB items. Full buckets may evict a few of their own entries while it grows.
  const cache = SharedCache.create({ memoryBytes: '256mb', expectedItemBytes: 32768, maintenanceIntervalMs: 1 });
  const n0 = cache.stats().bucketCount;
  const workers = [1, 2, 3, 4].map((thread) => startFixture('growth-worker', { handle: cache.handle, thread, keys: 25_000 }));
  type Report = { reads: number; lost: number; falseMisses: number; stale: number; missingAtEnd: number; samples: string[] };
  const reports = await Promise.all(workers.map((w) => firstMessage<Report>(w, 120_000)));
  const s = cache.stats();
  for (const r of reports) assert.deepEqual({ falseMisses: r.falseMisses, stale: r.stale }, { falseMisses: 0, stale: 0 }, r.samples.join('; '));
  assert.ok(s.bucketCount >= n0 * 8, `the index grew during the run (${n0} → ${s.bucketCount} buckets)`);
  const missing = reports.reduce((a, r) => a + r.missingAtEnd, 0);
  assert.ok(missing <= s.evictions, `every key missing at the end (${missing}) was evicted, and counted (${s.evictions})`);
  assert.equal(s.evictedSegments, 0, 'no segment was evicted: the only evictions are full buckets\'');
  const idx = checkIndex(new SharedView(cache.handle.buffer));
  // The index holds what the counters say, and every key it lost was evicted by a full
  // bucket, and counted (some after its thread checked its keys, by the others' writes;
  // some evicted keys were written again since).
  assert.deepEqual({ odd: idx.oddBuckets, locked: idx.lockedBuckets, foreign: idx.foreignWays, live: idx.liveWays }, { odd: 0, locked: 0, foreign: 0, live: s.items });
  assert.ok(100_000 - s.items <= s.evictions, `${100_000 - s.items} keys gone, ${s.evictions} evictions`);
  t.diagnostic(`buckets ${n0} → ${s.bucketCount}; reads ${reports.reduce((a, r) => a + r.reads, 0)}, of which missed ${reports.reduce((a, r) => a + r.lost, 0)} (evicted by full buckets: ${s.evictions}); segments taken ${s.segments.index}`);
  cache.close();
});
