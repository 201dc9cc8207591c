import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evictSegment, SMALL_QUEUE_FRACTION, smallTargetSegments } from '../../src/memory/eviction.ts';
import { SMALL_MAX_FRACTION, SMALL_MIN_FRACTION, SmallQueueSizer } from '../../src/memory/queue-sizing.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, C_GHOST_MAIN_INSERTS, H_SMALL_TARGET } from '../../src/table/layout.ts';
import { countSegments } from '../../src/table/segments.ts';
import { makeTable } from '../helpers/tables.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

const value = 'v'.repeat(100);

test('the sizer publishes S3-FIFO\'s 10% at first', () => {
  const t = makeTable(2 << 20, 1024);
  const sizer = new SmallQueueSizer(t.v);
  assert.equal(sizer.fraction, SMALL_QUEUE_FRACTION);
  assert.equal(Atomics.load(t.v.i32, H_SMALL_TARGET), smallTargetSegments(t.v.g.segmentCount));
  t.close();
});

test('returns of keys the small queue dropped grow its target; returns of keys main dropped shrink it', () => {
  const t = makeTable(2 << 20, 1024);
  for (let i = 0; i < 2000; i++) t.set(`k${i}`, value); // some items, so the step has a scale
  const sizer = new SmallQueueSizer(t.v);
  const c = t.v.f64;
  // Equal insert mix (ratio 1): each hit moves the target by ADAPT_STEP_ENTRIES.
  c[t.counters + C_GHOST_INSERTS] += 200;
  c[t.counters + C_GHOST_MAIN_INSERTS] += 100;
  c[t.counters + C_GHOST_HITS] += 20;
  sizer.tick();
  const grown = sizer.fraction;
  assert.ok(grown > SMALL_QUEUE_FRACTION, `grew: ${grown}`);
  assert.equal(Atomics.load(t.v.i32, H_SMALL_TARGET), sizer.targetSegments);
  c[t.counters + C_GHOST_HITS] += 40;
  c[t.counters + C_GHOST_MAIN_HITS] += 40;
  sizer.tick();
  assert.ok(sizer.fraction < grown, `shrank: ${sizer.fraction}`);
  // No ghost hits: no move.
  const still = sizer.fraction;
  sizer.tick();
  assert.equal(sizer.fraction, still);
  t.close();
});

test('the target stays within its bounds', () => {
  const t = makeTable(2 << 20, 1024);
  const sizer = new SmallQueueSizer(t.v);
  const c = t.v.f64;
  c[t.counters + C_GHOST_HITS] += 1e6;
  sizer.tick();
  assert.equal(sizer.fraction, SMALL_MAX_FRACTION);
  c[t.counters + C_GHOST_HITS] += 1e7;
  c[t.counters + C_GHOST_MAIN_HITS] += 1e7;
  sizer.tick();
  assert.equal(sizer.fraction, SMALL_MIN_FRACTION);
  assert.ok(sizer.targetSegments >= 1);
  t.close();
});

test('eviction follows the published target: a large target evicts main first, a small one evicts small first', () => {
  const t = makeTable(2 << 20, 1024);
  const n = Math.ceil((1.3 * t.v.g.segmentCount * t.v.g.segmentBytes) / 136);
  for (let i = 0; i < n; i++) t.set(`a${i}`, value);
  for (let i = 0; i < n; i++) t.set(`a${i}`, value); // ghost hits fill main
  const before = countSegments(t.v);
  assert.ok(before.small > 1 && before.main > 1, JSON.stringify(before));
  Atomics.store(t.v.i32, H_SMALL_TARGET, t.v.g.segmentCount);
  assert.ok(evictSegment(t));
  const afterMain = countSegments(t.v);
  assert.equal(afterMain.small, before.small, 'small below its target: main was the victim');
  Atomics.store(t.v.i32, H_SMALL_TARGET, 1);
  assert.ok(evictSegment(t));
  assert.equal(countSegments(t.v).small, afterMain.small - 1, 'small above its target: small was the victim');
  t.close();
});

test('ghost hits counted by another thread move the owner\'s target', async () => {
  // An index with room (expectedItemBytes): entries a full bucket drops would leave sparse
  // segments, which are compacted instead of evicted, and the ghost hits would then depend
  // on which ones (2 runs in 5 saw the target held).
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024, expectedItemBytes: 64, maintenanceIntervalMs: 10_000 });
  const first = cache.stats().segments.smallTarget;
  const capacity = cache.stats().segments.total * cache.stats().segments.segmentBytes;
  const items = Math.ceil(capacity / 136);
  const w = startFixture('returning-writer', { handle: cache.handle, fill: 2 * items, count: Math.ceil(items / 20), gap: Math.ceil(items / 4) });
  const { ghostHits, ghostMainHits } = await firstMessage<{ ghostHits: number; ghostMainHits: number }>(w);
  assert.ok(ghostHits - ghostMainHits > ghostMainHits, `the worker's returns were mostly the small queue's: ${ghostHits} hits, ${ghostMainHits} of main's`);
  cache.runMaintenance();
  const s = cache.stats();
  assert.ok(s.segments.smallTarget > first, `target ${first} → ${s.segments.smallTarget}`);
  cache.close();
});
