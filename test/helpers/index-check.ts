import { H_BUCKET_COUNT, B_SEQ, B_REFS, REF_STRIDE, B_TAGS, E_KEYLEN_FLAGS, E_VALUE_LEN, entryBytes, KEYLEN_MASK, S_SPAN_HEAD, S_STATE, SEG_FREE, SEG_SPAN, SEG_STATE_MASK, WAYS, bucketWord, refByte, refSegment, segmentRowWord, seqOwner } from '../../src/table/layout.ts';
import { bucketNow } from './tables.ts';
import type { SharedView } from '../../src/table/shared-view.ts';

/**
 * Walks the whole index: buckets left odd or naming a lock owner, ways that point at a
 * foreign entry, and the linked entries (how many, and their sizes in bytes: what the
 * segments' live bytes must add up to).
 */
export function checkIndex(v: SharedView): { oddBuckets: number; lockedBuckets: number; foreignWays: number; liveWays: number; linkedBytes: number } {
  const { i32, g } = v;
  let oddBuckets = 0;
  let lockedBuckets = 0;
  let foreignWays = 0;
  let liveWays = 0;
  let linkedBytes = 0;
  for (let b = 0, n = Atomics.load(i32, H_BUCKET_COUNT); b < n; b++) {
    const bw = bucketWord(g, b);
    if (i32[bw + B_SEQ] & 1) oddBuckets++;
    if (seqOwner(i32[bw + B_SEQ]) !== 0) lockedBuckets++;
    for (let w = 0; w < WAYS; w++) {
      const tag = i32[bw + B_TAGS + w];
      const ref = i32[bw + B_REFS + w * REF_STRIDE];
      if (ref === 0) continue;
      liveWays++;
      const seg = refSegment(g, ref);
      const ew = refByte(g, ref) >>> 2;
      const ok = seg < g.segmentCount
        && (i32[segmentRowWord(g, seg) + S_STATE] & SEG_STATE_MASK) !== SEG_FREE
        && (i32[ew + E_KEYLEN_FLAGS] & 0xffff) > 0
        && i32[ew + E_VALUE_LEN] >= 0
        && bucketNow(v, v.hashEntryKey(refByte(g, ref))[0]) === b
        && v.entryHash[1] === tag;
      if (!ok) foreignWays++;
      else linkedBytes += entryBytes(i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK, i32[ew + E_VALUE_LEN]);
    }
  }
  return { oddBuckets, lockedBuckets, foreignWays, liveWays, linkedBytes };
}

/**
 * Span segments (SEG_SPAN) whose run is broken: each must follow its head or another span
 * segment of the same head, and its head must be in use (not FREE). Returns how many span
 * segments there are and how many are orphans.
 */
export function checkSpans(v: SharedView): { span: number; orphans: number } {
  const { i32, g } = v;
  let span = 0;
  let orphans = 0;
  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    if ((i32[row + S_STATE] & SEG_STATE_MASK) !== SEG_SPAN) continue;
    span++;
    const head = i32[row + S_SPAN_HEAD];
    const prev = segmentRowWord(g, s - 1);
    const follows = s - 1 === head || ((i32[prev + S_STATE] & SEG_STATE_MASK) === SEG_SPAN && i32[prev + S_SPAN_HEAD] === head);
    if (!follows || head < 0 || (i32[segmentRowWord(g, head) + S_STATE] & SEG_STATE_MASK) === SEG_FREE) orphans++;
  }
  return { span, orphans };
}
