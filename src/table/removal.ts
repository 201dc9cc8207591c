/**
 * The removal sequence, written once (docs/design.md §3 "Removing an entry"): publish the
 * change to the feed if anyone watches, unlink the way, count it. Every path that takes an
 * entry out of the index (delete, flush, a full bucket's eviction, the expiry sweep, a
 * segment's eviction) calls {@link removeWayLocked}.
 *
 * @module
 */
import { feedWatched, publishEntryChange } from './change-feed.ts';
import { C_UNLINKED, refByte } from './layout.ts';
import { type ThreadContext, unlinkWayLocked } from './segments.ts';

/** No counter besides C_UNLINKED (see {@link removeWayLocked}). */
export const NO_COUNTER = -1;

/**
 * Removes the entry `ref` from way `w` of the bucket at word `bw`, whose lock the caller
 * holds: publishes `change` (CHANGE_DELETE / CHANGE_EXPIRE / CHANGE_EVICT) when the change
 * feed has a watcher, unlinks the way ({@link unlinkWayLocked}), and adds one to this
 * thread's C_UNLINKED and to `counter` (a C_… counter index, or {@link NO_COUNTER}).
 */
export function removeWayLocked(ctx: ThreadContext, bw: number, w: number, ref: number, change: number, counter: number): void {
  const v = ctx.v;
  // Ordering: published inside the bucket lock, before the way is cleared, so the feed
  // gives one key's changes in the order they happened and the entry's bytes are still
  // whole (its segment cannot be freed while a way points at it).
  if (feedWatched(v)) publishEntryChange(v, change, refByte(v.g, ref));
  unlinkWayLocked(v, bw, w, ref);
  const f64 = v.f64;
  f64[ctx.counters + C_UNLINKED]++;
  if (counter !== NO_COUNTER) f64[ctx.counters + counter]++;
}
