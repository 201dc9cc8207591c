import { threadId } from 'node:worker_threads';
import { B_REFS, REF_STRIDE, B_TAGS, bucketFor, bucketWord, H_BUCKET_COUNT, E_KEYLEN_FLAGS, ENTRY_HEADER_BYTES, H_CLOCK_SECONDS, KEYLEN_MASK, WAYS } from '../../src/table/layout.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { planGeometry } from '../../src/table/sizing.ts';
import { Table } from '../../src/table/table.ts';
import { advanceClock } from '../../src/memory/maintenance.ts';
import { s3fifo } from '../../src/memory/eviction.ts';

/** A fresh table in this thread, for unit tests. */
export function makeTable(memoryBytes = 4 << 20, maxValueBytes = 4096, expectedItemBytes = 128): Table {
  const g = planGeometry({ memoryBytes, maxKeyBytes: 250, maxValueBytes, expectedItemBytes });
  const v = SharedView.format(g, 250, maxValueBytes);
  advanceClock(v.i32);
  return new Table(v, threadId, s3fifo);
}

/** Moves the shared clock by `seconds`. */
export function advanceSeconds(t: Table, seconds: number): void {
  Atomics.add(t.v.i32, H_CLOCK_SECONDS, seconds);
}

/** `n` distinct keys that all land in the same bucket. */
export function keysInOneBucket(t: Table, n: number, prefix = 'k'): string[] {
  const byBucket = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    t.codec.encode(key);
    const b = bucketNow(t.v, t.codec.hash[0]);
    const list = byBucket.get(b) ?? [];
    list.push(key);
    byBucket.set(b, list);
    if (list.length === n) return list;
  }
}

/**
 * The ref (segment and offset) of the entry `key` names now, or 0: found in its bucket by
 * tag and key bytes. (A table's `lastVersion` is the version counter, not the place.)
 */
export function refOf(t: Table, key: string): number {
  t.codec.encode(key);
  const bw = bucketWord(t.v.g, bucketNow(t.v, t.codec.hash[0]));
  const want = Buffer.from(key);
  for (let w = 0; w < WAYS; w++) {
    if (t.v.i32[bw + B_TAGS + w] !== t.codec.hash[1]) continue;
    const ref = t.v.i32[bw + B_REFS + w * REF_STRIDE];
    if (ref === 0) continue;
    const e = t.entryByte(ref);
    const keyLen = t.v.i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK;
    if (Buffer.from(t.v.u8.subarray(e + ENTRY_HEADER_BYTES, e + ENTRY_HEADER_BYTES + keyLen)).equals(want)) return ref;
  }
  return 0;
}

/** The bucket of a key whose bucket hash lane is `lo`, at the index's bucket count now (it grows). */
export function bucketNow(v: SharedView, lo: number): number {
  return bucketFor(lo, Atomics.load(v.i32, H_BUCKET_COUNT));
}
