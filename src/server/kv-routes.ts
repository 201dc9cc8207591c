/**
 * The data port's key API, registered on one worker's uWebSockets.js App:
 *
 * - `GET /v1/kv/{key}` → 200 with the stored bytes and an `ETag` (the entry's version);
 *   304 when `If-None-Match` names the current version; 404 when absent or expired.
 * - `HEAD /v1/kv/{key}` → the same status, ETag and Content-Type, no body. Its
 *   Content-Length is 0, not the value's length: this uWebSockets.js build's
 *   `endWithoutBody` sends nothing, so body-less answers (HEAD, 204, 304) all use `end()`.
 * - `PUT /v1/kv/{key}?ttl=SECONDS` → 204 with `ETag`. The body is checked against the
 *   value limit from `Content-Length` and again while it streams, before it is all held.
 * - `DELETE /v1/kv/{key}` → 204, or 404 when there was nothing to delete.
 *
 * `{key}` is one path segment, percent-decoded to UTF-8. Errors are JSON (http-errors.ts).
 * Handlers never throw into uWS: every failure becomes a response.
 *
 * A value stored as a string is served as `text/plain; charset=utf-8`; bytes are served
 * without Content-Type, which HTTP defines as `application/octet-stream`.
 *
 * Corking: uWS corks the synchronous part of every handler itself, so GET, HEAD and DELETE
 * answer without `cork` (each call into uWS costs, measured on the GET path); answers
 * written later (a PUT's, from `onData`) are corked explicitly.
 *
 * @module
 */
import { BadKeyError, BadTtlError, KeyTooLargeError, SabcacheError, ValueTooLargeError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import { C_REQUESTS, TYPE_STRING } from '../table/layout.ts';
import { MAX_TTL_SECONDS } from '../table/table.ts';
import { type HttpError, httpError, httpErrorFrom, NOT_FOUND_KEY, NOT_FOUND_ROUTE } from './http-errors.ts';
import type { App, HttpResponse } from './uws.ts';

/** Lifecycle state a worker shares with its routes. */
export interface ServingState {
  /** Requests whose response has not been sent yet (PUT bodies still streaming). */
  inFlight: number;
  /**
   * Set when the worker is stopping: requests on open connections are still served, each
   * answer closing its connection, so clients reconnect to another worker.
   */
  draining: boolean;
}

const ALLOW = 'GET, HEAD, PUT, DELETE';
const TYPE_TEXT = 'text/plain; charset=utf-8';

/** Decodes the raw `{key}` path segment; throws BadKeyError for bad percent-encoding or UTF-8. */
function decodeKey(raw: string): string {
  if (raw.length === 0) throw new BadKeyError('the key is empty: use /v1/kv/{key}');
  if (raw.indexOf('%') < 0) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadKeyError('the key is not valid percent-encoded UTF-8');
  }
}

/** Formats an entry's version (segment generation, ref) as a strong ETag. */
export function formatEtag(generation: number, ref: number): string {
  return `"${(generation >>> 0).toString(36)}.${(ref >>> 0).toString(36)}"`;
}

/** Answers with a JSON error (in a handler's synchronous part, which uWS has corked). */
function sendError(res: HttpResponse, e: HttpError, closeConnection: boolean): void {
  res.writeStatus(e.status).writeHeader('Content-Type', 'application/json').end(e.body, closeConnection);
}

