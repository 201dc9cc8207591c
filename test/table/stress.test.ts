import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { checkIndex, checkSpans } from '../helpers/index-check.ts';
import { checkValue } from '../helpers/self-check.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

interface Report { reads: number; hits: number; writes: number; deletes: number; bad: number; samples: string[] }

test('4 threads for 2.5 s on a small key set while the owner evicts, copies forward and compacts: no torn or foreign value, no deadlock', async (t) => {
  // Every attempt checks every value; attempts repeat (3 at most) only until the races this
  // test exists for have run: readers against entries being copied forward (S3-FIFO
  // promotion, main reinsertion). How often that happens in 2.5 s depends on the adaptive
  // small-queue size (ghost hits can grow it to nearly every segment, and then nothing is
  // promoted), so one attempt in many sees none.
  let copiedForward = 0;
  for (let attempt = 1; attempt <= 3 && copiedForward === 0; attempt++) {
    // 1 MiB with 16 KiB segments: a write in four to a key of its own (coldEvery) forces
    // constant segment eviction; the key set's overwrites, compaction.
    const cache = SharedCache.create({ memoryBytes: '1mb', maxKeyBytes: 64, maxValueBytes: 1024, maintenanceIntervalMs: 5 });
    const workers = [1, 2, 3, 4].map((thread) => startFixture('stress-worker', { handle: cache.handle, durationMs: 2500, keyCount: 256, thread, coldEvery: 4 }));
    const reports = await Promise.all(workers.map((w) => firstMessage<Report>(w, 30_000)));
    const stats = cache.stats();
    for (const r of reports) {
      assert.equal(r.bad, 0, `bad values: ${r.samples.join('; ')}`);
      assert.ok(r.hits > 1000 && r.writes > 1000, `each thread really read and wrote (${JSON.stringify(r)})`);
    }
    assert.ok(stats.evictedSegments > 10, `eviction ran during the test (${stats.evictedSegments} segments)`);
    assert.ok(stats.compactedSegments > 0, `compaction ran (${stats.compactedSegments} segments)`);
    const idx = checkIndex(new SharedView(cache.handle.buffer));
    assert.deepEqual({ odd: idx.oddBuckets, locked: idx.lockedBuckets, foreign: idx.foreignWays }, { odd: 0, locked: 0, foreign: 0 });
    for (let i = 0; i < 256; i++) {
      const v = cache.get(`key:${i}`);
      if (v !== undefined) assert.equal(checkValue(`key:${i}`, v), '');
    }
    copiedForward = stats.promotions + stats.reinsertions;
    t.diagnostic(`attempt ${attempt}: ops: ${reports.map((r) => r.reads + r.writes + r.deletes).join(', ')}; segments evicted: ${stats.evictedSegments}, compacted: ${stats.compactedSegments}; promotions: ${stats.promotions}, reinsertions: ${stats.reinsertions}, small target ${stats.segments.smallTarget} of ${stats.segments.total}`);
    cache.close();
  }
  assert.ok(copiedForward > 0, 'entries were copied forward in one of 3 attempts');
});

test('values larger than a segment (spans of segments) in a 4 MiB cache with default options: 4 threads read, write and delete while the owner evicts; no torn or foreign value, no broken span', async (t) => {
  const cache = SharedCache.create({ memoryBytes: '4mb', maintenanceIntervalMs: 5 });
  const segmentBytes = cache.stats().segments.segmentBytes;
  // Every 4th write is 1.2 to 4 segments long: spans of 2 to 5 segments, beside small values.
  const workers = [1, 2, 3, 4].map((thread) => startFixture('stress-worker', { handle: cache.handle, durationMs: 2000, keyCount: 128, thread, largeEvery: 4, largeBytes: Math.round(segmentBytes * 1.2), coldEvery: 2 }));
  let spansSeen = 0;
  const watch = setInterval(() => (spansSeen = Math.max(spansSeen, cache.stats().segments.span)), 20);
  const reports = await Promise.all(workers.map((w) => firstMessage<Report>(w, 30_000)));
  clearInterval(watch);
  for (const r of reports) {
    assert.equal(r.bad, 0, `bad values: ${r.samples.join('; ')}`);
    assert.ok(r.hits > 100 && r.writes > 100, `each thread really read and wrote (${JSON.stringify(r)})`);
  }
  const stats = cache.stats();
  assert.ok(spansSeen > 0, 'span segments were in use during the test');
  assert.ok(stats.evictedSegments > 10, `eviction ran (${stats.evictedSegments} segments)`);
  const v = new SharedView(cache.handle.buffer);
  const idx = checkIndex(v);
  assert.deepEqual({ odd: idx.oddBuckets, locked: idx.lockedBuckets, foreign: idx.foreignWays }, { odd: 0, locked: 0, foreign: 0 });
  assert.equal(checkSpans(v).orphans, 0);
  let large = 0;
  for (let i = 0; i < 128; i++) {
    const value = cache.get(`key:${i}`);
    if (value === undefined) continue;
    assert.equal(checkValue(`key:${i}`, value), '');
    if (value.length > segmentBytes) large++;
  }
  assert.ok(stats.bufferBytes <= 4 * 2 ** 20, 'the buffer stays within memoryBytes');
  t.diagnostic(`segment ${segmentBytes} B; most span segments at once ${spansSeen}; large values held at the end ${large}; segments evicted ${stats.evictedSegments}`);
  cache.close();
});
