/**
 * Synthetic request traces for the miss-ratio benchmark (bench:eviction). Deterministic
 * (seeded PRNG), so every policy replays exactly the same requests.
 *
 * A trace is a sequence of key ids; each id has a fixed value size and TTL. Request `i`
 * happens at virtual time `i * msPerRequest` milliseconds.
 */

/** One trace, ready to replay. */
export interface Trace {
  name: string;
  /** What it models, for the results table. */
  about: string;
  /** Key id of each request. */
  keys: Int32Array;
  /** Value size in bytes, per key id. */
  valueBytes: Int32Array;
  /** TTL in seconds per key id (0 = none). */
  ttlSeconds: Int32Array;
  /** Virtual milliseconds between requests. */
  msPerRequest: number;
}

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ranks 0..n-1 with P(rank r) ∝ 1/(r+1)^alpha (inverse CDF, binary search). */
function zipfSampler(n: number, alpha: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** alpha;
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A random permutation of 0..n-1 (popularity rank → key id, so hot keys are scattered). */
function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Options shared by the generators. */
export interface TraceSize {
  /** Distinct keys of the Zipf part. */
  keys: number;
  /** Requests in the trace. */
  requests: number;
}

function fixedSizes(n: number, bytes: number): Int32Array {
  return new Int32Array(n).fill(bytes);
}

/** Zipf(alpha) over `keys` keys, 100-byte values, no TTL. */
export function zipfTrace({ keys, requests }: TraceSize, alpha: number, seed = 1): Trace {
  const rand = prng(seed);
  const sample = zipfSampler(keys, alpha, rand);
  const perm = permutation(keys, rand);
  const out = new Int32Array(requests);
  for (let i = 0; i < requests; i++) out[i] = perm[sample()];
  return { name: `zipf-${alpha.toFixed(1)}`, about: `Zipf α ${alpha} over ${keys} keys, 100 B values`, keys: out, valueBytes: fixedSizes(keys, 100), ttlSeconds: new Int32Array(keys), msPerRequest: 1 };
}

/**
 * Zipf 1.0 polluted by one-time scans: after every `every` Zipf requests comes a scan of
 * `scanLength` keys never requested before or after (a batch job walking a table).
 */
export function scanTrace({ keys, requests }: TraceSize, every: number, scanLength: number, seed = 2): Trace {
  const rand = prng(seed);
  const sample = zipfSampler(keys, 1.0, rand);
  const perm = permutation(keys, rand);
  const out = new Int32Array(requests);
  let next = keys;
  let i = 0;
  while (i < requests) {
    for (let j = 0; j < every && i < requests; j++) out[i++] = perm[sample()];
    for (let j = 0; j < scanLength && i < requests; j++) out[i++] = next++;
  }
  return { name: 'zipf-1.0+scans', about: `Zipf 1.0 over ${keys} keys; after every ${every} requests a scan of ${scanLength} one-time keys`, keys: out, valueBytes: fixedSizes(next, 100), ttlSeconds: new Int32Array(next), msPerRequest: 1 };
}

/** Zipf 1.0 whose hot set moves: `phases` equal phases, each with its own rank → key mapping. */
export function shiftingTrace({ keys, requests }: TraceSize, phases: number, seed = 3): Trace {
  const rand = prng(seed);
  const sample = zipfSampler(keys, 1.0, rand);
  const perm = permutation(keys, rand);
  const out = new Int32Array(requests);
  const perPhase = Math.ceil(requests / phases);
  for (let i = 0; i < requests; i++) {
    // Each phase shifts ranks by a random offset: yesterday's hot keys turn cold.
    const offset = Math.floor(prng(seed * 1000 + Math.floor(i / perPhase))() * keys);
    out[i] = perm[(sample() + offset) % keys];
  }
  return { name: 'shifting-hot-set', about: `Zipf 1.0 over ${keys} keys; the hot set moves ${phases - 1} times`, keys: out, valueBytes: fixedSizes(keys, 100), ttlSeconds: new Int32Array(keys), msPerRequest: 1 };
}

/** Zipf 1.0 with mixed TTLs per key: 40% none, 30% 5 s, 30% 60 s; 1 ms per request. */
export function ttlTrace(size: TraceSize, seed = 4): Trace {
  const t = zipfTrace(size, 1.0, seed);
  const rand = prng(seed + 17);
  const ttl = new Int32Array(size.keys);
  for (let k = 0; k < size.keys; k++) {
    const u = rand();
    ttl[k] = u < 0.4 ? 0 : u < 0.7 ? 5 : 60;
  }
  return { ...t, name: 'mixed-ttl', about: `Zipf 1.0 over ${size.keys} keys, TTL none/5 s/60 s (40/30/30%), 1 ms per request`, ttlSeconds: ttl };
}

/** Zipf 1.0 with heavy-tailed value sizes: Pareto (α 1.2, from 32 B), capped at `maxBytes`. */
export function heavyTailTrace(size: TraceSize, maxBytes: number, seed = 5): Trace {
  const t = zipfTrace(size, 1.0, seed);
  const rand = prng(seed + 29);
  const sizes = new Int32Array(size.keys);
  for (let k = 0; k < size.keys; k++) sizes[k] = Math.min(maxBytes, Math.floor(32 / (1 - rand()) ** (1 / 1.2)));
  return { ...t, name: 'heavy-tailed-sizes', about: `Zipf 1.0 over ${size.keys} keys, values Pareto(α 1.2, ≥ 32 B, ≤ ${maxBytes} B)`, valueBytes: sizes };
}

/**
 * `trace` with each key's value size drawn uniformly from `min`..`max` bytes (seeded), as
 * the comparison with the real servers uses (bench:eviction, its servers part).
 */
export function withValueSizes(trace: Trace, min: number, max: number, seed = 6): Trace {
  const rand = prng(seed);
  const sizes = new Int32Array(trace.valueBytes.length);
  for (let k = 0; k < sizes.length; k++) sizes[k] = min + Math.floor(rand() * (max - min + 1));
  return { ...trace, about: trace.about.replace(/100 B values/, `values ${min}–${max} B`) + (trace.about.includes('100 B values') ? '' : `; values ${min}–${max} B`), valueBytes: sizes };
}
