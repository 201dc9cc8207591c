/**
 * TTL arithmetic shared by the table and every front end: the largest TTL, and the seconds
 * left as Redis TTL reports them.
 *
 * @module
 */

/** Largest TTL accepted, in seconds (about 68 years: expireAt must stay within u32). */
export const MAX_TTL_SECONDS = 2 ** 31 - 1;

/**
 * Whole seconds left until `expireAt` (unix seconds; 0 = never → -1), as Redis TTL reports
 * them: right after a write with `ttl=N` this is N (a key lives from N to N + 1 seconds, the
 * clock having whole-second resolution, and the part second is not reported), then it
 * counts down to 0. Never above {@link MAX_TTL_SECONDS}, so it fits every wire format (an
 * i32 in the WebSocket protocol). `nowMs` gives the time, in milliseconds since the epoch.
 */
export function remainingTtlSeconds(expireAt: number, nowMs: () => number): number {
  // The clock is read only for a key that expires: Date.now() costs a visible part of a
  // WebSocket GET at depth 16 (bench:ab).
  if (expireAt === 0) return -1;
  return Math.min(MAX_TTL_SECONDS, Math.max(0, Math.floor((expireAt >>> 0) - nowMs() / 1000)));
}
