/**
 * Refuses option names a function does not know (a misspelt `memory` for `memoryBytes`, or
 * `ttl` for `ttlSeconds`, would otherwise be ignored silently), naming the nearest valid one.
 *
 * @module
 */
import { BadOptionError } from '../errors.ts';

/** Edit distance (Levenshtein) between two short names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The known name most like `name`: one that starts with it or that it starts with
 * (case-insensitive) first, else the one at the smallest edit distance.
 */
export function nearestName(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  const prefixed = known.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
  if (prefixed !== undefined) return prefixed;
  let best = known[0];
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Throws when `options` has an enumerable property not in `known`.
 * @param where - what the options are of, for the message (`create`, `set`, …).
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming the unknown option and the
 *   nearest valid name.
 */
export function refuseUnknownOptions(where: string, options: object, known: readonly string[]): void {
  for (const name in options) {
    if (!known.includes(name)) {
      throw new BadOptionError(name, `unknown option of ${where}; did you mean ${nearestName(name, known)}? (known: ${known.join(', ')})`);
    }
  }
}
