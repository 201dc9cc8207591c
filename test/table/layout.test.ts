import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BUCKET_BYTES, BUCKET_WORDS, ENTRY_UNLINKED, FLAGS_SHIFT, KEYLEN_MASK, TYPE_MASK, B_REFS, B_SPARE, B_TAGS, B_FREQ, B_SEQ, bucketFor, firstSegmentFor, seqLockedBy, seqOwner, computeGeometry, COUNTER_COUNT, ENTRY_HEADER_BYTES, E_EXPIRE_AT, entryBytes, INDEX_BYTES_PER_BUCKET, rangeOf,
  FREQ_BYTES_PER_BUCKET, B_VERSIONS, REF_STRIDE, HEADER_BYTES, H_SEGMENTS_PAGE, makeRef, maxSegmentsForOffsetBits, REGION_ALIGN_BYTES,
  refByte, refOffset, refSegment, SEGMENT_ALIGN_BYTES, SEGMENT_ROW_BYTES, SEGMENT_ROW_WORDS, S_CREATED_AT,
  GHOST_LINE_BYTES, GHOST_LINE_HALFWORDS, GHOST_SLOTS_PER_LINE, SEGMENT_BYTES_PER_GHOST_LINE, FREQ_BITS, FREQ_MAX, GL_CURSOR, GL_FIRST_SLOT, S_QUEUE, T_ACTIVE_MAIN_SEGMENT, FEED_HEADER_BYTES, FEED_KEY_BYTES, FEED_SLOT_BYTES, FEED_SLOTS, FS_KEY_BYTE, T_COUNTERS_BYTE, T_PARK, T_WATCHING, THREAD_BLOCK_BYTES, THREAD_BLOCK_COUNT, THREAD_BLOCKS_OFFSET, WAYS,
} from '../../src/table/layout.ts';
import * as layout from '../../src/table/layout.ts';
import { H_WAL_SEQ_I64 } from '../../src/table/layout.ts';

const geometries = [computeGeometry(64, 4096, 4), computeGeometry(1 << 14, 1 << 20, 200), computeGeometry(1 << 20, 1 << 21, 1000), computeGeometry(204_083, 1 << 20, 130), computeGeometry(65, 4096, 5)];

test('a bucket is three cache lines: seq (the lock too), frequency counters and the 14 tags in line 0, then each way\'s ref with its version counter, never split across lines', () => {
  assert.equal(BUCKET_BYTES, 192, 'three cache lines: tags, refs, versions');
  assert.equal(BUCKET_WORDS * 4, BUCKET_BYTES);
  assert.deepEqual([B_SEQ, B_FREQ, B_TAGS], [0, 1, 2]);
  assert.ok((B_TAGS + WAYS) * 4 <= 64, 'every tag is in line 0: a miss reads one line');
  assert.equal(B_REFS * 4, 64, 'the refs start line 1');
  assert.equal(B_VERSIONS, B_REFS + 1);
  for (let w = 0; w < WAYS; w++) {
    const ref = B_REFS + w * REF_STRIDE;
    const version = B_VERSIONS + w * REF_STRIDE;
    assert.equal(ref >> 4, version >> 4, `way ${w}: its ref and version share a line (one line per hit)`);
  }
  assert.equal(B_SPARE, B_REFS + WAYS * REF_STRIDE);
  assert.ok(B_SPARE <= BUCKET_WORDS);
  assert.ok(FREQ_BYTES_PER_BUCKET * 8 >= WAYS * FREQ_BITS, 'every way has its counter bits in the bucket\'s freq word');
  assert.equal(FREQ_BYTES_PER_BUCKET, 4, 'one u32 per bucket (frequency.ts CASes it as one Int32Array element)');
  assert.ok(WAYS * FREQ_BITS <= 31, 'the counters stay clear of the i32 sign bit');
  assert.ok(FREQ_MAX < 2 ** FREQ_BITS);
});

