/**
 * Batch and listing routes of the data port (formats in docs/http-api.md):
 *
 * - `POST /v1/mget`: JSON `{ "keys": [...] }` → `{ "values": [string | null, ...] }`; or,
 *   with `Content-Type: application/octet-stream`, keys as `[u16 length][bytes]…` → values as
 *   `[i32 length (-1 = absent)][bytes]…` (little-endian), which keeps bytes exact.
 * - `POST /v1/mset`: JSON `{ "entries": [{ "key", "value", "ttl"? }] }`, or binary
 *   `[u16 key length][key][u32 ttl][u32 value length][value]…` → `{ "versions": [...] }`.
 * - `GET /v1/keys?prefix=&match=&cursor=&count=` → `{ "keys": [...], "cursor": "..." }` (SCAN; `match`: a Redis glob).
 * - Any other path: JSON 404.
 *
 * A batch holds at most {@link MAX_BATCH_KEYS} keys and its body at most
 * {@link MAX_BATCH_BYTES}. Its answer is built within `--max-response-bytes`: values are
 * copied one by one while the total stays under the budget, and the first that would pass
 * it ends the request with 413 `SABCACHE_ERR_RESPONSE_TOO_LARGE` (nothing more is copied).
 * A batch body must be `application/json` or `application/octet-stream`: a form or
 * `text/plain` body (which a browser page sends cross-site without a preflight) gets 415.
 * Each entry of a batch is atomic on its own, not the batch.
 *
 * @module
 */
import fastJson from 'fast-json-stringify';
import { BadRequestError, KeyTooLargeError, ResponseTooLargeError, SabcacheError, UnsupportedMediaTypeError, ValueTooLargeError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import { EntryResult } from '../commands/entry.ts';
import { getInto } from '../commands/read.ts';
import { scan } from '../commands/scan.ts';
import { RequestCounter } from '../commands/stats.ts';
import { setMany } from '../commands/write.ts';
import { AsyncAnswer, readBody, sendError } from './body.ts';
import { httpError, httpErrorFrom, NOT_FOUND_ROUTE } from './http-errors.ts';
import type { ServingState } from './serving-state.ts';
import { parseTtl } from './kv-routes.ts';
import type { Cors } from './cors.ts';
import type { App } from './uws-types.ts';
import { globPrefix, globRegExp } from './redis-glob.ts';

/** Most keys in one mget or mset. */
export const MAX_BATCH_KEYS = 1000;
/** Largest mget/mset body, in bytes (16 MiB). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

const stringifyValues = fastJson({ type: 'object', properties: { values: { type: 'array', items: { type: ['string', 'null'] } } } });
const stringifyVersions = fastJson({ type: 'object', properties: { versions: { type: 'array', items: { type: 'string' } } } });
const stringifyKeys = fastJson({ type: 'object', properties: { keys: { type: 'array', items: { type: 'string' } }, cursor: { type: 'string' } } });

const badBatch = (message: string): SabcacheError => new BadRequestError(message);
const tooLarge = (): SabcacheError => new ValueTooLargeError(MAX_BATCH_BYTES);

/** Parses mget's binary body: `[u16 length][bytes]…`. */
function parseBinaryKeys(body: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.length;) {
    if (at + 2 > body.length) throw badBatch('truncated key length');
    const len = view.getUint16(at, true);
    at += 2;
    if (at + len > body.length) throw badBatch('truncated key');
    keys.push(body.subarray(at, at + len));
    at += len;
    if (keys.length > MAX_BATCH_KEYS) throw badBatch(`at most ${MAX_BATCH_KEYS} keys per batch`);
  }
  return keys;
}

/** Parses mset's binary body: `[u16 key length][key][u32 ttl][u32 value length][value]…`. */
function parseBinaryEntries(body: Uint8Array): { key: Uint8Array; value: Uint8Array; ttlSeconds: number }[] {
  const entries: { key: Uint8Array; value: Uint8Array; ttlSeconds: number }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.length;) {
    if (at + 2 > body.length) throw badBatch('truncated key length');
    const keyLen = view.getUint16(at, true);
    at += 2;
    if (at + keyLen + 8 > body.length) throw badBatch('truncated entry');
    const key = body.subarray(at, at + keyLen);
    at += keyLen;
    const ttlSeconds = view.getUint32(at, true);
    const valueLen = view.getUint32(at + 4, true);
    at += 8;
    if (at + valueLen > body.length) throw badBatch('truncated value');
    entries.push({ key, value: body.subarray(at, at + valueLen), ttlSeconds });
    at += valueLen;
    if (entries.length > MAX_BATCH_KEYS) throw badBatch(`at most ${MAX_BATCH_KEYS} entries per batch`);
  }
  return entries;
}

