/**
 * An entry's version: the cache's epoch (random per cache, layout.ts H_VERSION_EPOCH) and the
 * counter a write gave the key's way (layout.ts versions region). It changes when, and only
 * when, a write changes the key (set, a conditional set that stored, incr/decr, mset; not a
 * TTL change); copy-forward, compaction and a server worker's restart keep it, because they
 * move the entry, not the way. It does not survive a process restart: a snapshot or WAL
 * load writes every key anew, and the new cache's epoch differs, so a version from before
 * the restart matches nothing (a CAS with it fails, never succeeds falsely). Counters wrap
 * after 2^32 writes. Its text form is the command layer's (commands/version-text.ts).
 *
 * @module
 */
import { H_VERSION_NEXT, VERSION_BLOCK } from './layout.ts';

/**
 * Takes the next block of {@link VERSION_BLOCK} version counters from the cache's header
 * word H_VERSION_NEXT and returns the first (the block wraps with the i32).
 */
export function takeVersionBlock(i32: Int32Array): number {
  // Ordering: one atomic add, so that two threads never take the same block and no two
  // writes share a version (test/table/ops-concurrency.test.ts races it from 4 threads).
  return Atomics.add(i32, H_VERSION_NEXT, VERSION_BLOCK);
}
