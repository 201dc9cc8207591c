/**
 * Belady's MIN (offline optimum, "OPT"; Belady, IBM Systems Journal 1966) for the miss-ratio
 * benchmark: on a miss the object is admitted unless its own next request is the furthest,
 * and objects whose next request is furthest away are evicted until everything fits.
 * With variable sizes this furthest-next-use rule is the standard approximation of the
 * optimum (exact OPT with sizes is NP-hard), so treat it as a near-floor, not a proof.
 * TTLs: a request after its key's expiry is a miss for every policy, so a next request
 * that comes after the cached copy expires counts as "never".
 */
import type { Trace } from './traces.ts';

/** Miss ratio of Belady's MIN on `trace` with `capacityBytes`, sizing items with `footprint`. */
export function beladyMissRatio(trace: Trace, capacityBytes: number, footprint: (key: number) => number): number {
  const { keys } = trace;
  const n = keys.length;
  const keySpace = trace.valueBytes.length;
  // nextUse[i]: index of the next request for keys[i], or n (never).
  const nextUse = new Int32Array(n);
  const last = new Int32Array(keySpace).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    nextUse[i] = last[keys[i]];
    last[keys[i]] = i;
  }
  // Max-heap of (next use, key) with lazy deletion: an entry is current only if it matches
  // cachedNext[key].
  const heapNext = new Int32Array(n + 1);
  const heapKey = new Int32Array(n + 1);
  let size = 0;
  const push = (nx: number, k: number) => {
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heapNext[p] >= nx) break;
      heapNext[i] = heapNext[p];
      heapKey[i] = heapKey[p];
      i = p;
    }
    heapNext[i] = nx;
    heapKey[i] = k;
  };
  const pop = () => {
    const nx = heapNext[--size];
    const k = heapKey[size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heapNext[c + 1] > heapNext[c]) c++;
      if (heapNext[c] <= nx) break;
      heapNext[i] = heapNext[c];
      heapKey[i] = heapKey[c];
      i = c;
    }
    heapNext[i] = nx;
    heapKey[i] = k;
  };
  const cachedNext = new Int32Array(keySpace).fill(-1); // -1: not cached
  const expireAt = new Float64Array(keySpace);
  let used = 0;
  let misses = 0;
  const ms = trace.msPerRequest;
  // Effective next use: "never" (n) if the copy will have expired by then.
  const effective = (i: number, k: number) => {
    const nx = nextUse[i];
    return nx < n && expireAt[k] !== 0 && nx * ms >= expireAt[k] ? n : nx;
  };
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const now = i * ms;
    if (cachedNext[k] >= 0 && (expireAt[k] === 0 || now < expireAt[k])) {
      cachedNext[k] = effective(i, k);
      push(cachedNext[k], k);
      continue;
    }
    misses++;
    if (cachedNext[k] >= 0) { // expired copy: drop it
      used -= footprint(k);
      cachedNext[k] = -1;
    }
    const ttl = trace.ttlSeconds[k];
    expireAt[k] = ttl === 0 ? 0 : now + ttl * 1000;
    const nx = effective(i, k);
    const bytes = footprint(k);
    if (nx === n || bytes > capacityBytes) continue; // never needed again in time: bypass
    while (used + bytes > capacityBytes && size > 0) {
      const top = heapNext[0];
      const tk = heapKey[0];
      if (cachedNext[tk] !== top) { pop(); continue; } // stale
      if (top <= nx) break; // everything cached is needed sooner than this one
      pop();
      cachedNext[tk] = -1;
      used -= footprint(tk);
    }
    if (used + bytes > capacityBytes) continue;
    cachedNext[k] = nx;
    used += bytes;
    push(nx, k);
  }
  return misses / n;
}
