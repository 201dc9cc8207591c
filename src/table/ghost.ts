/**
 * The ghost table of the S3-FIFO policy (Yang et al., "FIFO queues are all you need for
 * cache eviction", SOSP 2023): fingerprints of keys that were dropped from the small queue
 * without being read. A key written again while its fingerprint is still here skips the
 * small queue and goes straight to the main queue (DESIGN §5).
 *
 * Layout (layout.ts): lines of 64 bytes, each an insert cursor and 15 fingerprint slots.
 * A key's line is chosen by its tag hash lane; its fingerprint is the other lane (0 stored
 * as 1, since 0 marks an empty slot). Inserting takes the line's cursor with one
 * `Atomics.add` and overwrites that slot, so each line forgets its oldest fingerprint first,
 * and the table as a whole remembers about as many keys as the main queue holds (S3-FIFO
 * sizes the ghost like main). The paper's ghost is a FIFO queue; a set-associative table
 * with per-line FIFO replacement approximates it in fixed shared memory with no lock.
 *
 * Everything here is advisory: a lost race costs one placement decision, never data.
 *
 * @module
 */
import { GHOST_SLOTS_PER_LINE, ghostLineWord, GL_CURSOR, GL_FIRST_SLOT, H_GHOST_USED, rangeOf } from './layout.ts';
import type { SharedView } from './shared-view.ts';

function fingerprint(lo: number): number {
  return lo === 0 ? 1 : lo;
}

/** Remembers the key with hash lanes (lo, hi) as dropped from the small queue. */
export function ghostInsert(v: SharedView, lo: number, hi: number): void {
  const i32 = v.i32;
  const line = ghostLineWord(v.g, rangeOf(hi, v.g.ghostLines));
  // Ordering: none needed between slots; the cursor's atomic add gives concurrent
  // inserters different slots, and each slot is one aligned word (a reader sees the old or
  // the new fingerprint, never a mix).
  const slot = (Atomics.add(i32, line + GL_CURSOR, 1) >>> 0) % GHOST_SLOTS_PER_LINE;
  Atomics.store(i32, line + GL_FIRST_SLOT + slot, fingerprint(lo));
  if (i32[H_GHOST_USED] === 0) Atomics.store(i32, H_GHOST_USED, 1);
}

/**
 * Whether the key with hash lanes (lo, hi) is in the ghost table; if so its fingerprint
 * is removed (a key returns from the ghost once).
 */
export function ghostTake(v: SharedView, lo: number, hi: number): boolean {
  const i32 = v.i32;
  if (i32[H_GHOST_USED] === 0) return false;
  const line = ghostLineWord(v.g, rangeOf(hi, v.g.ghostLines));
  const fp = fingerprint(lo);
  for (let i = line + GL_FIRST_SLOT; i < line + GL_FIRST_SLOT + GHOST_SLOTS_PER_LINE; i++) {
    // Plain load first (no write unless it matches); the CAS then takes it exactly once.
    if (i32[i] === fp && Atomics.compareExchange(i32, i, fp, 0) === fp) return true;
  }
  return false;
}

/** Fingerprints held now (for stats and tests; walks the whole table). */
export function ghostSize(v: SharedView): number {
  let n = 0;
  for (let l = 0; l < v.g.ghostLines; l++) {
    const line = ghostLineWord(v.g, l);
    for (let i = 0; i < GHOST_SLOTS_PER_LINE; i++) if (v.i32[line + GL_FIRST_SLOT + i] !== 0) n++;
  }
  return n;
}