test('a locked seq word is odd, names every possible owner and keeps the version above its low byte', () => {
  assert.ok(THREAD_BLOCK_COUNT << 1 <= 0xfe, 'owners 1..THREAD_BLOCK_COUNT fit bits 1-7');
  for (const s of [0, 2, 254, 256, 0x7ffffffe, -2, -256]) {
    assert.equal(seqOwner(s), 0, `version ${s} is unlocked`);
    for (let owner = 1; owner <= THREAD_BLOCK_COUNT; owner++) {
      const w = seqLockedBy(s, owner);
      assert.equal(w & 1, 1);
      assert.equal(seqOwner(w), owner);
      assert.equal(w & ~0xff, s & ~0xff);
      assert.notEqual(w, s);
    }
  }
});

test('fixed records fit their slots', () => {
  assert.equal(SEGMENT_ROW_WORDS * 4, SEGMENT_ROW_BYTES);
  assert.ok(S_CREATED_AT < SEGMENT_ROW_WORDS && S_QUEUE < SEGMENT_ROW_WORDS);
  assert.equal(GHOST_LINE_HALFWORDS * 2, GHOST_LINE_BYTES);
  assert.equal(GL_CURSOR, 0);
  assert.equal(GL_FIRST_SLOT + GHOST_SLOTS_PER_LINE, GHOST_LINE_HALFWORDS, 'a ghost line: the cursor, then fingerprints, filling the line');
  assert.ok(T_ACTIVE_MAIN_SEGMENT * 4 < T_COUNTERS_BYTE);
  assert.equal(ENTRY_HEADER_BYTES, (E_EXPIRE_AT + 1) * 4);
  assert.ok(T_PARK * 4 < T_COUNTERS_BYTE && T_WATCHING * 4 < T_COUNTERS_BYTE);
  assert.equal(FEED_SLOTS & (FEED_SLOTS - 1), 0, 'feed slots: a power of two');
  assert.equal(FS_KEY_BYTE + FEED_KEY_BYTES, FEED_SLOT_BYTES);
  assert.equal(FEED_SLOT_BYTES % 64, 0);
  assert.ok(T_COUNTERS_BYTE + COUNTER_COUNT * 8 <= THREAD_BLOCK_BYTES);
  assert.equal(T_COUNTERS_BYTE % 8, 0);
  assert.ok(H_SEGMENTS_PAGE * 4 < HEADER_BYTES);
  // The i64 WAL sequence takes two i32 words that no i32 header word shares; none repeats.
  const headerWords = Object.entries(layout).filter(([name, v]) => /^H_/.test(name) && name !== 'H_WAL_SEQ_I64' && typeof v === 'number').map(([, v]) => v as number);
  assert.ok(headerWords.every((w) => w !== H_WAL_SEQ_I64 * 2 && w !== H_WAL_SEQ_I64 * 2 + 1), `header words ${headerWords.join(',')} clear of the WAL sequence`);
  assert.equal(new Set(headerWords).size, headerWords.length, 'each header word has one meaning');
  assert.ok((H_WAL_SEQ_I64 + 1) * 8 <= HEADER_BYTES);
  assert.equal(entryBytes(16, 100) % 8, 0);
  assert.equal(entryBytes(1, 1), 16);
  assert.equal(entryBytes(16, 100), 128, '12-byte header: a 16 B key and 100 B value fill 128 B exactly');
  // The entry word: key length, value type, then the unlinked flag, none overlapping.
  assert.equal(KEYLEN_MASK & (TYPE_MASK << FLAGS_SHIFT), 0);
  assert.equal((KEYLEN_MASK | (TYPE_MASK << FLAGS_SHIFT)) & ENTRY_UNLINKED, 0);
  assert.ok(ENTRY_UNLINKED > 0, 'below the sign bit');
});

