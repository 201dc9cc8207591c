/**
 * Where the latency histograms live in the metrics buffer (made by the main thread with
 * {@link createMetricsBuffer}, one slot per server worker, handed to each worker with its
 * start data and kept across worker restarts, so the counts only grow): per slot, one
 * histogram (latency-histogram.ts) per protocol and operation class. Only this module knows
 * the offsets.
 *
 * @module
 */
import { HISTOGRAM_WORDS } from './latency-histogram.ts';

/** Protocol index of HTTP requests. */
export const PROTOCOL_HTTP = 0;
/** Protocol index of WebSocket requests. */
export const PROTOCOL_WS = 1;
/** Protocol index of RESP commands. */
export const PROTOCOL_RESP = 2;
/** Protocol names as metrics label them. */
export const PROTOCOLS = ['http', 'ws', 'resp'] as const;

/** Operation class: one key read (GET, HEAD, TTL …). */
export const CLASS_READ = 0;
/** Operation class: one key written (SET, DEL, INCR, EXPIRE …). */
export const CLASS_WRITE = 1;
/** Operation class: several keys (MGET, MSET, key pages, SCAN, KEYS). */
export const CLASS_BATCH = 2;
/** Operation class: anything else (PING, AUTH, INFO, WATCH …). */
export const CLASS_OTHER = 3;
/** Class names as metrics label them. */
export const CLASSES = ['read', 'write', 'batch', 'other'] as const;

/** Float64 words of one slot. */
const SLOT_WORDS = PROTOCOLS.length * CLASSES.length * HISTOGRAM_WORDS;

/** The Float64 word where the histogram of (`slot`, `protocol`, `cls`) starts. */
export function histogramBase(slot: number, protocol: number, cls: number): number {
  return slot * SLOT_WORDS + (protocol * CLASSES.length + cls) * HISTOGRAM_WORDS;
}

/** A zeroed metrics buffer for `slots` server workers. */
export function createMetricsBuffer(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * SLOT_WORDS * 8);
}

/** The slots a metrics buffer holds. */
export function slotsOf(buffer: SharedArrayBuffer): number {
  return buffer.byteLength / 8 / SLOT_WORDS;
}