/** Parses `ttl`: absent/empty → 0, else whole seconds; throws BadTtlError. */
function parseTtl(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_TTL_SECONDS) {
    throw new BadTtlError(`ttl must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS}, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text);
}

/** Registers the key API on `app`, serving from this thread's attachment to `cache`. */
export function registerKvRoutes(app: App, cache: SharedCache, state: ServingState): void {
  const table = cache.table;
  const f64 = table.v.f64;
  const requestsSlot = table.counters + C_REQUESTS;
  const maxKeyBytes = table.v.maxKeyBytes;
  const maxValueBytes = table.v.maxValueBytes;
  // One scratch buffer per thread for values on their way out: a GET copies the value from
  // shared memory here (under the seqlock) and uWS copies it to the socket. It grows to the
  // largest value served, up to maxValueBytes.
  let scratch = new Uint8Array(64 * 1024);

  /** Reads the encoded key into scratch; returns its length or -1. */
  function readValue(): number {
    for (;;) {
      const n = table.readEncodedInto(scratch);
      if (n <= scratch.length) return n;
      scratch = new Uint8Array(Math.min(2 ** Math.ceil(Math.log2(n)), Math.max(maxValueBytes, n)));
    }
  }

  function getOrHead(res: HttpResponse, raw: string, ifNoneMatch: string, head: boolean): void {
    f64[requestsSlot]++;
    const close = state.draining;
    let n: number;
    try {
      table.codec.encode(decodeKey(raw));
      n = head ? table.readEncodedInto(EMPTY) : readValue();
    } catch (e) {
      return sendError(res, httpErrorFrom(e), close);
    }
    if (n < 0) {
      if (head) {
        res.writeStatus('404 Not Found').end(undefined, close);
        return;
      }
      return sendError(res, NOT_FOUND_KEY, close);
    }
    const etag = formatEtag(table.lastGeneration, table.lastRef);
    if (ifNoneMatch !== '' && ifNoneMatch === etag) {
      res.writeStatus('304 Not Modified').writeHeader('ETag', etag).end(undefined, close);
      return;
    }
    res.writeStatus('200 OK').writeHeader('ETag', etag);
    if (table.lastValueType === TYPE_STRING) res.writeHeader('Content-Type', TYPE_TEXT);
    res.end(head ? undefined : scratch.subarray(0, n), close);
  }

  app.get('/v1/kv/:key', (res, req) => {
    getOrHead(res, req.getParameter(0), req.getHeader('if-none-match'), false);
  });

  app.head('/v1/kv/:key', (res, req) => {
    getOrHead(res, req.getParameter(0), req.getHeader('if-none-match'), true);
  });

  app.put('/v1/kv/:key', (res, req) => {
    f64[requestsSlot]++;
    // Everything needed from `req` is read now: it is invalid once this handler returns.
    const raw = req.getParameter(0);
    const ttlText = req.getQuery('ttl');
    const lengthText = req.getHeader('content-length');
    let done = false;
    // Registered before anything can go async (uWS requires it).
    res.onAborted(() => {
      if (!done) state.inFlight--;
      done = true;
    });
    state.inFlight++;
    const finish = (e: HttpError | undefined, etag?: string, closeConnection = false): void => {
      if (done) return;
      done = true;
      state.inFlight--;
      const close = closeConnection || state.draining;
      // Answers from onData run outside the handler's own cork: cork them.
      res.cork(() => {
        if (e) sendError(res, e, close);
        else res.writeStatus('204 No Content').writeHeader('ETag', etag!).end(undefined, close);
      });
    };
    let key: string;
    let ttlSeconds: number;
    let declared = -1;
    try {
      key = decodeKey(raw);
      if (Buffer.byteLength(key, 'utf8') > maxKeyBytes) throw new KeyTooLargeError(maxKeyBytes);
      ttlSeconds = parseTtl(ttlText);
      if (lengthText !== '') {
        if (!/^\d{1,15}$/.test(lengthText)) throw new SabcacheError('SABCACHE_ERR_BAD_REQUEST', 'Content-Length is not a number');
        declared = Number(lengthText);
        if (declared > maxValueBytes) throw new ValueTooLargeError(maxValueBytes);
      }
    } catch (e) {
      // The body is not read: close the connection after answering.
      return finish(httpErrorFrom(e), undefined, true);
    }
    // Sized from Content-Length when given (bounded above); otherwise grown as it streams.
    let body = new Uint8Array(declared >= 0 ? declared : 0);
    let received = 0;
    res.onData((chunk, isLast) => {
      if (done) return;
      const bytes = new Uint8Array(chunk); // valid only during this callback: copied below
      if (received + bytes.length > maxValueBytes) return finish(httpErrorFrom(new ValueTooLargeError(maxValueBytes)), undefined, true);
      if (received + bytes.length > body.length) {
        const grown = new Uint8Array(Math.min(maxValueBytes, Math.max(received + bytes.length, body.length * 2, 4096)));
        grown.set(body.subarray(0, received));
        body = grown;
      }
      body.set(bytes, received);
      received += bytes.length;
      if (!isLast) return;
      try {
        cache.set(key, received === body.length ? body : body.subarray(0, received), { ttlSeconds });
        finish(undefined, formatEtag(table.lastGeneration, table.lastRef));
      } catch (e) {
        if (!(e instanceof SabcacheError)) console.error('sabcache: PUT failed:', e);
        finish(httpErrorFrom(e));
      }
    });
  });

  app.del('/v1/kv/:key', (res, req) => {
    f64[requestsSlot]++;
    const close = state.draining;
    let removed: boolean;
    try {
      removed = cache.delete(decodeKey(req.getParameter(0)));
    } catch (e) {
      return sendError(res, httpErrorFrom(e), close);
    }
    if (!removed) return sendError(res, NOT_FOUND_KEY, close);
    res.writeStatus('204 No Content').end(undefined, close);
  });

  app.any('/v1/kv/:key', (res) => {
    f64[requestsSlot]++;
    res.writeStatus(METHOD_NOT_ALLOWED.status).writeHeader('Allow', ALLOW).writeHeader('Content-Type', 'application/json').end(METHOD_NOT_ALLOWED.body, state.draining);
  });

  app.any('/*', (res) => {
    f64[requestsSlot]++;
    sendError(res, NOT_FOUND_ROUTE, state.draining);
  });
}

const EMPTY = new Uint8Array(0);
const METHOD_NOT_ALLOWED = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', `allowed methods: ${ALLOW}`);
