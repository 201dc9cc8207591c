/**
 * The change feed that watch reads (docs/design.md §7, table/change-feed.ts): a thread
 * follows every set, delete, expiry and eviction of the cache as records in order, and
 * matches them against the keys it watches by their hash lanes.
 *
 * @module
 */
import { type ChangeRecord, ChangeFeedTail } from '../table/change-feed.ts';
import type { CommandContext } from './context.ts';

export type { ChangeRecord, ChangeFeedTail };

/**
 * Follows the change feed from now on in this thread: `onChange` for each record (valid
 * only during the call), `onLagged` when this thread fell so far behind that records were
 * overwritten before it read them, `onIdle` after each batch. Start and stop it with the
 * tail's `start`/`stop`.
 */
export function followChanges(cx: CommandContext, onChange: (r: ChangeRecord) => void, onLagged: () => void, onIdle: () => void): ChangeFeedTail {
  return new ChangeFeedTail(cx.table.v, cx.table.threadWord, onChange, onLagged, onIdle);
}

/** The hash lanes [lo, hi] of `key`, as change records carry them. */
export function keyHash(cx: CommandContext, key: string | Uint8Array): [number, number] {
  const codec = cx.table.codec;
  codec.encode(key);
  return [codec.hash[0], codec.hash[1]];
}
