/**
 * The bucket seqlock and bucket lock (DESIGN §3–4).
 *
 * Each bucket has two words: `seq` (even = stable, odd = being written) that readers
 * validate against, and `lock`, the owner of the write lock (thread block index + 1, or 0).
 * Keeping the owner in its own word, taken *before* `seq` goes odd, means the owner
 * thread can always be identified: after a thread dies, the owner thread repairs exactly
 * the bucket whose `lock` word names it (see `repair.ts`), with no guessing.
 *
 * Writer:  record heldBucket → CAS lock 0→owner → seq := s+1 (odd) → change ways →
 *          seq := s+2 (even) → lock := 0 → clear heldBucket.
 * Reader:  s1 := load seq (retry while odd) → read → s2 := validate seq → retry if s1 ≠ s2.
 *
 * @module
 */
import { B_LOCK, B_SEQ, T_HELD_BUCKET, T_PARK } from './layout.ts';

/**
 * On arm64, `Atomics.load` compiles to LDAR, which does not stop *earlier* plain loads
 * from being satisfied after it; a read-modify-write (`compareExchange(seq, s1, s1)`) is a
 * full barrier there. On x86-64 (TSO) loads are not reordered with other loads, so a plain
 * `Atomics.load` validates. Chosen once at start (DESIGN §3).
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
 * at word `threadWord`, and makes `seq` odd. Returns the even `seq` it found; pass it to
 * {@link unlockBucket}. Spins, then sleeps in growing steps (up to 1 ms) while another thread
 * holds the lock. Never throws.
 */
export function lockBucket(i32: Int32Array, bucketWord: number, bucket: number, owner: number, threadWord: number): number {
  // Ordering: heldBucket is published before the CAS so that, if this thread dies right
  // after taking the lock, the owner thread knows which bucket to look at. A heldBucket
  // without the lock is harmless: repair checks that `lock` names this thread.
  Atomics.store(i32, threadWord + T_HELD_BUCKET, bucket + 1);
  let spins = 0;
  while (Atomics.compareExchange(i32, bucketWord + B_LOCK, 0, owner) !== 0) {
    // Test-and-test-and-set: wait with plain atomic loads (the line stays shared, the holder
    // is not slowed) and try the CAS again only once the lock looks free.
    while (Atomics.load(i32, bucketWord + B_LOCK) !== 0) {
      if (++spins > SPINS_BEFORE_SLEEP) {
        // Sleep on a private word nobody notifies: a bounded pause that yields the core.
        Atomics.wait(i32, threadWord + T_PARK, 0, Math.min(1, (spins - SPINS_BEFORE_SLEEP) * 0.001));
      }
    }
  }
  const s = i32[bucketWord + B_SEQ];
  // Ordering: seq goes odd (a seq_cst store, a full barrier in V8 on x64 and arm64) before
  // any way is changed, so a reader that sees a changed way also sees seq moved.
  Atomics.store(i32, bucketWord + B_SEQ, (s + 1) | 0);
  return s;
}

/** Releases a lock taken with {@link lockBucket}; `s` is the value it returned. */
export function unlockBucket(i32: Int32Array, bucketWord: number, s: number, threadWord: number): void {
  // Ordering: seq moves to the next even value after every way write (publishes them to
  // readers, whose s1 ≠ s2 check then fails), and only then is the lock word released, so
  // the next writer starts from an even seq.
  Atomics.store(i32, bucketWord + B_SEQ, (s + 2) | 0);
  Atomics.store(i32, bucketWord + B_LOCK, 0);
  Atomics.store(i32, threadWord + T_HELD_BUCKET, 0);
}
