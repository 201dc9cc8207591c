/**
 * Finding a client's cell in a table of tagged cells shared by threads (the rate cells and
 * the connection cells of the limits buffer, limit-words.ts): probe {@link PROBES} cells from
 * the client's home for its tag; failing that, claim the first free one with a
 * compare-and-swap on its tag.
 *
 * @module
 */
import { PROBES } from './limit-words.ts';

/**
 * The cell of `identity` (a non-zero 32-bit tag) in `tags` (a power-of-two table, `mask` =
 * its size − 1) from `home`: the one it owns among its probes, or a free one it claims
 * (`isFree(i, owner, arg)` says whether cell `i`, owned by `owner`, may be taken; 0 is no
 * owner). Returns -1 when every probed cell is owned by another client still using it.
 */
export function findOrClaimCell<A>(tags: Int32Array, home: number, mask: number, identity: number, isFree: (i: number, owner: number, arg: A) => boolean, arg: A): number {
  const tag = identity | 0;
  for (let p = 0; p < PROBES; p++) {
    const i = (home + p) & mask;
    if (Atomics.load(tags, i) === tag) return i;
  }
  for (let p = 0; p < PROBES; p++) {
    const i = (home + p) & mask;
    const owner = Atomics.load(tags, i);
    // Claimed by another thread for this client since the first pass: it is ours too
    // (without this check the client would claim a second cell: tests catch it).
    if (owner === tag) return i;
    if (owner === 0 || isFree(i, owner, arg)) {
      // Compare-and-swap on the tag: of two clients claiming one free cell at once, one wins
      // and the other probes on, so two clients never both think they own it alone.
      const seen = Atomics.compareExchange(tags, i, owner, tag);
      if (seen === owner || seen === tag) return i;
    }
  }
  return -1;
}
