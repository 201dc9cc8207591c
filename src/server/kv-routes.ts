/**
 * The data port's single-key API, registered on one worker's uWebSockets.js App. The full
 * contract (methods, headers, statuses, codes) is docs/http-api.md. In short:
 *
 * - `GET|HEAD /v1/kv/{key}`: the value, `ETag` (its version), `Sabcache-TTL` when it
 *   expires; 304 on a matching `If-None-Match`; 404 when absent or expired.
 * - `PUT /v1/kv/{key}?ttl=SECONDS`: store; `If-Match: "<version>"` (CAS) or `If-Match: *`
 *   (only if present) or `If-None-Match: *` (only if absent), 412 when it does not hold.
 * - `DELETE /v1/kv/{key}`; `PATCH /v1/kv/{key}?ttl=SECONDS` (0 = persist);
 *   `POST /v1/kv/{key}/incr|decr?by=N`, `POST /v1/kv/{key}/expire?ttl=SECONDS` (0 deletes),
 *   `POST /v1/kv/{key}/persist`.
 *
 * `{key}` is one path segment, percent-decoded to UTF-8. Errors are JSON (http-errors.ts).
 * Handlers never throw into uWS: every failure becomes a response.
 *
 * A value stored as a string is served as `text/plain; charset=utf-8`, an integer (from
 * incr/decr) too; bytes are served without Content-Type, which HTTP defines as
 * `application/octet-stream`.
 *
 * Corking: uWS corks the synchronous part of every handler itself, so answers given there
 * skip `cork` (each call into uWS costs, measured on the GET path); answers written later
 * (after a body arrived) go through {@link AsyncAnswer}, which corks them.
 *
 * HEAD, 204 and 304 answers carry `Content-Length: 0`: this uWebSockets.js build's
 * `endWithoutBody` sends nothing, so body-less answers use `end()`.
 *
 * @module
 */
import { BadKeyError, BadRequestError, BadTtlError, BadValueError, KeyTooLargeError, SabcacheError } from '../errors.ts';
import { EntryResult, entryTtlSeconds, MAX_TTL_SECONDS, VALUE_BYTES, versionEpoch } from '../commands/entry.ts';
import { getInto } from '../commands/read.ts';
import { RequestCounter } from '../commands/stats.ts';
import { decr, del, expire, incr, persist, set, type SetOptions, setWith } from '../commands/write.ts';
import type { SharedCache } from '../shared-cache.ts';
import { AsyncAnswer, readBody, sendError } from './body.ts';
import { etagBytes, formatEtag } from './etag.ts';
import { httpError, httpErrorFrom, NOT_FOUND_KEY, NOT_FOUND_ROUTE, PRECONDITION_FAILED } from './http-errors.ts';
import type { Cors } from './cors.ts';
import type { ServingState } from './serving-state.ts';
import type { App, HttpResponse } from './uws-types.ts';
import { CONTENT_TYPE, ETAG, HEADER_CONTENT_LENGTH, HEADER_IF_MATCH, HEADER_IF_NONE_MATCH, HEADER_TRANSFER_ENCODING, SABCACHE_TTL, STATUS_200, STATUS_204, STATUS_304, STATUS_404, TEXT_PLAIN_UTF8 } from './wire-strings.ts';
import { log } from './log.ts';

/**
 * Answers a request that changed the cache with `write`: in the handler (uWS corks it)
 * when nothing waits for the disk, else once the WAL has synced its change (corked, and
 * skipped if the client went away meanwhile).
 */
export function answerDurable(res: HttpResponse, state: ServingState, write: (res: HttpResponse, close: boolean) => void, close: boolean): void {
  if (!state.durableWaits) return write(res, close);
  const answer = new AsyncAnswer(res, state);
  state.afterDurable(() => answer.send(write, close));
}

const ALLOW_KEY = 'GET, HEAD, PUT, PATCH, DELETE';
const ACTIONS = new Set(['incr', 'decr', 'expire', 'persist']);
const BAD_REQUEST = (message: string): SabcacheError => new BadRequestError(message);

/** Decodes the raw `{key}` path segment; throws BadKeyError for bad percent-encoding or UTF-8. */
export function decodeKey(raw: string): string {
  if (raw.length === 0) throw new BadKeyError('the key is empty: use /v1/kv/{key}');
  if (raw.indexOf('%') < 0) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadKeyError('the key is not valid percent-encoded UTF-8');
  }
}

