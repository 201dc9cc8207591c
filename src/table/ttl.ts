/**
 * TTL arithmetic shared by the table and every front end: the largest TTL, an expiry
 * instant as an entry keeps it (whole seconds and a millisecond code), whether it has
 * passed, and the time left as Redis TTL and PTTL report it.
 *
 * @module
 */

/** Largest TTL accepted, in seconds (about 68 years: expireAt must stay within u32). */
export const MAX_TTL_SECONDS = 2 ** 31 - 1;

/**
 * An expiry instant as an entry keeps it (layout.ts EXPIRE_CODE_SHIFT): `expireAt`, the whole
 * unix second at or after it (what snapshots and the WAL keep, and what the table's shared
 * clock compares), and a code for the milliseconds before that second. For `ms` (unix ms,
 * a whole number > 0): the second.
 */
export function expireAtSecondsOf(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** The code of `ms` (see {@link expireAtSecondsOf}): 1 + the milliseconds from `ms` to its second (1..1000). */
export function expiryCodeOf(ms: number): number {
  return Math.ceil(ms / 1000) * 1000 - ms + 1;
}

/** The expiry instant, unix ms, of (`expireAt` seconds, `code`); 0 when `expireAt` is 0 (never). */
export function expiryMs(expireAt: number, code: number): number {
  if (expireAt === 0) return 0;
  const at = (expireAt >>> 0) * 1000;
  return code === 0 ? at : at - (code - 1);
}

/**
 * Whether an entry expiring at (`expireAt`, `code`) has expired, `clockSeconds` being the
 * shared clock (whole seconds, advanced by the owner's maintenance tick). The real clock
 * (`nowMs`) is read only for an entry with a millisecond code in its last two seconds: a
 * read of a key far from expiry costs nothing more.
 */
export function hasExpired(expireAt: number, code: number, clockSeconds: number, nowMs: () => number): boolean {
  if (expireAt === 0) return false;
  const at = expireAt >>> 0;
  if (at <= clockSeconds) return true;
  if (code === 0 || at > clockSeconds + 2) return false;
  return nowMs() >= at * 1000 - (code - 1);
}

/**
 * Milliseconds left until (`expireAt`, `code`) (Redis PTTL): -1 if it never expires, else
 * at least 0 and at most {@link MAX_TTL_SECONDS} seconds' worth.
 */
export function remainingTtlMs(expireAt: number, code: number, nowMs: () => number): number {
  if (expireAt === 0) return -1;
  return Math.min(MAX_TTL_SECONDS * 1000, Math.max(0, Math.floor(expiryMs(expireAt, code) - nowMs())));
}

/**
 * Seconds left until (`expireAt`, `code`) as Redis TTL reports them (the milliseconds left,
 * rounded to the nearest second): right after a write with `ttl=N` this is N, then it
 * counts down to 0; -1 if it never expires. Never above {@link MAX_TTL_SECONDS}, so it fits
 * every wire format (an i32 in the WebSocket protocol). `nowMs` gives the time, in
 * milliseconds since the epoch; it is read only for a key that expires (Date.now() costs a
 * visible part of a WebSocket GET at depth 16: bench:ab).
 */
export function remainingTtlSeconds(expireAt: number, code: number, nowMs: () => number): number {
  if (expireAt === 0) return -1;
  return Math.min(MAX_TTL_SECONDS, Math.round(remainingTtlMs(expireAt, code, nowMs) / 1000));
}
