/**
 * The advisory access counters of the eviction policy (docs/design.md §5): a 2-bit counter (0..3)
 * per way, the fourteen of a bucket packed in one u32 of the freq region (layout.ts). Readers
 * bump a counter when a read hits; the bucket's writer (holding its lock) resets it for a
 * new entry and sets it when an entry is copied forward; eviction reads it. 2 bits is what
 * S3-FIFO uses (Yang et al., SOSP 2023: "two bits per object").
 *
 * Every change is a compare-and-swap of the whole u32, never a plain store: the fourteen
 * counters share the word, and a plain store of a value read earlier would write back stale
 * bits of the other ways (undoing, say, the writer's reset of a way just given to a new
 * key). Readers try once and give up on a lost race (the count is advisory; a reader never
 * spins on a shared line); writers retry until their change is in (readers only raise
 * counters, each at most FREQ_MAX times, so the retries end).
 *
 * @module
 */
import { FREQ_BITS, FREQ_MAX } from './layout.ts';

const MASK = (1 << FREQ_BITS) - 1;

/** Way `w`'s counter in the u32 at index `at` of `freqs` (an Int32Array over the buffer). */
export function freqOf(freqs: Int32Array, at: number, w: number): number {
  return (freqs[at] >>> (FREQ_BITS * w)) & MASK;
}

/**
 * A reader's hit on way `w`: raises its counter by one unless it is at FREQ_MAX. Writes
 * nothing when the counter is saturated (hot keys' reads stay write-free), and gives up
 * if another thread changed the word in between. Returns whether it raised the counter.
 */
export function freqBump(freqs: Int32Array, at: number, w: number): boolean {
  const old = freqs[at];
  const shift = FREQ_BITS * w;
  if (((old >>> shift) & MASK) >= FREQ_MAX) return false;
  // Ordering: a CAS against the value just read, so that the other ways' bits go back
  // exactly as they are now (see the module comment); a failed CAS drops this one count.
  return Atomics.compareExchange(freqs, at, old, old + (1 << shift)) === old;
}

/** Sets way `w`'s counter to `value` (0..FREQ_MAX). The caller holds the bucket's lock. */
export function freqSetLocked(freqs: Int32Array, at: number, w: number, value: number): void {
  const shift = FREQ_BITS * w;
  for (;;) {
    const old = Atomics.load(freqs, at);
    const next = (old & ~(MASK << shift)) | ((value & MASK) << shift);
    // Ordering: retried until it lands on the word readers last left, so a concurrent bump
    // of another way is neither lost nor written back over this change.
    if (old === next || Atomics.compareExchange(freqs, at, old, next) === old) return;
  }
}

/** The bits of way `w`'s counter in its bucket's word (for {@link freqClearLocked}). */
export function freqWayMask(w: number): number {
  return MASK << (FREQ_BITS * w);
}

/**
 * Sets to 0 the counters of the ways whose bits `ways` holds (an OR of
 * {@link freqWayMask}s), with one compare-and-swap for all of them: a bulk restore links
 * several entries into one bucket under one lock. The caller holds the bucket's lock.
 */
export function freqClearLocked(freqs: Int32Array, at: number, ways: number): void {
  for (;;) {
    const old = Atomics.load(freqs, at);
    const next = old & ~ways;
    // Ordering: as in freqSetLocked (retried until it lands on the word readers last left).
    if (old === next || Atomics.compareExchange(freqs, at, old, next) === old) return;
  }
}
