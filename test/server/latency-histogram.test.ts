import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUCKETS, bucketHigh, bucketLow, bucketOf, COUNT_WORD, cumulativeAt, HISTOGRAM_WORDS, mergeInto, quantile, record, SUM_WORD } from '../../src/server/latency-histogram.ts';

/** Deterministic log-normal-ish latencies, ns: 200 ns to about 50 ms. */
function samples(n: number, seed: number): number[] {
  let x = seed >>> 0;
  const rnd = (): number => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Array.from({ length: n }, () => Math.round(Math.exp(Math.log(200) + Math.log(250_000) * rnd() * rnd() + 2 * (rnd() - 0.5))));
}

test('every value lands in the bucket whose bounds hold it; buckets are at most 1/64 of their value wide', () => {
  for (const v of [0, 1, 127, 128, 129, 1000, 4095, 4096, 123_456, 2 ** 31 - 1, 2 ** 31, 2 ** 37 - 1, ...samples(2000, 3)]) {
    const b = bucketOf(v);
    assert.ok(bucketLow(b) <= v && v < bucketHigh(b), `${v} in bucket ${b} [${bucketLow(b)}, ${bucketHigh(b)})`);
    if (v >= 128) assert.ok((bucketHigh(b) - bucketLow(b)) / bucketLow(b) <= 1 / 64 + 1e-12);
  }
  assert.equal(bucketOf(2 ** 40), BUCKETS - 1, 'past the range: the last bucket');
  for (let i = 1; i < BUCKETS; i++) assert.equal(bucketHigh(i - 1), bucketLow(i), `bucket ${i} follows ${i - 1}`);
});

test('quantiles are within 1% of the sorted samples; merging histograms is recording the union', () => {
  const a = samples(50_000, 1);
  const b = samples(30_000, 2);
  const h = new Float64Array(3 * HISTOGRAM_WORDS);
  for (const v of a) record(h, 0, v);
  for (const v of b) record(h, HISTOGRAM_WORDS, v);
  for (const v of [...a, ...b]) record(h, 2 * HISTOGRAM_WORDS, v);
  const merged = new Float64Array(HISTOGRAM_WORDS);
  mergeInto(merged, 0, h, 0);
  mergeInto(merged, 0, h, HISTOGRAM_WORDS);
  assert.deepEqual([...merged], [...h.subarray(2 * HISTOGRAM_WORDS)], 'merged = the histogram of all samples');
  const sorted = [...a, ...b].sort((x, y) => x - y);
  for (const q of [0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) {
    const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
    const got = quantile(merged, 0, q);
    assert.ok(Math.abs(got - exact) / exact <= 0.01, `q ${q}: ${got} against ${exact}`);
  }
  assert.equal(merged[COUNT_WORD], 80_000);
  assert.equal(merged[SUM_WORD], sorted.reduce((s, v) => s + v, 0));
  assert.equal(quantile(new Float64Array(HISTOGRAM_WORDS), 0, 0.5), 0, 'empty: 0');
});

test('cumulative counts at Prometheus bounds match the samples at or below each bound, to within one bucket', () => {
  const vs = samples(20_000, 9);
  const h = new Float64Array(HISTOGRAM_WORDS);
  for (const v of vs) record(h, 0, v);
  const les = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];
  const at = cumulativeAt(h, 0, les);
  les.forEach((le, i) => {
    const exact = vs.filter((v) => v <= le).length;
    const within = vs.filter((v) => v <= le && v >= le * (1 - 1 / 64)).length; // the bucket that straddles the bound
    assert.ok(at[i] <= exact && at[i] >= exact - within, `le ${le}: ${at[i]} against ${exact}`);
  });
  assert.ok(at.every((x, i) => i === 0 || x >= at[i - 1]), 'cumulative');
});
