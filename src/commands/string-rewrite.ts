/**
 * String commands that change a value from what it holds (Redis's SET … GET, GETSET,
 * GETDEL, GETEX, APPEND, INCRBYFLOAT, MSETNX, SET … KEEPTTL), each one atomic through
 * {@link rewrite} (docs/design.md §7 "Collections"). Each refuses a key that holds a list
 * or hash: WrongTypeError (`SABCACHE_ERR_WRONG_TYPE`).
 *
 * @module
 */
import { NotFloatError } from '../errors.ts';
import { COND_IF_ABSENT } from '../table/table.ts';
import type { CommandContext } from './context.ts';
import { EntryResult, expectString, VALUE_BYTES, VALUE_INTEGER, VALUE_STRING } from './entry.ts';
import { DELETE, type Replacement, rewrite, UNCHANGED } from './rewrite.ts';

/** When a {@link setGet} stores, and how its entry expires. */
export interface SetGetOptions {
  /** Expiry, unix milliseconds (0 = never); absent with `keepTtl` false = never. */
  expireAtMs?: number;
  /** Keep the replaced entry's expiry (Redis KEEPTTL). */
  keepTtl?: boolean;
  /** Store only if absent (NX). */
  ifAbsent?: boolean;
  /** Store only if present (XX). */
  ifPresent?: boolean;
}

/** What {@link setGet} did. */
export interface SetGetResult {
  /** The value the key held before (a copy), or undefined. */
  old: Uint8Array | undefined;
  /** Whether the new value was stored. */
  stored: boolean;
}

/** Bytes of a value as the string commands store them. */
function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/**
 * Stores `value` under `key` as SET does (with its NX/XX conditions and expiry) and returns
 * the value it replaced (Redis SET … GET, GETSET), atomically. `expireAtMs` is an absolute
 * time: a time already past deletes the key instead (and `stored` is true).
 * @throws WrongTypeError (`SABCACHE_ERR_WRONG_TYPE`) when the key holds a collection; the
 *   errors of write.ts set.
 */
export function setGet(cx: CommandContext, key: string | Uint8Array, value: string | Uint8Array, options: SetGetOptions, result?: EntryResult): SetGetResult {
  const bytes = bytesOf(value);
  const type = typeof value === 'string' ? VALUE_STRING : VALUE_BYTES;
  const { expireAtMs = 0, keepTtl = false, ifAbsent = false, ifPresent = false } = options;
  const past = expireAtMs !== 0 && expireAtMs <= cx.now();
  let old: Uint8Array | undefined;
  let stored = false;
  rewrite(cx, key, (current, entry) => {
    if (current !== undefined) expectString(entry);
    old = current === undefined ? undefined : Uint8Array.prototype.slice.call(current);
    stored = !((ifAbsent && current !== undefined) || (ifPresent && current === undefined));
    if (!stored) return UNCHANGED;
    if (past) return DELETE;
    const r: Replacement = { value: bytes, type };
    if (!keepTtl) r.expireAtMs = expireAtMs;
    return r;
  }, result);
  return { old, stored };
}

/** The value of `key` (a copy), and the key removed, atomically (Redis GETDEL); undefined when absent. @throws WrongTypeError. */
export function getDel(cx: CommandContext, key: string | Uint8Array): Uint8Array | undefined {
  let old: Uint8Array | undefined;
  rewrite(cx, key, (current, entry) => {
    if (current === undefined) {
      old = undefined;
      return UNCHANGED;
    }
    expectString(entry);
    old = Uint8Array.prototype.slice.call(current);
    return DELETE;
  });
  return old;
}

/**
 * Appends `suffix` to the value of `key` (an absent key counts as empty) and returns the new
 * length in bytes (Redis APPEND). An integer written by incr becomes bytes.
 * @throws WrongTypeError; ValueTooLargeError (`SABCACHE_ERR_VALUE_TOO_LARGE`) past `maxValueBytes`.
 */
export function append(cx: CommandContext, key: string | Uint8Array, suffix: string | Uint8Array, result?: EntryResult): number {
  const add = bytesOf(suffix);
  let length = 0;
  rewrite(cx, key, (current, entry) => {
    if (current !== undefined) expectString(entry);
    const value = Buffer.concat(current === undefined ? [add] : [current, add]);
    length = value.length;
    return { value, type: current === undefined || entry.type === VALUE_INTEGER ? (typeof suffix === 'string' ? VALUE_STRING : VALUE_BYTES) : entry.type };
  }, result);
  return length;
}