/**
 * Whether a batch body is binary (octet-stream) or JSON, from its Content-Type.
 * @throws UnsupportedMediaTypeError (`SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE`) for any other.
 */
function isBinaryBody(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/octet-stream') return true;
  if (type === 'application/json') return false;
  throw new UnsupportedMediaTypeError(contentType);
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw badBatch('the body is not valid UTF-8 JSON');
  }
}

/** Registers the batch and listing routes, and (with `catchAll`, the default) the catch-all 404, on `app`. */
export function registerBatchRoutes(app: App, cache: SharedCache, state: ServingState, cors: Cors, maxResponseBytes: number, catchAll = true): void {
  const cx = cache.commands;
  const requests = new RequestCounter(cx);
  const maxKeyBytes = cx.maxKeyBytes;
  const maxValueBytes = cx.maxValueBytes;
  const found = new EntryResult();
  const decoder = new TextDecoder();
  /** The binary mget answer being built; grows up to the budget, then is reused. */
  let out: Uint8Array = new Uint8Array(64 * 1024);

  /**
   * Copies the values of `keys` into `out` as `[i32 length (-1 = absent)][bytes]…`, each
   * straight from shared memory, stopping at the budget. Returns the answer's length.
   * @throws ResponseTooLargeError when the next value would pass `maxResponseBytes`.
   */
  function readValues(keys: readonly (string | Uint8Array)[]): number {
    let at = 0;
    for (const key of keys) {
      if (at + 4 > maxResponseBytes) throw new ResponseTooLargeError(maxResponseBytes);
      if (at + 4 > out.length) out = grow(out, at, at + 4, maxResponseBytes);
      let n = getInto(cx, key, out, at + 4, found);
      // Nothing is copied when the value does not fit: the budget is checked before it grows.
      while (n > out.length - at - 4) {
        if (at + 4 + n > maxResponseBytes) throw new ResponseTooLargeError(maxResponseBytes);
        out = grow(out, at, at + 4 + n, maxResponseBytes);
        n = getInto(cx, key, out, at + 4, found);
      }
      if (at + 4 + Math.max(n, 0) > maxResponseBytes) throw new ResponseTooLargeError(maxResponseBytes);
      setInt32LE(out, at, n);
      at += 4 + Math.max(n, 0);
    }
    return at;
  }

  app.post('/v1/mget', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const answer = new AsyncAnswer(res, state);
    let binary: boolean;
    try {
      binary = isBinaryBody(req.getHeader('content-type'));
    } catch (e) {
      return answer.error(httpErrorFrom(e), true);
    }
    readBody(res, answer, req.getHeader('content-length'), MAX_BATCH_BYTES, (body) => {
      if (binary) {
        const length = readValues(parseBinaryKeys(body));
        const bytes = out.subarray(0, length); // uWS copies it during end()
        return answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/octet-stream').end(bytes, close));
      }
      const parsed = parseJson(body) as { keys?: unknown };
      if (!parsed || !Array.isArray(parsed.keys) || !parsed.keys.every((k) => typeof k === 'string')) throw badBatch('expected { "keys": [string, ...] }');
      if (parsed.keys.length > MAX_BATCH_KEYS) throw badBatch(`at most ${MAX_BATCH_KEYS} keys per batch`);
      // The values' bytes are copied within the budget first; the JSON text (escapes can
      // make it longer) is checked against the budget again.
      const length = readValues(parsed.keys as string[]);
      const view = new DataView(out.buffer);
      const values: (string | null)[] = [];
      for (let at = 0; at < length;) {
        const n = view.getInt32(at, true);
        at += 4;
        values.push(n < 0 ? null : decoder.decode(out.subarray(at, at + n)));
        at += Math.max(n, 0);
      }
      const text = stringifyValues({ values });
      if (Buffer.byteLength(text) > maxResponseBytes) throw new ResponseTooLargeError(maxResponseBytes);
      answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(text, close));
    }, tooLarge);
  });

  app.post('/v1/mset', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const answer = new AsyncAnswer(res, state);
    let binary: boolean;
    try {
      binary = isBinaryBody(req.getHeader('content-type'));
    } catch (e) {
      return answer.error(httpErrorFrom(e), true);
    }
    readBody(res, answer, req.getHeader('content-length'), MAX_BATCH_BYTES, (body) => {
      let entries: { key: string | Uint8Array; value: string | Uint8Array; ttlSeconds: number }[];
      if (binary) entries = parseBinaryEntries(body);
      else {
        const parsed = parseJson(body) as { entries?: unknown };
        if (!parsed || !Array.isArray(parsed.entries)) throw badBatch('expected { "entries": [{ "key", "value", "ttl"? }, ...] }');
        if (parsed.entries.length > MAX_BATCH_KEYS) throw badBatch(`at most ${MAX_BATCH_KEYS} entries per batch`);
        entries = parsed.entries.map((e: { key?: unknown; value?: unknown; ttl?: unknown }) => {
          if (!e || typeof e.key !== 'string' || typeof e.value !== 'string') throw badBatch('each entry needs a string "key" and a string "value"');
          if (e.ttl !== undefined && typeof e.ttl !== 'number') throw badBatch('"ttl" must be a number of seconds');
          return { key: e.key, value: e.value, ttlSeconds: e.ttl === undefined ? 0 : parseTtl(String(e.ttl)) };
        });
      }
      // Check every entry before storing any, so a bad batch changes nothing.
      for (const e of entries) {
        const keyBytes = typeof e.key === 'string' ? Buffer.byteLength(e.key, 'utf8') : e.key.length;
        if (keyBytes > maxKeyBytes) throw new KeyTooLargeError(maxKeyBytes);
        const valueBytes = typeof e.value === 'string' ? Buffer.byteLength(e.value, 'utf8') : e.value.length;
        if (valueBytes > maxValueBytes) throw new ValueTooLargeError(maxValueBytes);
        parseTtl(String(e.ttlSeconds));
      }
      const versions = setMany(cx, entries);
      const text = stringifyVersions({ versions });
      state.afterDurable(() => answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(text, close)));
    }, tooLarge);
  });

  app.get('/v1/keys', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    const close = state.draining;
    try {
      const countText = req.getQuery('count');
      const count = countText ? Number(countText) : 100;
      const match = req.getQuery('match') ?? '';
      // The literal start of a glob narrows the walk as a prefix does (SCAN MATCH's keys
      // are then filtered: a page may hold fewer than count, or none, before the end).
      const prefix = req.getQuery('prefix') || globPrefix(match);
      const page = scan(cx, { prefix, cursor: req.getQuery('cursor') || '0', count: Number.isInteger(count) ? count : -1 });
      if (match !== '') {
        // Matched byte by byte, as Redis matches: both sides as the latin1 text of their UTF-8.
        const re = globRegExp(Buffer.from(match).toString('latin1'));
        page.keys = page.keys.filter((k) => re.test(Buffer.from(k).toString('latin1')));
      }
      const text = stringifyKeys(page);
      if (Buffer.byteLength(text) > maxResponseBytes) throw new ResponseTooLargeError(maxResponseBytes, 'this page of keys (ask for a smaller count)');
      res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(text, close);
    } catch (e) {
      sendError(res, httpErrorFrom(e), close);
    }
  });

  for (const [path, allow] of [['/v1/mget', 'POST'], ['/v1/mset', 'POST'], ['/v1/keys', 'GET']] as const) {
    const e = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', `allowed methods: ${allow}`);
    app.any(path, (res, req) => {
    if (!cors.admit(res, req)) return;
      requests.count();
      res.writeStatus(e.status).writeHeader('Allow', allow).writeHeader('Content-Type', 'application/json').end(e.body, state.draining);
    });
  }

  // uWS aborts the process when '/*' is registered twice: the admin port has its own.
  if (!catchAll) return;
  app.any('/*', (res, req) => {
    if (!cors.admit(res, req)) return;
    requests.count();
    sendError(res, NOT_FOUND_ROUTE, state.draining);
  });
}

/** Writes `n` as a little-endian i32 at `at` (no DataView per value). */
function setInt32LE(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n;
  buf[at + 1] = n >> 8;
  buf[at + 2] = n >> 16;
  buf[at + 3] = n >> 24;
}

/** A copy of `buf` with room for at least `need` bytes (doubling, up to `cap`), keeping its first `keep` bytes. */
function grow(buf: Uint8Array, keep: number, need: number, cap: number): Uint8Array {
  const grown = new Uint8Array(Math.max(need, Math.min(buf.length * 2, cap)));
  grown.set(buf.subarray(0, keep));
  return grown;
}
