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
 * read them at random again): an LSD radix sort on the bucket, 11 bits a pass, stable, so
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
  private readonly passes: number;
  private readonly bins = new Int32Array((1 << RADIX_BITS) + 1);

  /**
   * @param capacity records held at most (≥ 1)
   * @param bucketCount the index's buckets (≥ 1)
   */
  constructor(capacity: number, bucketCount: number) {
    this.capacity = capacity;
    this.records = new Int32Array(Math.min(capacity, INITIAL_RECORDS) * RECORD_WORDS);
    this.spare = new Int32Array(this.records.length);
    this.passes = Math.max(1, Math.ceil(Math.log2(Math.max(2, bucketCount)) / RADIX_BITS));
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

  /** Sorts the records by bucket (stable). */
  sort(): void {
    const n = this.count;
    const bins = this.bins;
    const mask = (1 << RADIX_BITS) - 1;
    for (let pass = 0, shift = 0; pass < this.passes; pass++, shift += RADIX_BITS) {
      const from = this.records;
      const to = this.spare;
      bins.fill(0);
      for (let i = 0; i < n; i++) bins[((from[i * RECORD_WORDS] >>> shift) & mask) + 1]++;
      for (let k = 1; k < bins.length; k++) bins[k] += bins[k - 1];
      for (let i = 0; i < n; i++) {
        const at = i * RECORD_WORDS;
        const o = bins[(from[at] >>> shift) & mask]++ * RECORD_WORDS;
        to[o] = from[at];
        to[o + 1] = from[at + 1];
        to[o + 2] = from[at + 2];
      }
      this.records = to;
      this.spare = from;
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
