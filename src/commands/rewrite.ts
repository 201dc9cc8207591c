/**
 * Read-modify-write of one key (docs/design.md §7 "Collections"): the commands that change
 * a value from what it holds (APPEND, GETDEL, SET … GET, the list and hash commands) read
 * the entry with its version, build the new value, and store it only if the key still
 * holds that version, a check made inside the key's bucket lock (compare-and-swap; an absent
 * key must still be absent). When another writer came first the read is made again, so
 * every rewrite applies to the value it read and no change is lost: a thread retries only
 * because another one's write went in.
 *
 * The value is built outside the lock: making room for it may evict, which takes other
 * bucket locks, and a thread never waits for a lock while holding one (table.ts).
 *
 * @module
 */
import { COND_IF_ABSENT, COND_IF_VERSION, COND_KEEP_TTL } from '../table/table.ts';
import type { CommandContext } from './context.ts';
import { EntryResult } from './entry.ts';

/** What a rewrite stores: bytes of a value type, expiring at `expireAtMs` (unix ms, 0 = never) or, when absent, when the old entry did. */
export interface Replacement {
  value: Uint8Array;
  /** layout.ts TYPE_* (entry.ts VALUE_*). */
  type: number;
  expireAtMs?: number;
}

/** A rewrite's decision: store a {@link Replacement}, delete the key, or change nothing. */
export type RewriteStep = Replacement | typeof DELETE | typeof UNCHANGED;

/** {@link RewriteStep}: delete the key. */
export const DELETE = 'delete';
/** {@link RewriteStep}: leave the key as it is. */
export const UNCHANGED = null;

const read = new EntryResult();

/**
 * Rewrites `key`: calls `build(old, entry)` with its current value (undefined when absent
 * or expired; a copy valid until the next read of this thread) and entry (type, version,
 * expiry), and applies what it returns only if the key has not changed meanwhile; otherwise
 * calls `build` again with the new value. `build` may throw (WrongTypeError, a limit) to
 * refuse: nothing is changed then. Returns whether the key changed; a stored value's
 * version is in `result`.
 * @throws what `build` throws; the key errors of read.ts; ValueTooLargeError
 *   (`SABCACHE_ERR_VALUE_TOO_LARGE`) for a replacement past `maxValueBytes`; OutOfMemoryError.
 */
export function rewrite(cx: CommandContext, key: string | Uint8Array, build: (old: Uint8Array | undefined, entry: EntryResult) => RewriteStep, result: EntryResult = cx.found): boolean {
  const t = cx.table;
  for (;;) {
    const old = t.getBytes(key, read);
    // Kept apart from `read`, which a write made inside `build` may fill.
    const version = read.version;
    const step = build(old, read);
    if (step === UNCHANGED) return false;
    t.codec.encode(key);
    if (step === DELETE) {
      if (old === undefined) return false;
      if (t.deleteEncoded(true, t.versionEpoch, version)) return true;
      continue;
    }
    const cond = (old === undefined ? COND_IF_ABSENT : COND_IF_VERSION) | (step.expireAtMs === undefined ? COND_KEEP_TTL : 0);
    if (t.writeEncoded(step.value, step.type, step.expireAtMs ?? 0, cond, t.versionEpoch, version, result)) return true;
  }
}
