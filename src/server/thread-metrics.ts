/**
 * What one server worker records into its slot of the metrics buffer (metrics-words.ts):
 * the time each operation took, by protocol and class, in its own histograms (no lock, no
 * allocation). Where the time is taken: an HTTP request from its handler's start to its
 * answer (the route guard and body.ts's AsyncAnswer); a WebSocket message and a RESP read
 * from the start of their handling to the end of it, recorded once for each operation they
 * carried (their answers leave together, so each operation waited that long on the server).
 *
 * @module
 */
import { record } from './latency-histogram.ts';
import { CLASSES, histogramBase, PROTOCOL_HTTP, PROTOCOLS } from './metrics-words.ts';

/** The time taken by an HTTP request answered later (AsyncAnswer): its class and start. */
export interface PendingTiming {
  cls: number;
  startMs: number;
}

/** One worker's recorder. */
export class ThreadMetrics {
  private readonly h: Float64Array;
  private readonly bases: number[];
  /** The HTTP request being handled: its class (-1: not timed), start, and whether it answers later. */
  private httpClass = -1;
  private httpStartMs = 0;
  private httpDeferred = false;

  /**
   * @param buffer the metrics buffer (metrics-words.ts createMetricsBuffer)
   * @param slot this worker's slot (its index)
   */
  constructor(buffer: SharedArrayBuffer, slot: number) {
    this.h = new Float64Array(buffer);
    this.bases = [];
    for (let p = 0; p < PROTOCOLS.length; p++) for (let c = 0; c < CLASSES.length; c++) this.bases.push(histogramBase(slot, p, c));
  }

  /** Records `count` operations of `protocol` and class `cls` that took `ms` each (a performance.now() difference). */
  record(protocol: number, cls: number, ms: number, count = 1): void {
    record(this.h, this.bases[protocol * CLASSES.length + cls], Math.round(ms * 1e6), count);
  }

  /** Called by the route guard before an HTTP handler of class `cls` (-1: not timed) runs. */
  httpStart(cls: number): void {
    this.httpClass = cls;
    this.httpDeferred = false;
    if (cls >= 0) this.httpStartMs = performance.now();
  }

  /** Called by the route guard once the handler returned: records it unless it answers later. */
  httpEnd(): void {
    if (this.httpClass >= 0 && !this.httpDeferred) this.record(PROTOCOL_HTTP, this.httpClass, performance.now() - this.httpStartMs);
    this.httpClass = -1;
  }

  /** Called when the request being handled will answer later: its timing, for {@link httpAnswered}; null when not timed. */
  httpDefer(): PendingTiming | null {
    if (this.httpClass < 0) return null;
    this.httpDeferred = true;
    return { cls: this.httpClass, startMs: this.httpStartMs };
  }

  /** Records an HTTP request answered later. */
  httpAnswered(t: PendingTiming): void {
    this.record(PROTOCOL_HTTP, t.cls, performance.now() - t.startMs);
  }
}
