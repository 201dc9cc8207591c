/**
 * Incremental expiry sweep (docs/design.md §5): the owner walks a slice of buckets per tick and
 * unlinks ways whose entry has expired, so expired data stops counting as items without
 * waiting for its segment to be evicted.
 *
 * @module
 */
import { lockBucket, unlockBucket } from '../table/bucket-lock.ts';
import { B_REFS, REF_STRIDE, C_EXPIRED_ITEMS, CHANGE_EXPIRE, E_EXPIRE_AT, H_BUCKET_COUNT, H_CLOCK_SECONDS, WAYS, bucketWord, refByte, ENTRY_HEADER_BYTES } from '../table/layout.ts';
import { removeWayLocked } from '../table/removal.ts';
import type { ThreadContext } from '../table/segments.ts';

/** The expireAt of the entry `ref` names, read without the lock (a hint only). */
function expireAtOf(ctx: ThreadContext, ref: number): number {
  const e = refByte(ctx.v.g, ref);
  if (e + ENTRY_HEADER_BYTES > ctx.v.sab.byteLength) return 0;
  return ctx.v.i32[(e >>> 2) + E_EXPIRE_AT] >>> 0;
}

/** What a sweep slice found, filled by {@link sweepExpired} (the caller owns it and zeroes it). */
export interface SweepCounts {
  /** Linked ways looked at. */
  looked: number;
  /** Expired entries unlinked. */
  expired: number;
}

/** Buckets between two looks at the clock against the slice's deadline. */
const DEADLINE_CHECK_BUCKETS = 256;

/**
 * Sweeps `count` buckets from bucket `from` (wrapping) and unlinks expired entries, adding
 * what it saw to `found`. Stops early once `performance.now()` passes `deadlineMs` (checked
 * every 256 buckets). Returns the bucket to start from next time.
 */
export function sweepExpired(ctx: ThreadContext, from: number, count: number, found?: SweepCounts, deadlineMs = Infinity): number {
  const { v, owner, threadWord } = ctx;
  const i32 = v.i32;
  const n = Atomics.load(i32, H_BUCKET_COUNT); // the owner sweeps and grows the index: it stays put here
  const clock = i32[H_CLOCK_SECONDS] >>> 0;
  let looked = 0;
  let expired = 0;
  let b = from % n;
  for (let i = 0; i < count; i++, b = (b + 1) % n) {
    if ((i & (DEADLINE_CHECK_BUCKETS - 1)) === DEADLINE_CHECK_BUCKETS - 1 && performance.now() > deadlineMs) break;
    const bw = bucketWord(v.g, b);
    let any = false;
    for (let w = 0; w < WAYS; w++) {
      const ref = i32[bw + B_REFS + w * REF_STRIDE];
      if (ref === 0) continue;
      looked++;
      const exp = expireAtOf(ctx, ref);
      if (exp !== 0 && exp <= clock) any = true;
    }
    if (!any) continue;
    // The unlocked look was a hint; decide again under the lock.
    const s = lockBucket(i32, bw, b, owner, threadWord);
    try {
      for (let w = 0; w < WAYS; w++) {
        const ref = i32[bw + B_REFS + w * REF_STRIDE];
        if (ref === 0) continue;
        const exp = expireAtOf(ctx, ref);
        if (exp === 0 || exp > clock) continue;
        removeWayLocked(ctx, bw, w, ref, CHANGE_EXPIRE, C_EXPIRED_ITEMS);
        expired++;
      }
    } finally {
      unlockBucket(i32, bw, s, threadWord);
    }
  }
  if (found !== undefined) {
    found.looked += looked;
    found.expired += expired;
  }
  return b;
}
