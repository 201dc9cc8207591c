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
import type { CommandContext } from './context.ts';

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
