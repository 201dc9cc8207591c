/**
 * Answering a uWS request after its handler returned, and reading a bounded request body.
 *
 * @module
 */
import { BadRequestError, SabcacheError, ValueTooLargeError } from '../errors.ts';
import { type HttpError, httpErrorFrom } from './http-errors.ts';
import type { ServingState } from './serving-state.ts';
import type { PendingTiming } from './thread-metrics.ts';
import type { HttpResponse } from './uws-types.ts';
import { APPLICATION_JSON, CONTENT_TYPE } from './wire-strings.ts';
import { log } from './log.ts';

/** Answers with a JSON error (in a handler's synchronous part, which uWS has corked). */
export function sendError(res: HttpResponse, e: HttpError, closeConnection: boolean): void {
  res.writeStatus(e.status).writeHeader(CONTENT_TYPE, APPLICATION_JSON).end(e.body, closeConnection);
}

/**
 * An answer sent later (after the body arrived). Registers `onAborted` at once, as uWS
 * requires before anything goes async, and counts the request as in flight until answered.
 */
export class AsyncAnswer {
  private done = false;
  /** The request's timing, recorded when it is answered (thread-metrics.ts); null when not timed. */
  private readonly timing: PendingTiming | null;

  constructor(private readonly res: HttpResponse, private readonly state: ServingState) {
    state.inFlight++;
    this.timing = state.metrics?.httpDefer() ?? null;
    res.onAborted(() => this.settle());
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.state.inFlight--;
    return true;
  }

  /** Writes the answer with `write` (corked), unless the client is gone or it was answered. */
  send(write: (res: HttpResponse, close: boolean) => void, closeConnection = false): void {
    if (!this.settle()) return;
    if (this.timing !== null) this.state.metrics!.httpAnswered(this.timing, this.res);
    const close = closeConnection || this.state.draining;
    // Answers written outside the handler's synchronous part must be corked.
    this.res.cork(() => write(this.res, close));
  }

  /** Answers with a JSON error. */
  error(e: HttpError, closeConnection = false): void {
    this.send((res, close) => sendError(res, e, close), closeConnection);
  }

  /** Answers with whatever `e` maps to (http-errors.ts); logs what is not a SabcacheError. */
  fail(e: unknown): void {
    if (!(e instanceof SabcacheError)) log.error({ err: e }, 'request failed');
    this.error(httpErrorFrom(e));
  }

  get answered(): boolean {
    return this.done;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * A Content-Length value: 1 to 15 decimal digits, else -1. A loop over the characters: on
 * the PUT path a regular expression and `Number()` (a call into the runtime, which hashes
 * the string) showed in a profile of bench:http's PUT.
 */
export function parseContentLength(text: string): number {
  const n = text.length;
  if (n === 0 || n > 15) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Reads the body of the request `answer` belongs to, at most `limitBytes`, then calls
 * `onBody` with it. The bytes are valid only until `onBody` returns (they may be uWS's own
 * receive buffer): copy what must outlive the call. `lengthText` is its Content-Length
 * header ('' when absent: chunked). A declared length over the limit is refused before any
 * byte is read; a body that streams past it is refused as soon as it does; both close the
 * connection (the rest is not read).
 * @param tooLarge - the error to answer with when the body is over the limit.
 */
export function readBody(res: HttpResponse, answer: AsyncAnswer, lengthText: string, limitBytes: number, onBody: (body: Uint8Array) => void, tooLarge: () => SabcacheError = () => new ValueTooLargeError(limitBytes)): void {
  let declared = -1;
  if (lengthText !== '') {
    declared = parseContentLength(lengthText);
    if (declared < 0) return answer.error(httpErrorFrom(new BadRequestError('Content-Length is not a number')), true);
    if (declared > limitBytes) return answer.error(httpErrorFrom(tooLarge()), true);
  }
  // Sized from Content-Length when given (bounded above); otherwise grown as it streams.
  // Allocated only when the body comes in more than one chunk.
  let body = EMPTY;
  let received = 0;
  res.onData((chunk, isLast) => {
    if (answer.answered) return;
    const bytes = new Uint8Array(chunk); // valid only during this callback
    if (received + bytes.length > limitBytes) return answer.error(httpErrorFrom(tooLarge()), true);
    let whole: Uint8Array;
    if (isLast && received === 0) {
      // The whole body in one chunk (the common case): handed over without a copy, which
      // is why onBody may not keep it past its return.
      whole = bytes;
    } else {
      if (body === EMPTY && declared > 0) body = new Uint8Array(declared);
      if (received + bytes.length > body.length) {
        const grown = new Uint8Array(Math.min(limitBytes, Math.max(received + bytes.length, body.length * 2, 4096)));
        grown.set(body.subarray(0, received));
        body = grown;
      }
      body.set(bytes, received);
      received += bytes.length;
      if (!isLast) return;
      whole = received === body.length ? body : body.subarray(0, received);
    }
    try {
      onBody(whole);
    } catch (e) {
      answer.fail(e);
    }
  });
}
