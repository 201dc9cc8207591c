/**
 * Counter values for `incr`/`decr`, with Redis INCRBY semantics: a value is a 64-bit signed
 * integer written in decimal ASCII (`-?(0|[1-9][0-9]*)`, no sign `+`, no spaces, no leading
 * zeros), and a result outside [-2^63, 2^63 - 1] is an error, not a wrap.
 *
 * Numbers are used while everything stays within ±2^53 (the common case, no allocation);
 * BigInt beyond.
 *
 * @module
 */
import { BadValueError, NotIntegerError, OverflowError } from '../errors.ts';

/** The largest decimal form of an int64, in bytes ("-9223372036854775808"). */
export const INT64_MAX_DIGITS = 20;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Parses `len` bytes at `at` as an int64; returns a number when safe, else a bigint. */
export function parseInt64(u8: Uint8Array, at: number, len: number): number | bigint {
  if (len === 0 || len > INT64_MAX_DIGITS) throw new NotIntegerError();
  const neg = u8[at] === 0x2d;
  const first = neg ? at + 1 : at;
  const digits = at + len - first;
  if (digits === 0 || (u8[first] === 0x30 && digits > 1) || (neg && digits === 1 && u8[first] === 0x30)) throw new NotIntegerError();
  let n = 0;
  for (let i = first; i < at + len; i++) {
    const d = u8[i] - 0x30;
    if (d < 0 || d > 9) throw new NotIntegerError();
    n = n * 10 + d;
  }
  if (digits <= 15) return neg ? -n : n;
  let big = 0n;
  for (let i = first; i < at + len; i++) big = big * 10n + BigInt(u8[i] - 0x30);
  if (neg) big = -big;
  if (big > INT64_MAX || big < INT64_MIN) throw new NotIntegerError();
  return Number.isSafeInteger(Number(big)) && BigInt(Number(big)) === big ? Number(big) : big;
}

/**
 * Checks a delta: a safe-integer number or an int64 bigint.
 * @throws BadValueError (`SABCACHE_ERR_BAD_VALUE`) for anything else.
 */
export function checkDelta(by: number | bigint): number | bigint {
  if (typeof by === 'bigint') {
    if (by > INT64_MAX || by < INT64_MIN) throw new OverflowError('the increment is outside the 64-bit signed range');
    return by;
  }
  if (!Number.isSafeInteger(by)) throw new BadValueError(`the increment must be a whole number, got ${by}`);
  return by;
}

/** `a + b` as an int64 (number when safe, else bigint). @throws OverflowError */
export function addInt64(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = BigInt(a) + BigInt(b);
  if (r > INT64_MAX || r < INT64_MIN) throw new OverflowError('increment or decrement would overflow a 64-bit signed integer');
  return Number.isSafeInteger(Number(r)) && BigInt(Number(r)) === r ? Number(r) : r;
}