/** Parses `ttl`: absent/empty → `absent`, else whole seconds; throws BadTtlError. */
export function parseTtl(text: string | undefined, absent = 0): number {
  if (text === undefined || text === '') return absent;
  if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_TTL_SECONDS) {
    throw new BadTtlError(`ttl must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS}, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text);
}

/** Parses `by` for incr/decr: absent → 1; a decimal int64 (number when safe, else bigint). */
function parseBy(text: string | undefined): number | bigint {
  if (text === undefined || text === '') return 1;
  if (!/^-?\d{1,19}$/.test(text)) throw new BadValueError(`by must be a whole number (64-bit signed), got ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** Turns PUT's conditional headers into set options; throws for forms not supported. */
function conditionsFrom(ifMatch: string, ifNoneMatch: string, options: SetOptions): void {
  if (ifMatch !== '' && ifNoneMatch !== '') throw BAD_REQUEST('give either If-Match or If-None-Match, not both');
  if (ifNoneMatch !== '') {
    if (ifNoneMatch.trim() !== '*') throw BAD_REQUEST('on PUT, If-None-Match supports only *');
    options.ifAbsent = true;
  } else if (ifMatch !== '') {
    const m = ifMatch.trim();
    if (m === '*') options.ifPresent = true;
    else if (/^"[^",]*"$/.test(m)) options.ifVersion = m.slice(1, -1);
    else throw BAD_REQUEST('If-Match takes one strong ETag ("…") or *');
  }
}

/** Whether a request carries a body we do not read (so its connection must close after). */
function hasUnreadBody(lengthText: string, transferEncoding: string): boolean {
  return (lengthText !== '' && lengthText !== '0') || transferEncoding !== '';
}

/** Registers the single-key API on `app`, serving from this thread's attachment to `cache`. */
export function registerKvRoutes(app: App, cache: SharedCache, state: ServingState, cors: Cors): void {
  const cx = cache.commands;
  const requests = new RequestCounter(cx);
  const maxKeyBytes = cx.maxKeyBytes;
  const maxValueBytes = cx.maxValueBytes;
  const epoch = versionEpoch(cx);
  // This thread's results: what a GET found, what a write made (reused, allocation-free).
  const found = new EntryResult();
  const written = new EntryResult();
  // One scratch buffer per thread for values on their way out: a GET copies the value from
  // shared memory here (under the seqlock) and uWS copies it to the socket. It grows to the
  // largest value served, up to maxValueBytes.
  let scratch = new Uint8Array(64 * 1024);

  /** Reads `key`'s value into scratch (and `found`); returns its length or -1. */
  function readValue(key: string): number {
    for (;;) {
      const n = getInto(cx, key, scratch, 0, found);
      if (n <= scratch.length) return n;
      scratch = new Uint8Array(Math.min(2 ** Math.ceil(Math.log2(n)), Math.max(maxValueBytes, n)));
    }
  }

  function getOrHead(res: HttpResponse, raw: string, ifNoneMatch: string, head: boolean): void {
    requests.count();
    const close = state.draining;
    let n: number;
    try {
      const key = decodeKey(raw);
      n = head ? getInto(cx, key, EMPTY, 0, found) : readValue(key);
    } catch (e) {
      return sendError(res, httpErrorFrom(e), close);
    }
    if (n < 0) {
      if (head) {
        res.writeStatus(STATUS_404).end(undefined, close);
        return;
      }
      return sendError(res, NOT_FOUND_KEY, close);
    }
    const counter = found.version;
    if (ifNoneMatch !== '') {
      // A conditional GET needs the ETag as a string to compare: the 304 sends that string.
      const etag = formatEtag(epoch, counter);
      if (ifNoneMatch === etag) {
        res.writeStatus(STATUS_304).writeHeader(ETAG, etag).end(undefined, close);
        return;
      }
    }
    res.writeStatus(STATUS_200).writeHeader(ETAG, etagBytes(epoch, counter));
    if (found.type !== VALUE_BYTES) res.writeHeader(CONTENT_TYPE, TEXT_PLAIN_UTF8);
    if (found.expireAt !== 0) res.writeHeader(SABCACHE_TTL, String(entryTtlSeconds(cx, found)));
    res.end(head ? undefined : scratch.subarray(0, n), close);
  }

  /** Decodes and checks a key before its body is read (so a bad key costs no body). */
  function checkedKey(raw: string): string {
    const key = decodeKey(raw);
    // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys skip the count.
    if (key.length * 3 > maxKeyBytes && Buffer.byteLength(key, 'utf8') > maxKeyBytes) throw new KeyTooLargeError(maxKeyBytes);
    return key;
  }

  app.get('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    getOrHead(res, req.getParameter(0), req.getHeader(HEADER_IF_NONE_MATCH), false);
  });

  app.head('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    getOrHead(res, req.getParameter(0), req.getHeader(HEADER_IF_NONE_MATCH), true);
  });

  app.put('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    // Everything needed from `req` is read now: it is invalid once this handler returns.
    const raw = req.getParameter(0);
    const ttlText = req.getQuery('ttl');
    const lengthText = req.getHeader(HEADER_CONTENT_LENGTH);
    const ifMatch = req.getHeader(HEADER_IF_MATCH);
    const ifNoneMatch = req.getHeader(HEADER_IF_NONE_MATCH);
    const answer = new AsyncAnswer(res, state);
    let key: string;
    let ttlSeconds: number;
    // Only a conditional PUT needs options (and SharedCache.set's checks of them).
    let options: SetOptions | undefined;
    try {
      key = checkedKey(raw);
      ttlSeconds = parseTtl(ttlText);
      if (ifMatch !== '' || ifNoneMatch !== '') {
        options = { ttlSeconds };
        conditionsFrom(ifMatch, ifNoneMatch, options);
      }
    } catch (e) {
      // The body is not read: close the connection after answering.
      return answer.error(httpErrorFrom(e), true);
    }
    readBody(res, answer, lengthText, maxValueBytes, (body) => {
      if (options === undefined) set(cx, key, body, ttlSeconds, written);
      else if (!setWith(cx, key, body, options, written)) return answer.error(PRECONDITION_FAILED);
      const counter = written.version;
      state.afterDurable(() => answer.send((r, close) => r.writeStatus(STATUS_204).writeHeader(ETAG, etagBytes(epoch, counter)).end(undefined, close)));
    });
  });

  app.patch('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const close = state.draining || hasUnreadBody(req.getHeader(HEADER_CONTENT_LENGTH), req.getHeader(HEADER_TRANSFER_ENCODING));
    let found: boolean;
    try {
      const key = decodeKey(req.getParameter(0));
      const ttl = parseTtl(req.getQuery('ttl'), -1);
      if (ttl < 0) throw new BadTtlError('PATCH needs ?ttl=SECONDS (0 removes the TTL)');
      found = ttl === 0 ? persist(cx, key) : expire(cx, key, ttl);
    } catch (e) {
      return sendError(res, httpErrorFrom(e), close);
    }
    if (!found) return sendError(res, NOT_FOUND_KEY, close);
    answerDurable(res, state, NO_CONTENT, close);
  });

  app.del('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const close = state.draining;
    let removed: boolean;
    try {
      removed = del(cx, decodeKey(req.getParameter(0)));
    } catch (e) {
      return sendError(res, httpErrorFrom(e), close);
    }
    if (!removed) return sendError(res, NOT_FOUND_KEY, close);
    answerDurable(res, state, NO_CONTENT, close);
  });

  app.post('/v1/kv/:key/:action', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const action = req.getParameter(1);
    const close = state.draining || hasUnreadBody(req.getHeader(HEADER_CONTENT_LENGTH), req.getHeader(HEADER_TRANSFER_ENCODING));
    if (!ACTIONS.has(action)) return sendError(res, NOT_FOUND_ROUTE, close);
    try {
      const key = decodeKey(req.getParameter(0));
      if (action === 'incr' || action === 'decr') {
        const by = parseBy(req.getQuery('by'));
        const value = String(action === 'incr' ? incr(cx, key, by, written) : decr(cx, key, by, written));
        const counter = written.version;
        answerDurable(res, state, (r, c) => r.writeStatus(STATUS_200).writeHeader(ETAG, etagBytes(epoch, counter)).writeHeader(CONTENT_TYPE, TEXT_PLAIN_UTF8).end(value, c), close);
        return;
      }
      let found: boolean;
      if (action === 'persist') found = persist(cx, key);
      else {
        const ttl = parseTtl(req.getQuery('ttl'), -1);
        if (ttl < 0) throw new BadTtlError('expire needs ?ttl=SECONDS (0 deletes the key)');
        found = expire(cx, key, ttl);
      }
      if (!found) return sendError(res, NOT_FOUND_KEY, close);
      answerDurable(res, state, NO_CONTENT, close);
    } catch (e) {
      if (!(e instanceof SabcacheError)) log.error({ err: e }, 'request failed');
      sendError(res, httpErrorFrom(e), close);
    }
  });

  app.any('/v1/kv/:key/:action', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    if (!ACTIONS.has(req.getParameter(1))) return sendError(res, NOT_FOUND_ROUTE, state.draining);
    res.writeStatus(METHOD_NOT_ALLOWED_POST.status).writeHeader('Allow', 'POST').writeHeader('Content-Type', 'application/json').end(METHOD_NOT_ALLOWED_POST.body, state.draining);
  });

  app.any('/v1/kv/:key', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    res.writeStatus(METHOD_NOT_ALLOWED.status).writeHeader('Allow', ALLOW_KEY).writeHeader('Content-Type', 'application/json').end(METHOD_NOT_ALLOWED.body, state.draining);
  });
}

const EMPTY = new Uint8Array(0);
const NO_CONTENT = (r: HttpResponse, close: boolean): void => {
  r.writeStatus(STATUS_204).end(undefined, close);
};
const METHOD_NOT_ALLOWED = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', `allowed methods: ${ALLOW_KEY}`);
const METHOD_NOT_ALLOWED_POST = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', 'allowed methods: POST');
