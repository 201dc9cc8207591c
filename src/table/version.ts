/**
 * An entry's version: the cache's epoch (random per cache, layout.ts H_VERSION_EPOCH) and the
 * counter a write gave the key's way (layout.ts versions region). It changes when, and only
 * when, a write changes the key (set, a conditional set that stored, incr/decr, mset; not a
 * TTL change); copy-forward, compaction and a server worker's restart keep it, because they
 * move the entry, not the way. It does not survive a process restart: a snapshot or WAL
 * load writes every key anew, and the new cache's epoch differs, so a version from before
 * the restart matches nothing (a CAS with it fails, never succeeds falsely). Counters wrap
 * after 2^32 writes. Text form: `<epoch hex>.<counter hex>` (lowercase, no leading zeros;
 * hex so that servers can write it with shifts); the HTTP ETag is that text in quotes.
 * Clients treat it as opaque.
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

/** Formats a version as text. */
export function formatVersion(epoch: number, counter: number): string {
  return `${(epoch >>> 0).toString(16)}.${(counter >>> 0).toString(16)}`;
}

/** Parses a version's text into `out` ([epoch, counter] as i32); false if it is not one. */
export function parseVersion(text: string, out: Int32Array): boolean {
  const m = /^([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/.exec(text);
  if (!m) return false;
  const epoch = parseInt(m[1], 16);
  const counter = parseInt(m[2], 16);
  if (epoch > 0xffffffff || counter > 0xffffffff || counter === 0) return false;
  out[0] = epoch | 0;
  out[1] = counter | 0;
  return true;
}
