/**
 * The ghost table of the S3-FIFO policy (Yang et al., "FIFO queues are all you need for
 * cache eviction", SOSP 2023): fingerprints of keys that were dropped from the small queue
 * without being read. A key written again while its fingerprint is still here skips the
 * small queue and goes straight to the main queue (docs/design.md §5). Keys dropped by the main
 * queue leave a fingerprint too, marked as such: a return of either kind says which queue
 * was too small, and the owner sizes the small queue from those counts (queue-sizing.ts,
 * after ARC's two ghost lists).
 *
 * Layout (layout.ts): lines of 64 bytes, each a 16-bit insert cursor and 31 16-bit
 * slots, one line per 4 buckets. A key's line is chosen by its tag hash lane; its
 * fingerprint is the low 15 bits of the other lane (0 stored as 1, since 0 marks an empty
 * slot), and bit 15 marks a fingerprint left by the main queue. A key that was never
 * dropped matches by chance with probability about 31 / 32767 (0.09%). Inserting takes the line's cursor with one `Atomics.add` and
 * overwrites that slot, so each line forgets its oldest fingerprint first (when the u16
 * cursor wraps, the order skips 2 slots once: 65536 mod 31 = 2), and the table as a whole
 * remembers about as many keys as the main queue holds (S3-FIFO sizes the ghost like
 * main). The paper's ghost is a FIFO queue; a set-associative table with per-line FIFO
 * replacement approximates it in fixed shared memory with no lock.
 *
 * Everything here is advisory: a lost race costs one placement decision, never data.
 *
 * @module
 */
import { GHOST_SLOTS_PER_LINE, ghostLineHalfword, GL_CURSOR, GL_FIRST_SLOT, H_GHOST_USED, rangeOf } from './layout.ts';
import type { SharedView } from './shared-view.ts';

const FINGERPRINT_MASK = 0x7fff;
const FROM_MAIN_BIT = 0x8000;

/** What {@link ghostTake} found: no fingerprint. */
export const GHOST_MISS = 0;
/** What {@link ghostTake} found: a fingerprint the small queue left. */
export const GHOST_FROM_SMALL = 1;
/** What {@link ghostTake} found: a fingerprint the main queue left. */
export const GHOST_FROM_MAIN = 2;

function fingerprint(lo: number): number {
  const fp = lo & FINGERPRINT_MASK;
  return fp === 0 ? 1 : fp;
}

/**
 * Remembers the key with hash lanes (lo, hi) as dropped, by the main queue if `fromMain`
 * (else by the small queue).
 */
export function ghostInsert(v: SharedView, lo: number, hi: number, fromMain = false): void {
  const u16 = v.u16;
  const line = ghostLineHalfword(v.g, rangeOf(hi, v.g.ghostLines));
  // Ordering: none needed between slots; the cursor's atomic add gives concurrent
  // inserters different slots, and each slot is one aligned halfword (a reader sees the
  // old or the new fingerprint, never a mix).
  const slot = Atomics.add(u16, line + GL_CURSOR, 1) % GHOST_SLOTS_PER_LINE;
  Atomics.store(u16, line + GL_FIRST_SLOT + slot, fromMain ? fingerprint(lo) | FROM_MAIN_BIT : fingerprint(lo));
  if (v.i32[H_GHOST_USED] === 0) Atomics.store(v.i32, H_GHOST_USED, 1);
}

/**
 * Whether the key with hash lanes (lo, hi) is in the ghost table, and left by which queue:
 * {@link GHOST_MISS}, {@link GHOST_FROM_SMALL} or {@link GHOST_FROM_MAIN}. A found
 * fingerprint is removed (a key returns from the ghost once).
 */
export function ghostTake(v: SharedView, lo: number, hi: number): number {
  if (v.i32[H_GHOST_USED] === 0) return GHOST_MISS;
  const u16 = v.u16;
  const line = ghostLineHalfword(v.g, rangeOf(hi, v.g.ghostLines));
  const fp = fingerprint(lo);
  for (let i = line + GL_FIRST_SLOT; i < line + GL_FIRST_SLOT + GHOST_SLOTS_PER_LINE; i++) {
    // Plain load first (no write unless it matches); the CAS then takes it exactly once.
    const slot = u16[i];
    if ((slot & FINGERPRINT_MASK) === fp && Atomics.compareExchange(u16, i, slot, 0) === slot) {
      return slot & FROM_MAIN_BIT ? GHOST_FROM_MAIN : GHOST_FROM_SMALL;
    }
  }
  return GHOST_MISS;
}

/** Fingerprints held now (for stats and tests; walks the whole table). */
export function ghostSize(v: SharedView): number {
  let n = 0;
  for (let l = 0; l < v.g.ghostLines; l++) {
    const line = ghostLineHalfword(v.g, l);
    for (let i = 0; i < GHOST_SLOTS_PER_LINE; i++) if (v.u16[line + GL_FIRST_SLOT + i] !== 0) n++;
  }
  return n;
}
