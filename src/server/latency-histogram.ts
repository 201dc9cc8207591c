/**
 * Log-linear latency histograms, as HdrHistogram lays them out (Gil Tene's HdrHistogram:
 * a power-of-two magnitude, then linear sub-buckets within it): values below 128 ns have a
 * bucket each; above, each power of two is split into 64 buckets, so a bucket is at most
 * 1/64 of its value wide and its midpoint within 0.8% of any value in it. Values up to
 * 2^37 ns (137 s) have buckets; larger ones go to the last.
 *
 * A histogram is {@link HISTOGRAM_WORDS} Float64 words of a buffer: the buckets' counts,
 * then the total count and the sum of the values (ns). One thread writes a histogram (its
 * own: no lock, no atomic, nothing allocated per value); others read it, possibly while it
 * is written, which can only make a read lag a few values behind (aligned 8-byte words are
 * not torn on the platforms Node runs on).
 *
 * @module
 */

/** Sub-buckets per power of two above the linear range (2^6). */
const SUB_BITS = 6;
/** Values below this have a bucket each (2^7). */
const LINEAR = 128;
/** Powers of two above the linear range: 2^7 … 2^37 ns. */
const MAGNITUDES = 31;
/** Buckets of one histogram. */
export const BUCKETS = LINEAR + MAGNITUDES * (1 << SUB_BITS);
/** Word of the total count, after the buckets. */
export const COUNT_WORD = BUCKETS;
/** Word of the sum of the values, ns. */
export const SUM_WORD = BUCKETS + 1;
/** Float64 words of one histogram. */
export const HISTOGRAM_WORDS = BUCKETS + 2;

/** The bucket of a value in ns (a whole number ≥ 0; larger than the range: the last bucket). */
export function bucketOf(ns: number): number {
  if (ns < LINEAR) return ns < 0 ? 0 : ns | 0;
  if (ns < 2 ** 31) {
    // The common case, integer instructions only: the leading bit by clz32, the 6 after it by a shift.
    const v = ns | 0;
    const e = 31 - Math.clz32(v);
    return LINEAR + (e - 7) * (1 << SUB_BITS) + ((v >>> (e - SUB_BITS)) - (1 << SUB_BITS));
  }
  let e = Math.floor(Math.log2(ns)); // 31 … ; the leading bit of ns
  if (2 ** e > ns) e--; // log2 rounded up just below a power of two
  if (e >= 7 + MAGNITUDES) return BUCKETS - 1;
  const sub = Math.floor(ns / 2 ** (e - SUB_BITS)) - (1 << SUB_BITS); // the 6 bits after the leading one
  return LINEAR + (e - 7) * (1 << SUB_BITS) + sub;
}

/** The lowest value of bucket `i`, ns. */
export function bucketLow(i: number): number {
  if (i < LINEAR) return i;
  const j = i - LINEAR;
  const e = 7 + (j >> SUB_BITS);
  return 2 ** e + (j & ((1 << SUB_BITS) - 1)) * 2 ** (e - SUB_BITS);
}

/** The first value past bucket `i`, ns. */
export function bucketHigh(i: number): number {
  return i + 1 < BUCKETS ? bucketLow(i + 1) : Infinity;
}

/**
 * Records `count` values of `ns` each into the histogram at word `base` of `h` (the
 * thread's own: a plain read-modify-write, see the module comment).
 */
export function record(h: Float64Array, base: number, ns: number, count = 1): void {
  h[base + bucketOf(ns)] += count;
  h[base + COUNT_WORD] += count;
  h[base + SUM_WORD] += ns * count;
}

/** Adds the histogram at `base` of `from` into the one at `intoBase` of `into` (merging threads). */
export function mergeInto(into: Float64Array, intoBase: number, from: Float64Array, base: number): void {
  for (let i = 0; i < HISTOGRAM_WORDS; i++) into[intoBase + i] += from[base + i];
}

/**
 * The value at quantile `q` (0 … 1) of the histogram at `base` of `h`, ns: the midpoint of
 * the bucket holding it (within 0.8% of the true value), or 0 for an empty histogram.
 */
export function quantile(h: Float64Array, base: number, q: number): number {
  const total = h[base + COUNT_WORD];
  if (!(total > 0)) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += h[base + i];
    if (seen >= rank) return i < LINEAR ? i : (bucketLow(i) + Math.min(bucketHigh(i), 2 ** 38)) / 2;
  }
  return bucketLow(BUCKETS - 1);
}

/**
 * Cumulative counts at the upper bounds `les` (ns, ascending) of the histogram at `base` of
 * `h`, as a Prometheus histogram's `le` buckets: the values in buckets that end at or below
 * each bound (a bound inside a bucket counts that bucket above it: off by at most 1/64 of
 * the bound).
 */
export function cumulativeAt(h: Float64Array, base: number, les: readonly number[]): number[] {
  const out: number[] = [];
  let seen = 0;
  let i = 0;
  for (const le of les) {
    // Values are whole ns: a bucket is at or below `le` when its first value past is at most le + 1.
    while (i < BUCKETS && bucketHigh(i) <= le + 1) seen += h[base + i++];
    out.push(seen);
  }
  return out;
}