/** A decimal number in text form as Redis's INCRBYFLOAT reads it (no spaces, no hex, no inf), or NaN. */
export function parseFloatText(text: string): number {
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number.NaN;
  return Number(text);
}

/** `n` as INCRBYFLOAT prints it: plain decimal, no exponent for ordinary magnitudes, no trailing zeros. */
function formatFloat(n: number): string {
  if (Object.is(n, -0)) return '0';
  const s = String(n);
  if (!s.includes('e')) return s;
  // Redis prints with %.17Lg and then trims; a plain decimal expansion where it is exact enough.
  return Math.abs(n) < 1e21 ? n.toFixed(20).replace(/\.?0+$/, '') : s;
}

/**
 * Adds `by` to the number under `key` (absent counts as 0), keeping its TTL, and returns
 * the result as text (Redis INCRBYFLOAT).
 * @throws NotFloatError (`SABCACHE_ERR_NOT_FLOAT`) when the value or `by` is not a finite
 *   decimal number or the result is not finite; WrongTypeError.
 */
export function incrByFloat(cx: CommandContext, key: string | Uint8Array, by: number, result?: EntryResult): string {
  if (!Number.isFinite(by)) throw new NotFloatError('the increment is not a valid float');
  let text = '';
  rewrite(cx, key, (current, entry) => {
    let base = 0;
    if (current !== undefined) {
      expectString(entry);
      base = parseFloatText(Buffer.from(current.buffer, current.byteOffset, current.length).toString('latin1'));
      if (!Number.isFinite(base)) throw new NotFloatError();
    }
    const sum = base + by;
    if (!Number.isFinite(sum)) throw new NotFloatError('increment would produce NaN or Infinity');
    text = formatFloat(sum);
    return { value: Buffer.from(text, 'latin1'), type: VALUE_STRING };
  }, result);
  return text;
}

/**
 * Stores every pair only if none of the keys is present (Redis MSETNX). Returns whether it
 * stored. Each key is stored only while it is still absent; if a racing writer creates one
 * of them first, the keys already stored by this call are removed again (each only while it
 * still holds this call's version), so the call stores all or none of its keys. Another
 * thread may see some of them in between (Redis runs MSETNX alone; here threads run at once).
 * @throws the errors of write.ts set.
 */
export function setManyIfAbsent(cx: CommandContext, entries: readonly { key: string | Uint8Array; value: string | Uint8Array }[]): boolean {
  const t = cx.table;
  for (const e of entries) if (t.has(e.key)) return false;
  const done: { key: string | Uint8Array; version: number }[] = [];
  const r = new EntryResult();
  for (const e of entries) {
    if (t.set(e.key, e.value, 0, COND_IF_ABSENT, 0, 0, r)) {
      done.push({ key: e.key, version: r.version });
      continue;
    }
    for (const d of done) {
      t.codec.encode(d.key);
      t.deleteEncoded(true, t.versionEpoch, d.version);
    }
    return false;
  }
  return true;
}

/**
 * The value of `key` (a copy, or undefined when absent), giving it a new expiry at the same
 * time (Redis GETEX): `ttlSeconds` > 0 expires it that many seconds from now (to the
 * millisecond), ≤ 0 deletes
 * it, `'persist'` removes its TTL, undefined leaves it. The value and its version stay (the
 * expiry changes in place, and only on the version read, so never on a newer value).
 * @throws WrongTypeError; BadTtlError (`SABCACHE_ERR_BAD_TTL`) past MAX_TTL_SECONDS.
 */
export function getEx(cx: CommandContext, key: string | Uint8Array, ttlSeconds: number | 'persist' | undefined): Uint8Array | undefined {
  const t = cx.table;
  for (;;) {
    const value = t.getBytes(key, cx.found);
    if (value === undefined) return undefined;
    expectString(cx.found);
    const copy = Uint8Array.prototype.slice.call(value);
    if (ttlSeconds === undefined) return copy;
    const version = cx.found.version;
    if (ttlSeconds !== 'persist' && ttlSeconds <= 0) {
      t.codec.encode(key);
      if (t.deleteEncoded(true, t.versionEpoch, version)) return copy;
    } else if (t.setTtl(key, ttlSeconds === 'persist' ? 0 : ttlSeconds, version)) return copy;
  }
}
