/**
 * Where the server's limits live in their shared buffer (the one every server thread maps,
 * made by the main thread: {@link createLimitsBuffer}): the rate limiter's GCRA cells
 * (rate-limiter.ts), the connection counts (connection-limiter.ts), and the counters of
 * what they refused. Only this module knows the offsets.
 *
 * ```
 * bytes 0..63      Int32 header: counters (HEADER_*), 16 words; HEADER_GLOBAL_TAT is the
 *                  global GCRA cell
 * bytes 64..71     Float64: the clock's epoch (monotonic ns), written once before sharing
 * RATE_TAGS        Int32 × RATE_CELLS: which client owns each rate cell (0: none yet)
 * RATE_TATS        Int32 × RATE_CELLS: each cell's theoretical arrival time, in TICK_NS
 *                  ticks since the epoch, modulo 2^32 (rate-limiter.ts reads them relative
 *                  to now)
 * CONN_TAGS        Int32 × CONN_CELLS: which address owns each connection cell (0: none)
 * CONN_COUNTS      Int32 × CONN_CELLS: its open connections
 * ```
 *
 * @module
 */

/** Header word: requests refused by a client's rate limit. */
export const HEADER_REFUSED_RATE = 0;
/** Header word: requests refused by the global rate limit. */
export const HEADER_REFUSED_GLOBAL_RATE = 1;
/** Header word: connections refused by `--max-connections`. */
export const HEADER_REFUSED_CONNECTIONS = 2;
/** Header word: connections refused by `--max-connections-per-address`. */
export const HEADER_REFUSED_ADDRESS_CONNECTIONS = 3;
/** Header word: rate checks that found every probed cell owned by a live client and shared one (rate-limiter.ts). */
export const HEADER_RATE_CELLS_SHARED = 4;
/** Header word: connections open on the counted ports (RESP, WebSocket), every thread. */
export const HEADER_OPEN_CONNECTIONS = 5;
/** Header word: the global GCRA cell's theoretical arrival time (ticks, as RATE_TATS). */
export const HEADER_GLOBAL_TAT = 6;
/** Header word: WebSocket connections open, every thread (a part of HEADER_OPEN_CONNECTIONS). */
export const HEADER_OPEN_WS = 7;
/** Header word: RESP connections open, every thread (the other part). */
export const HEADER_OPEN_RESP = 8;
/** Header word: requests and connections refused for their credential (none, a bad one, or one without the role or key pattern), every protocol. */
export const HEADER_REFUSED_AUTH = 9;
/** Header words in all. */
export const HEADER_WORDS = 16;

/**
 * The rate limiter's clock tick, ns: times are kept as 32-bit tick counts, so an Int32
 * compare-and-swap updates them (no BigInt allocated per request); 2^31 ticks are 275 s,
 * the farthest apart two times may be and still be told apart (rate-limiter.ts).
 */
export const TICK_NS = 128;

/** log2 of {@link RATE_CELLS}. */
export const RATE_CELL_BITS = 16;
/** Rate cells: room for the clients in debt at once (sent within their last burst window). */
export const RATE_CELLS = 1 << RATE_CELL_BITS;
/** log2 of {@link CONN_CELLS}. */
export const CONN_CELL_BITS = 14;
/** Connection cells: room for the addresses with connections open at once. */
export const CONN_CELLS = 1 << CONN_CELL_BITS;
/** Cells probed from a client's home cell before it shares one (both tables). */
export const PROBES = 8;

/** Byte offset of the epoch (Float64 index = offset / 8). */
export const EPOCH_BYTE = HEADER_WORDS * 4;
/** Byte offset of the rate cells' tags. */
export const RATE_TAGS_BYTE = EPOCH_BYTE + 8;
/** Byte offset of the rate cells' TATs. */
export const RATE_TATS_BYTE = RATE_TAGS_BYTE + RATE_CELLS * 4;
/** Byte offset of the connection cells' tags. */
export const CONN_TAGS_BYTE = RATE_TATS_BYTE + RATE_CELLS * 4;
/** Byte offset of the connection cells' counts. */
export const CONN_COUNTS_BYTE = CONN_TAGS_BYTE + CONN_CELLS * 4;
/** Bytes of the whole buffer. */
export const LIMITS_BYTES = CONN_COUNTS_BYTE + CONN_CELLS * 4;

/** The views of a limits buffer. */
export interface LimitsViews {
  header: Int32Array;
  epoch: Float64Array;
  rateTags: Int32Array;
  rateTats: Int32Array;
  connTags: Int32Array;
  connCounts: Int32Array;
}

/** Maps the views of `buffer` (made by {@link createLimitsBuffer}). */
export function limitsViews(buffer: SharedArrayBuffer): LimitsViews {
  return {
    header: new Int32Array(buffer, 0, HEADER_WORDS),
    epoch: new Float64Array(buffer, EPOCH_BYTE, 1),
    rateTags: new Int32Array(buffer, RATE_TAGS_BYTE, RATE_CELLS),
    rateTats: new Int32Array(buffer, RATE_TATS_BYTE, RATE_CELLS),
    connTags: new Int32Array(buffer, CONN_TAGS_BYTE, CONN_CELLS),
    connCounts: new Int32Array(buffer, CONN_COUNTS_BYTE, CONN_CELLS),
  };
}

/**
 * The monotonic clock of every thread, in nanoseconds: `process.hrtime` is
 * CLOCK_MONOTONIC, one clock for the whole machine; `performance.now()` reads the same
 * clock from this thread's origin, so the offset between them is fixed per thread. Wall
 * time (`Date.now()`, `performance.timeOrigin`) would let a clock step between two threads'
 * starts put one thread's "now" hours from another's.
 */
const MONOTONIC_OFFSET_NS = monotonicOffset();

/**
 * The offset of this thread's `performance.now()` from `process.hrtime`, ns: the smallest
 * of a few paired readings (the first reading of either is slow: `performance` loads
 * lazily, which once put 1.6 ms between the two).
 */
function monotonicOffset(): number {
  performance.now();
  process.hrtime.bigint();
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = performance.now() * 1e6;
    const hr = Number(process.hrtime.bigint());
    const after = performance.now() * 1e6;
    // hr was read between before and after: the pair with the narrowest gap pins it best.
    if (after - before < best) {
      best = after - before;
      offset = hr - (before + after) / 2;
    }
  }
  return offset;
}

/** Now on the shared monotonic clock, in nanoseconds (cheap: no allocation). */
export function monotonicNs(): number {
  return performance.now() * 1e6 + MONOTONIC_OFFSET_NS;
}

/**
 * A new, zeroed limits buffer with its epoch set. Made once by the main thread and passed to
 * every server worker: the epoch is written before the buffer is posted, and posting orders
 * it before any read in the worker.
 */
export function createLimitsBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(LIMITS_BYTES);
  limitsViews(buffer).epoch[0] = monotonicNs();
  return buffer;
}
