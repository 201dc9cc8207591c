import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeGeometry, entryBytes, WAYS } from '../../src/table/layout.ts';
import { MIN_SEGMENTS, planGeometry } from '../../src/table/sizing.ts';

test('the geometry fits in memory; the largest entry may span segments, at most half of them', () => {
  for (const memoryBytes of [1 << 20, 3 << 20, 7_777_777, 64 << 20, 256 << 20, 2 ** 31]) {
    for (const maxValueBytes of [1024, 64 * 1024, 1 << 20]) {
      let g;
      try {
        g = planGeometry({ memoryBytes, maxKeyBytes: 1024, maxValueBytes, expectedItemBytes: 128 });
      } catch (e) {
        assert.equal((e as { code: string }).code, 'SABCACHE_ERR_BAD_OPTION');
        assert.ok(memoryBytes < 4 * maxValueBytes, `only refused when memory is really too small (${memoryBytes}, ${maxValueBytes})`);
        continue;
      }
      assert.ok(g.totalBytes <= memoryBytes, `${g.totalBytes} <= ${memoryBytes}`);
      assert.ok(g.segmentCount >= MIN_SEGMENTS);
      assert.ok(Math.ceil((entryBytes(1024, maxValueBytes) + 8) / g.segmentBytes) <= g.segmentCount / 2, 'the largest entry takes at most half the segments');
      assert.ok(Number.isInteger(g.bucketCount) && g.bucketCount >= 64);
      const fixed = computeGeometry(0, g.segmentBytes, 0).segmentsOffset;
      // Enough ways for the expected items at 70% load (unless memory was too small for it).
      const expected = (memoryBytes - fixed) / 128;
      // A power of two, rounded down from the plan (the index grows when items are smaller),
      // or halved further when memory is too small for the index beside MIN_SEGMENTS segments.
      assert.equal(2 ** Math.round(Math.log2(g.bucketCount)), g.bucketCount);
      assert.ok(g.bucketCount * 4 * WAYS * 0.7 > expected || memoryBytes <= 1 << 20, `${g.bucketCount} buckets for ${expected} items`);
      // The index, freq bytes, ghost and segment table (beyond the fixed header, thread blocks
      // and feed) stay a bounded share of memory: 88 B per bucket for 4.9 expected items of
      // 128 B is 14%.
      assert.ok(g.segmentsOffset - fixed < memoryBytes * 0.15, `metadata ${g.segmentsOffset - fixed} of ${memoryBytes}`);
    }
  }
});

test('segments are 1 MiB when memory allows 128 of them, smaller for small memory, whatever the largest value', () => {
  for (const maxValueBytes of [1024, 64 * 1024, 1 << 20]) {
    assert.equal(planGeometry({ memoryBytes: 256 << 20, maxKeyBytes: 1024, maxValueBytes, expectedItemBytes: 128 }).segmentBytes, 1 << 20);
    assert.equal(planGeometry({ memoryBytes: 24 << 20, maxKeyBytes: 1024, maxValueBytes, expectedItemBytes: 128 }).segmentBytes, 128 << 10);
    assert.equal(planGeometry({ memoryBytes: 4 << 20, maxKeyBytes: 1024, maxValueBytes, expectedItemBytes: 128 }).segmentBytes, 32 << 10);
  }
  assert.ok(planGeometry({ memoryBytes: 1 << 20, maxKeyBytes: 64, maxValueBytes: 1024, expectedItemBytes: 128 }).segmentBytes <= 8 * 1024);
});
