import assert from 'node:assert/strict';
import { test } from 'node:test';
import { R_BUCKET, R_HI, R_REF, RECORD_WORDS, RestoreBatch } from '../../src/table/restore-batch.ts';

test('RestoreBatch sorts its records by bucket, stably, over every pass, and grows up to its capacity', () => {
  for (const bucketCount of [1, 1000, 382_584, 1 << 25]) {
    const b = new RestoreBatch(200_000, bucketCount);
    const input: number[][] = [];
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 200_000; i++) {
      const rec = [rand() % bucketCount, rand() | 0, i + 1];
      input.push(rec);
      b.push(rec[0], rec[1], rec[2]);
    }
    assert.equal(b.full, true);
    b.sort();
    // Stable: by bucket, then by the order pushed (the ref here).
    const expected = [...input].sort((x, y) => x[0] - y[0] || x[2] - y[2]);
    const r = b.records;
    for (let i = 0; i < expected.length; i++) {
      const at = i * RECORD_WORDS;
      assert.deepEqual([r[at + R_BUCKET], r[at + R_HI], r[at + R_REF]], expected[i], `bucketCount ${bucketCount}, record ${i}`);
    }
  }
});
