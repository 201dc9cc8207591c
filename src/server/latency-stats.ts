/**
 * The latency figures of the whole server: every worker's histograms (metrics-words.ts)
 * merged per protocol and class, and their quantiles, for `/v1/stats`, RESP `INFO
 * latencystats` and `/metrics`.
 *
 * @module
 */
import { COUNT_WORD, HISTOGRAM_WORDS, mergeInto, quantile, SUM_WORD } from './latency-histogram.ts';
import { CLASSES, histogramBase, PROTOCOLS, slotsOf } from './metrics-words.ts';

/** One protocol and class: how many operations, and the quantiles of their latency, µs. */
export interface LatencySummary {
  count: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

/** The histogram of `protocol` and `cls` over every slot of `buffer` (a new array of HISTOGRAM_WORDS). */
export function mergedHistogram(buffer: SharedArrayBuffer, protocol: number, cls: number): Float64Array {
  const all = new Float64Array(buffer);
  const out = new Float64Array(HISTOGRAM_WORDS);
  for (let slot = 0; slot < slotsOf(buffer); slot++) mergeInto(out, 0, all, histogramBase(slot, protocol, cls));
  return out;
}

/** Count, sum (ns) of a merged histogram. */
export function countAndSum(h: Float64Array): { count: number; sumNs: number } {
  return { count: h[COUNT_WORD], sumNs: h[SUM_WORD] };
}

/** The summary of every protocol and class that has operations: `{ http: { read: {…} }, … }`. */
export function latencySummaries(buffer: SharedArrayBuffer): Record<string, Record<string, LatencySummary>> {
  const out: Record<string, Record<string, LatencySummary>> = {};
  for (let p = 0; p < PROTOCOLS.length; p++) {
    for (let c = 0; c < CLASSES.length; c++) {
      const h = mergedHistogram(buffer, p, c);
      if (!(h[COUNT_WORD] > 0)) continue;
      const us = (q: number): number => Math.round(quantile(h, 0, q) / 10) / 100;
      (out[PROTOCOLS[p]] ??= {})[CLASSES[c]] = { count: h[COUNT_WORD], p50Us: us(0.5), p99Us: us(0.99), p999Us: us(0.999) };
    }
  }
  return out;
}

/** Operations each server worker slot recorded, every protocol and class (the dashboard's per-thread rates). */
export function operationsBySlot(buffer: SharedArrayBuffer): number[] {
  const all = new Float64Array(buffer);
  const out: number[] = [];
  for (let slot = 0; slot < slotsOf(buffer); slot++) {
    let n = 0;
    for (let p = 0; p < PROTOCOLS.length; p++) for (let c = 0; c < CLASSES.length; c++) n += all[histogramBase(slot, p, c) + COUNT_WORD];
    out.push(n);
  }
  return out;
}
