/**
 * What one server worker records into its slot of the metrics buffer (metrics-words.ts):
 * the time each operation took, by protocol and class, in its own histograms (no lock, no
 * allocation), and the slow ones in its ring of the slow log (slow-log.ts). Where the time
 * is taken: an HTTP request from its handler's start to its answer (the route guard and
 * body.ts's AsyncAnswer); a WebSocket message and a RESP read from the start of their
 * handling to the end of it, recorded once for each operation they carried (their answers
 * leave together, so each operation waited that long on the server). The slow log times
 * each RESP command alone, as Redis does.
 *
 * @module
 */
import { record } from './latency-histogram.ts';
import { CLASSES, histogramBase, PROTOCOL_HTTP, PROTOCOLS } from './metrics-words.ts';
import type { SlowLogWriter } from './slow-log.ts';
import type { HttpRequest, HttpResponse } from './uws-types.ts';

/** The time taken by an HTTP request answered later (AsyncAnswer): its class, start, and (with a slow log) what it was. */
export interface PendingTiming {
  cls: number;
  startMs: number;
  /** Method and URL, for the slow log; "" without one. */
  what: string;
}

const decoder = new TextDecoder();

/**
 * The client's address, or "" once its answer is sent (uWS then refuses to read it). Read
 * only for a slow request: it costs a getpeername system call.
 */
function addressOf(res: HttpResponse): string {
  try {
    return decoder.decode(res.getRemoteAddressAsText());
  } catch {
    return '';
  }
}

/** One worker's recorder. */
export class ThreadMetrics {
  private readonly h: Float64Array;
  private readonly bases: number[];
  /** The HTTP request being handled: its class (-1: not timed), start, and its timing when it answers later. */
  private httpClass = -1;
  private httpStartMs = 0;
  private httpPending: PendingTiming | null = null;
  /** Operations at least this long (ms) go to the slow log; Infinity: no slow log. */
  readonly slowMs: number;

  /**
   * @param buffer the metrics buffer (metrics-words.ts createMetricsBuffer)
   * @param slot this worker's slot (its index)
   * @param slowLog this worker's slow log writer; none: nothing is logged
   */
  constructor(buffer: SharedArrayBuffer, slot: number, readonly slowLog?: SlowLogWriter) {
    this.h = new Float64Array(buffer);
    this.bases = [];
    for (let p = 0; p < PROTOCOLS.length; p++) for (let c = 0; c < CLASSES.length; c++) this.bases.push(histogramBase(slot, p, c));
    this.slowMs = slowLog?.thresholdMs ?? Infinity;
  }

  /** Records `count` operations of `protocol` and class `cls` that took `ms` each (a performance.now() difference). */
  record(protocol: number, cls: number, ms: number, count = 1): void {
    record(this.h, this.bases[protocol * CLASSES.length + cls], Math.round(ms * 1e6), count);
  }

  /** Logs a slow operation (its caller compared `ms` with {@link slowMs}). */
  slow(protocol: number, ms: number, args: readonly (Uint8Array | string)[], client: string, clientName = ''): void {
    this.slowLog?.add(protocol, Math.round(ms * 1000), args, client, clientName);
  }

  /** Called by the route guard before an HTTP handler of class `cls` (-1: not timed) runs. */
  httpStart(cls: number): void {
    this.httpClass = cls;
    this.httpPending = null;
    if (cls >= 0) this.httpStartMs = performance.now();
  }

  /** Called by the route guard once the handler returned: records it unless it answers later. */
  httpEnd(res: HttpResponse, req: HttpRequest): void {
    const cls = this.httpClass;
    if (cls < 0) return;
    this.httpClass = -1;
    const pending = this.httpPending;
    if (pending !== null) {
      // It answers later, after `req` is gone: what it was is kept now when it may be slow.
      if (this.slowMs !== Infinity) pending.what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
      return;
    }
    const ms = performance.now() - this.httpStartMs;
    this.record(PROTOCOL_HTTP, cls, ms);
    if (ms >= this.slowMs) this.slow(PROTOCOL_HTTP, ms, [req.getMethod().toUpperCase(), req.getUrl()], addressOf(res));
  }

  /** Called when the request being handled will answer later: its timing, for {@link httpAnswered}; null when not timed. */
  httpDefer(): PendingTiming | null {
    if (this.httpClass < 0) return null;
    this.httpPending = { cls: this.httpClass, startMs: this.httpStartMs, what: '' };
    return this.httpPending;
  }

  /** Records an HTTP request answered later, before its answer is written (`res` still open). */
  httpAnswered(t: PendingTiming, res: HttpResponse): void {
    const ms = performance.now() - t.startMs;
    this.record(PROTOCOL_HTTP, t.cls, ms);
    if (ms >= this.slowMs) this.slow(PROTOCOL_HTTP, ms, t.what.split(' ', 2), addressOf(res));
  }
}
