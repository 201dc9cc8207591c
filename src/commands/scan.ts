/**
 * The scan command (docs/design.md §7): walks the keys a page per call without blocking
 * writers (Redis SCAN). Guarantee: a key present (and unexpired) for the whole walk, from
 * cursor "0" until a call returns "0", is returned exactly once; a key added, removed or
 * expiring during the walk may or may not be. Keys come in no particular order; a page may
 * hold more or fewer than `count` keys, even none, before the walk ends.
 *
 * @module
 */
import { BadOptionError } from '../errors.ts';
import { refuseUnknownOptions } from '../util/known-options.ts';
import { expiryMs } from '../table/ttl.ts';
import type { CommandContext } from './context.ts';
import { EntryResult } from './entry.ts';

/** Options of {@link scan}. */
export interface ScanOptions {
  /** Only keys starting with this (UTF-8). @default "" */
  prefix?: string;
  /** Where to go on: the cursor a previous call returned; "0" starts. @default "0" */
  cursor?: string;
  /** About how many keys to return per call (a hint, as Redis COUNT). @default 100 */
  count?: number;
}

/** One page of {@link scan}. */
export interface ScanPage {
  keys: string[];
  /** Pass back to continue; "0" when the walk is complete. */
  cursor: string;
}

/** Largest `count` a page may ask for. */
export const SCAN_COUNT_MAX = 100_000;

const SCAN_OPTION_NAMES: readonly (keyof ScanOptions)[] = ['prefix', 'cursor', 'count'];

/**
 * Appends to `out` (UTF-8 bytes, copies) up to about `count` keys that start with `prefix`
 * (null: any), from the cursor `cursorText` on. Returns the next cursor ("0": the walk is
 * complete).
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for a cursor this cache did not give,
 *   or a count outside 1..{@link SCAN_COUNT_MAX}.
 */
export function scanKeys(cx: CommandContext, cursorText: string, count: number, prefix: Uint8Array | null, out: Uint8Array[]): string {
  const cursor = /^\d{1,10}$/.test(cursorText) ? Number(cursorText) : -1;
  if (cursor < 0 || cursor >= cx.table.bucketCount) throw new BadOptionError('cursor', `not a cursor from this cache: ${JSON.stringify(cursorText.slice(0, 20))}`);
  if (!Number.isInteger(count) || count < 1 || count > SCAN_COUNT_MAX) throw new BadOptionError('count', `must be from 1 to ${SCAN_COUNT_MAX}, got ${count}`);
  return String(cx.table.scan(cursor, count, prefix, out));
}

/**
 * One page of the walk, as strings.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) as {@link scanKeys}, or for an option
 *   name it does not know.
 */
export function scan(cx: CommandContext, options: ScanOptions = {}): ScanPage {
  refuseUnknownOptions('scan', options, SCAN_OPTION_NAMES);
  const found: Uint8Array[] = [];
  const prefix = options.prefix ? new TextEncoder().encode(options.prefix) : null;
  const cursor = scanKeys(cx, options.cursor ?? '0', options.count ?? 100, prefix, found);
  const dec = new TextDecoder();
  return { keys: found.map((k) => dec.decode(k)), cursor };
}

/**
 * A key picked at random (Redis RANDOMKEY), or undefined when the cache is empty: the first
 * live key from a random bucket on (wrapping round once at most), so keys in sparse regions
 * are picked more often than in dense ones, a bias Redis's sampling has as well.
 */
export function randomKey(cx: CommandContext): Uint8Array | undefined {
  const t = cx.table;
  const start = Math.floor(Math.random() * t.bucketCount);
  const out: Uint8Array[] = [];
  let cursor = start;
  let wrapped = false;
  for (;;) {
    out.length = 0;
    const next = t.scan(cursor, 16, null, out);
    if (out.length > 0) return out[Math.floor(Math.random() * out.length)];
    if (next === 0) {
      if (wrapped || start === 0) return undefined;
      wrapped = true;
    }
    cursor = next;
    if (wrapped && cursor >= start) return undefined;
  }
}

/** What {@link sampleExpiry} found. */
export interface ExpirySample {
  /** Live keys looked at. */
  sampled: number;
  /** Of them, keys with a TTL. */
  expiring: number;
  /** Their mean time left, in milliseconds (0 when none). */
  meanTtlMs: number;
}

/**
 * Looks at up to `count` live keys from a random bucket on, and reports how many have a TTL
 * and their mean time left: an estimate of the share of expiring keys (Redis INFO keyspace's
 * `expires` and `avg_ttl`, which Redis counts exactly; the table keeps no such count).
 */
export function sampleExpiry(cx: CommandContext, count: number): ExpirySample {
  const t = cx.table;
  const keys: Uint8Array[] = [];
  let cursor = Math.floor(Math.random() * t.bucketCount);
  // At most 8 scan steps (each visits a bounded number of buckets): a sparse cache gives a
  // smaller sample, never a long walk.
  for (let step = 0; keys.length < count && step < 8; step++) cursor = t.scan(cursor, count - keys.length, null, keys);
  if (keys.length > count) keys.length = count; // a scan step ends with its bucket's keys
  const r = new EntryResult();
  let sampled = 0;
  let expiring = 0;
  let totalMs = 0;
  for (const k of keys) {
    if (!t.peek(k, r)) continue; // not a read: no hit counted, no frequency bumped
    sampled++;
    if (r.expireAt === 0) continue;
    expiring++;
    totalMs += Math.max(0, expiryMs(r.expireAt, r.expireCode) - t.now());
  }
  return { sampled, expiring, meanTtlMs: expiring ? Math.round(totalMs / expiring) : 0 };
}
