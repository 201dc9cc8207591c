/**
 * The entries a bulk restore (Table.restoreEntries, as a snapshot load runs it) has copied
 * into segments and not linked into the index yet, and the order it links them in.
 *
 * Linking an entry costs a few cache misses on the index (its bucket's two lines and its
 * frequency word) and a lock; taken in the file's order, the buckets come at random, and
 * that costs more than everything else the load does. Only a file written in bucket order,
 * loaded into a cache made with the file's hash seeds, avoided it. A batch sorted by bucket
 * instead brings each bucket's entries together: one lock and one fetch of its lines for
 * all of them, and a walk through the index that only goes forward. That pays only when a
 * batch holds several entries per bucket (hundreds of thousands of entries, more than the
 * caches hold), so the records are sorted themselves, not an index into them (which would
 * read them at random again): a radix sort on the bucket, stable (RestoreBatch.sort), so
 * two records of one key are linked in the order they came and the later one wins.
 *
 * @module
 */

/**
 * i32 words per record: bucket, tag lane, ref. (Not the key's length: the link reads it from
 * the entry only when a way's tag matches, where a fourth word made the sort move a third
 * more bytes: bench:persist, snapshot load.)
 */
export const RECORD_WORDS = 3;
/** Record word: the bucket. */
export const R_BUCKET = 0;
/** Record word: the hash lane that gives the tag. */
export const R_HI = 1;
/** Record word: the entry's ref (layout.ts). */
export const R_REF = 2;

/** Bits of the bucket sorted per pass: 2048 bins, whose open lines fit a core's L2. */
const RADIX_BITS = 11;
/** Records the batch first makes room for; it doubles up to its capacity as it fills. */
const INITIAL_RECORDS = 1 << 16;

/** Entries copied and not linked yet, as records of {@link RECORD_WORDS} words. */
export class RestoreBatch {
  /** How many records the batch holds at most. */
  readonly capacity: number;
  /** Records held. */
  count = 0;
  /** The records (`count` of them used); after {@link sort}, in bucket order. */
  records: Int32Array;
  private spare: Int32Array;
  /** Bits of the largest bucket index. */
  private readonly allBits: number;
  /** Bits left to sort within each bin of the first pass (0: one pass sorts all). */
  private readonly lowBits: number;
  private readonly bins = new Int32Array((1 << RADIX_BITS) + 1);
  private readonly smallBins = new Int32Array((1 << RADIX_BITS) + 1);

  /**
   * @param capacity records held at most (≥ 1)
   * @param bucketCount the index's buckets (≥ 1)
   */
  constructor(capacity: number, bucketCount: number) {
    this.capacity = capacity;
    this.records = new Int32Array(Math.min(capacity, INITIAL_RECORDS) * RECORD_WORDS);
    this.spare = new Int32Array(this.records.length);
    this.allBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, bucketCount))));
    this.lowBits = Math.max(0, this.allBits - RADIX_BITS);
  }

  /** Whether the batch is full. */
  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Adds one record (the caller checks {@link full} first). */
  push(bucket: number, hi: number, ref: number): void {
    if (this.count * RECORD_WORDS === this.records.length) this.grow();
    const at = this.count++ * RECORD_WORDS;
    const r = this.records;
    r[at + R_BUCKET] = bucket;
    r[at + R_HI] = hi;
    r[at + R_REF] = ref;
  }

  /**
   * Sorts the records by bucket (stable), most significant digit first: one pass over the
   * whole batch spreads them into up to 2^{@link RADIX_BITS} bins by the bucket's high
   * bits; each bin (a few thousand records in bench:persist's 512 MiB cache, which the
   * core's caches hold) is then sorted by the bits left. Two least-significant-digit passes
   * over the whole batch moved every record through memory twice (about 1.5× the time).
   */
  sort(): void {
    const n = this.count;
    const from = this.records;
    const to = this.spare;
    const bins = this.bins;
    if (this.lowBits === 0) {
      countingSort(from, to, 0, n, 0, this.allBits, bins);
      this.records = to;
      this.spare = from;
      return;
    }
    // High bits: records → spare. Bin k then ends at bins[k] (counting sort leaves each
    // bin's cursor at its end) and starts where bin k - 1 ends.
    countingSort(from, to, 0, n, this.lowBits, RADIX_BITS, bins);
    const binCount = 1 << RADIX_BITS;
    for (let k = 0, lo = 0; k < binCount; k++) {
      const hi = bins[k];
      // Low bits, bin by bin: spare → records, over the bin's own range.
      if (hi - lo === 1) copyRecord(to, from, lo, lo);
      else if (hi > lo) this.sortLowBits(to, from, lo, hi);
      lo = hi;
    }
  }

  /** Sorts records [lo, hi) of `src` into the same range of `dst` by the bucket's low {@link lowBits} bits. */
  private sortLowBits(src: Int32Array, dst: Int32Array, lo: number, hi: number): void {
    const bits = this.lowBits;
    const passes = Math.ceil(bits / RADIX_BITS);
    // More low bits than one pass sorts (over 2^22 buckets): passes within the bin, least
    // significant first, between the two arrays; an even number first copies the bin over
    // so that the last pass ends in `dst`.
    let a = src;
    let b = dst;
    if (passes % 2 === 0) {
      for (let i = lo; i < hi; i++) copyRecord(src, dst, i, i);
      a = dst;
      b = src;
    }
    for (let p = 0, shift = 0; p < passes; p++, shift += RADIX_BITS) {
      countingSort(a, b, lo, hi, shift, Math.min(RADIX_BITS, bits - shift), this.smallBins);
      const t = a;
      a = b;
      b = t;
    }
  }

  private grow(): void {
    const size = Math.min(this.capacity, (this.records.length / RECORD_WORDS) * 2) * RECORD_WORDS;
    const next = new Int32Array(size);
    next.set(this.records);
    this.records = next;
    this.spare = new Int32Array(size);
  }
}

/**
 * Stable counting sort of records [lo, hi) of `src` into the same range of `dst` by the
 * bucket's bits [shift, shift + bits) (bits ≤ RADIX_BITS), counting in `bins`. Leaves
 * bins[k] at the end of bin k.
 */
function countingSort(src: Int32Array, dst: Int32Array, lo: number, hi: number, shift: number, bits: number, bins: Int32Array): void {
  const binCount = 1 << bits;
  const mask = binCount - 1;
  bins.fill(0, 0, binCount + 1);
  for (let i = lo; i < hi; i++) bins[((src[i * RECORD_WORDS + R_BUCKET] >>> shift) & mask) + 1]++;
  bins[0] = lo;
  for (let k = 1; k <= binCount; k++) bins[k] += bins[k - 1];
  for (let i = lo; i < hi; i++) copyRecord(src, dst, i, bins[(src[i * RECORD_WORDS + R_BUCKET] >>> shift) & mask]++);
}

/** Copies record `i` of `src` to record `j` of `dst`. */
function copyRecord(src: Int32Array, dst: Int32Array, i: number, j: number): void {
  const a = i * RECORD_WORDS;
  const b = j * RECORD_WORDS;
  dst[b] = src[a];
  dst[b + 1] = src[a + 1];
  dst[b + 2] = src[a + 2];
}
