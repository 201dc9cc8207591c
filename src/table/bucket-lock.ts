/**
 * The bucket seqlock, which is also the bucket's write lock (docs/design.md §3).
 *
 * Each bucket has one `seq` word (layout.ts). Even: unlocked, and the value is the
 * bucket's version, which readers validate against. Odd: locked; bits 1-7 name the owner
 * (thread block index + 1) and bits 8-31 keep the version's. Taking the lock is one CAS
 * from the even version to the odd owner word, and releasing it one store of the next
 * version (two more than the one it was locked from). Naming the owner in the locked word
 * itself means that after a thread dies, the owner thread can tell for certain whether a
 * locked bucket is the dead thread's (see `repair.ts`), with no second word to keep in step.
 *
 * Writer:  record heldBucket → CAS seq s (even) → owner word (odd) → change ways →
 *          store seq s+2 (even) → clear heldBucket.
 * Reader:  s1 := load seq (retry while odd) → read → s2 := validate seq → retry if s1 ≠ s2.
 *
 * A reader that read s1 before a write sees s2 ≠ s1: odd while the write runs, s1 + 2
 * after it. The version wraps after 2^31 writes to one bucket, as a 32-bit seqlock does.
 *
 * @module
 */
import { B_SEQ, BUCKET_WORDS, bucketFor, H_BUCKET_COUNT, SEQ_LOCK_BITS, SEQ_LOCKED, seqLockedBy, T_HELD_BUCKET, T_PARK } from './layout.ts';

/**
 * On arm64, `Atomics.load` compiles to LDAR, which does not stop *earlier* plain loads
 * from being satisfied after it; a read-modify-write (`compareExchange(seq, s1, s1)`) is a
 * full barrier there. On x86-64 (TSO) loads are not reordered with other loads, so a plain
 * `Atomics.load` validates. Chosen once at start (docs/design.md §3).
 */
export const VALIDATE_WITH_RMW = process.arch !== 'x64' && process.arch !== 'ia32';

/**
 * Reads of a held lock before a waiting thread starts to sleep between attempts. A holder
 * keeps a bucket for well under a microsecond, so spinning a few microseconds almost always
 * wins; sleeping (a futex wait, tens of microseconds) is for a holder that was descheduled.
 */
const SPINS_BEFORE_SLEEP = 4096;

/**
 * Second half of a seqlock read: returns the sequence now, to compare with `s1`.
 * Must run after every plain load of the read (see VALIDATE_WITH_RMW).
 */
export function validateSeq(i32: Int32Array, bucketWord: number, s1: number): number {
  return VALIDATE_WITH_RMW ? Atomics.compareExchange(i32, bucketWord + B_SEQ, s1, s1) : Atomics.load(i32, bucketWord + B_SEQ);
}

/**
 * Takes bucket `bucket`'s write lock for thread `owner` (block index + 1) whose block starts
 * at word `threadWord`: its `seq` goes from the even version to the odd word naming
 * `owner`. Returns the even version it found; pass it to {@link unlockBucket}. Spins, then
 * sleeps in growing steps (up to 1 ms) while another thread holds the lock. Never throws.
 */
export function lockBucket(i32: Int32Array, bucketWord: number, bucket: number, owner: number, threadWord: number): number {
  // heldBucket is a plain store: only repair reads it, and only after this thread has
  // died and been joined (the worker's `exit` event), which makes every store this thread
  // made visible. It is a hint: repair trusts the owner named in the seq word, so a
  // heldBucket recorded for a lock this thread never got (it died spinning) is harmless.
  i32[threadWord + T_HELD_BUCKET] = bucket + 1;
  let spins = 0;
  for (;;) {
    // Test-and-test-and-set: wait with plain atomic loads (the line stays shared, the holder
    // is not slowed) and try the CAS only once the lock looks free.
    const s = Atomics.load(i32, bucketWord + B_SEQ);
    if ((s & SEQ_LOCKED) === 0) {
      // Ordering: the CAS is seq_cst, a full barrier in V8 on x64 and arm64: seq is odd
      // before any way is changed, so a reader that sees a changed way also sees seq moved.
      if (Atomics.compareExchange(i32, bucketWord + B_SEQ, s, seqLockedBy(s, owner)) === s) return s;
      continue;
    }
    if (++spins > SPINS_BEFORE_SLEEP) {
      // Sleep on a private word nobody notifies: a bounded pause that yields the core.
      Atomics.wait(i32, threadWord + T_PARK, 0, Math.min(1, (spins - SPINS_BEFORE_SLEEP) * 0.001));
    }
  }
}