test('regions are aligned, ordered and do not overlap', () => {
  for (const g of geometries) {
    const regions = [
      ['header', 0, HEADER_BYTES],
      ['threads', THREAD_BLOCKS_OFFSET, THREAD_BLOCK_COUNT * THREAD_BLOCK_BYTES],
      ['ghost', g.ghostOffset, g.ghostLines * GHOST_LINE_BYTES],
      ['segment table', g.segmentTableOffset, g.segmentCount * SEGMENT_ROW_BYTES],
      ['change feed', g.feedOffset, FEED_HEADER_BYTES + FEED_SLOTS * FEED_SLOT_BYTES],
      ['index', g.indexOffset, g.bucketCount * BUCKET_BYTES],
      ['segments', g.segmentsOffset, g.segmentCount * g.segmentBytes],
    ] as const;
    for (const [name, off] of regions) assert.equal(off % REGION_ALIGN_BYTES, 0, `${name} aligned`);
    assert.equal(g.segmentsOffset % SEGMENT_ALIGN_BYTES, 0);
    for (let i = 1; i < regions.length; i++) {
      const [prev, pOff, pLen] = regions[i - 1];
      const [name, off] = regions[i];
      assert.ok(pOff + pLen <= off, `${prev} ends before ${name} starts`);
    }
    const [, lastOff, lastLen] = regions[regions.length - 1];
    assert.equal(lastOff + lastLen, g.totalBytes);
    assert.equal(g.indexOffset + g.bucketCount * BUCKET_BYTES, g.segmentsOffset, 'the index ends where segment 0 starts: it grows over the segments with no gap');
    assert.equal(firstSegmentFor(g, g.bucketCount), 0);
    assert.equal(firstSegmentFor(g, g.bucketCount + 1), 1, 'one more bucket takes segment 0');
    assert.ok(g.indexOffset + g.maxBucketCount * BUCKET_BYTES <= g.segmentsOffset + g.segmentCount * g.segmentBytes / 4 + BUCKET_BYTES, 'growth takes at most a quarter of the segments');
  }
});

test('bucketFor (linear hashing): every lane maps below the count; one more bucket moves keys out of one bucket only, into the new one', () => {
  const lanes = Array.from({ length: 4000 }, (_, i) => Math.imul(i, 0x9e3779b1));
  for (let n = 1; n < 300; n++) {
    const high = 1 << (31 - Math.clz32(n));
    for (const lo of lanes) {
      const before = bucketFor(lo, n);
      const after = bucketFor(lo, n + 1);
      assert.ok(before >= 0 && before < n && after >= 0 && after < n + 1);
      if (before !== after) assert.deepEqual([before, after], [n - high, n], `${lo}: ${before} → ${after} at ${n}`);
    }
  }
});

test('the ghost table has one line per 8 KiB of segments, rounded up, whatever the index', () => {
  for (const g of geometries) {
    assert.equal(g.ghostLines, Math.max(1, Math.ceil((g.segmentCount * g.segmentBytes) / SEGMENT_BYTES_PER_GHOST_LINE)));
    assert.equal(INDEX_BYTES_PER_BUCKET, BUCKET_BYTES, 'the frequency counters are inside the bucket');
  }
});

test('rangeOf maps every 32-bit lane into [0, count) evenly, for any count', () => {
  for (const count of [1, 3, 64, 1000, 204_083, 3_000_001, 2 ** 27 + 5]) {
    for (const lo of [0, 1, -1, 0x7fffffff, -0x80000000, 0x12345678]) {
      const r = rangeOf(lo, count);
      assert.ok(Number.isInteger(r) && r >= 0 && r < count, `${lo} → ${r} of ${count}`);
    }
    assert.equal(rangeOf(-1, count), count - 1, 'the top lane value maps to the last bucket');
  }
  // Even: 1M consecutive multiples of a large odd constant over 1000 buckets.
  const counts = new Uint32Array(1000);
  for (let i = 0; i < 1_000_000; i++) counts[rangeOf(Math.imul(i, 0x9e3779b1), 1000)]++;
  assert.ok(Math.min(...counts) > 900 && Math.max(...counts) < 1100, `${Math.min(...counts)}..${Math.max(...counts)}`);
});

test('refs round-trip and never name offset 0 of segment 0 as an entry', () => {
  for (const g of geometries) {
    for (const [s, off] of [[0, 8], [1, 0], [g.segmentCount - 1, g.segmentBytes - 8]]) {
      const ref = makeRef(g, s, off);
      assert.ok(ref > 0 || (s === 0 && off === 0));
      assert.equal(refSegment(g, ref), s);
      assert.equal(refOffset(g, ref), off);
      assert.equal(refByte(g, ref), g.segmentsOffset + s * g.segmentBytes + off);
    }
    assert.ok(g.segmentCount <= maxSegmentsForOffsetBits(g.offsetBits));
  }
});