/** Releases a lock taken with {@link lockBucket}; `s` is the version it returned. */
export function unlockBucket(i32: Int32Array, bucketWord: number, s: number, threadWord: number): void {
  // Ordering: seq moves to the next even version after every way write (a seq_cst store
  // publishes them to readers, whose s1 ≠ s2 check then fails, and to the next locker,
  // whose CAS reads this store). One word: release and unlock are the same store.
  Atomics.store(i32, bucketWord + B_SEQ, (s + 2) | 0);
  // Plain, as in lockBucket: read only by repair after this thread is joined. Cleared after
  // the release, so a thread that dies between the two leaves a hint repair checks and drops.
  i32[threadWord + T_HELD_BUCKET] = 0;
}

/**
 * Releases the lock a dead thread held (repair.ts): `seq` is the locked word it left. The
 * version it locked from is known only in bits 8-31, so the new one is the next multiple
 * of 256: even, and unlike that version, so a reader that read it before the lock was
 * taken fails its check.
 */
export function unlockDeadBucket(i32: Int32Array, bucketWord: number, seq: number): void {
  // Ordering: a seq_cst store after the caller's way repairs, as in unlockBucket.
  Atomics.store(i32, bucketWord + B_SEQ, ((seq & ~SEQ_LOCK_BITS) + SEQ_LOCK_BITS + 1) | 0);
}

/**
 * A body that runs under one bucket's lock: `self` the caller's state, `bw` the bucket's
 * word, `b` its index, `a` and `c` the caller's arguments. Returns a number (the caller's
 * result).
 */
export type LockedBody<S> = (self: S, bw: number, b: number, a: number, c: number) => number;

/** The thread that takes a lock: its view, its owner number and its block's word. */
export interface LockingThread {
  readonly v: { readonly i32: Int32Array };
  readonly owner: number;
  readonly threadWord: number;
}

/**
 * The lock/try/finally pattern, written once: takes bucket `b`'s lock for thread `ctx`,
 * runs `body(self, bw, b, a, c)`, releases the lock whether it returned or threw, and
 * returns what it returned. Bodies are module-level functions (no closure per call). `ctx`
 * is always a Table, so the loads here stay monomorphic where V8 does not inline this.
 */
export function withBucketLock<S>(ctx: LockingThread, bw: number, b: number, body: LockedBody<S>, self: S, a: number, c: number): number {
  const i32 = ctx.v.i32;
  const s = lockBucket(i32, bw, b, ctx.owner, ctx.threadWord);
  try {
    return body(self, bw, b, a, c);
  } finally {
    unlockBucket(i32, bw, s, ctx.threadWord);
  }
}

/**
 * Takes bucket `bucket`'s lock as {@link lockBucket} does, but gives up after `attempts`
 * looks at a held lock: returns the even seq it locked, or -1. For the owner's index growth,
 * which must not wait on a lock that a dead thread holds until repair (run by the owner
 * itself) releases it.
 */
export function tryLockBucket(i32: Int32Array, bucketWord: number, bucket: number, owner: number, threadWord: number, attempts: number): number {
  i32[threadWord + T_HELD_BUCKET] = bucket + 1; // as in lockBucket
  for (let i = 0; i < attempts; i++) {
    const s = Atomics.load(i32, bucketWord + B_SEQ);
    // Ordering: the same seq_cst CAS as lockBucket's.
    if ((s & SEQ_LOCKED) === 0 && Atomics.compareExchange(i32, bucketWord + B_SEQ, s, seqLockedBy(s, owner)) === s) return s;
  }
  i32[threadWord + T_HELD_BUCKET] = 0;
  return -1;
}

/**
 * Runs `body` under the lock of the bucket of a key whose bucket hash lane is `lo`, at the
 * bucket count of the moment (the index grows: layout.ts bucketFor). `indexWord` is bucket
 * 0's word. Every write to a key's bucket goes through it.
 */
export function withKeyBucketLock<S>(ctx: LockingThread, indexWord: number, lo: number, body: LockedBody<S>, self: S, a: number, c: number): number {
  const i32 = ctx.v.i32;
  for (;;) {
    const b = bucketFor(lo, Atomics.load(i32, H_BUCKET_COUNT));
    const bw = indexWord + b * BUCKET_WORDS;
    const s = lockBucket(i32, bw, b, ctx.owner, ctx.threadWord);
    // Ordering: the count again, after the lock is held. A split moves bucket b's keys out
    // and raises the count inside b's lock (index-growth.ts), so either this count shows
    // the split that moved the key (retry in its new bucket), or no split of b can move it
    // until this lock is released.
    if (bucketFor(lo, Atomics.load(i32, H_BUCKET_COUNT)) !== b) {
      unlockBucket(i32, bw, s, ctx.threadWord);
      continue;
    }
    try {
      return body(self, bw, b, a, c);
    } finally {
      unlockBucket(i32, bw, s, ctx.threadWord);
    }
  }
}
