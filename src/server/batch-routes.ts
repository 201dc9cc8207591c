/**
 * Batch and listing routes of the data port (formats in docs/http-api.md):
 *
 * - `POST /v1/mget`: JSON `{ "keys": [...] }` → `{ "values": [string | null, ...] }`; or,
 *   with `Content-Type: application/octet-stream`, keys as `[u16 length][bytes]…` → values as
 *   `[i32 length (-1 = absent)][bytes]…` (little-endian), which keeps bytes exact.
 * - `POST /v1/mset`: JSON `{ "entries": [{ "key", "value", "ttl"? }] }`, or binary
 *   `[u16 key length][key][u32 ttl][u32 value length][value]…` → `{ "versions": [...] }`.
 * - `GET /v1/keys?prefix=&cursor=&count=` → `{ "keys": [...], "cursor": "..." }` (SCAN).
 * - Any other path: JSON 404.
 *
 * A batch holds at most {@link MAX_BATCH_KEYS} keys, and its body and its answer at most
 * {@link MAX_BATCH_BYTES}. Each entry of a batch is atomic on its own, not the batch.
 *
 * @module
 */
import fastJson from 'fast-json-stringify';
import { KeyTooLargeError, SabcacheError, ValueTooLargeError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import { C_REQUESTS } from '../table/layout.ts';
import { AsyncAnswer, readBody, sendError } from './body.ts';
import { httpError, httpErrorFrom, NOT_FOUND_ROUTE } from './http-errors.ts';
import type { ServingState } from './kv-routes.ts';
import { parseTtl } from './kv-routes.ts';
import type { Cors } from './cors.ts';
import type { App } from './uws.ts';

/** Most keys in one mget or mset. */
export const MAX_BATCH_KEYS = 1000;
/** Largest mget/mset body, and largest mget answer, in bytes (16 MiB). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

const stringifyValues = fastJson({ type: 'object', properties: { values: { type: 'array', items: { type: ['string', 'null'] } } } });
const stringifyVersions = fastJson({ type: 'object', properties: { versions: { type: 'array', items: { type: 'string' } } } });
const stringifyKeys = fastJson({ type: 'object', properties: { keys: { type: 'array', items: { type: 'string' } }, cursor: { type: 'string' } } });

const badBatch = (message: string): SabcacheError => new SabcacheError('SABCACHE_ERR_BAD_REQUEST', message);
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

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw badBatch('the body is not valid UTF-8 JSON');
  }
}

/** Registers the batch and listing routes, and the catch-all 404, on `app`. */
export function registerBatchRoutes(app: App, cache: SharedCache, state: ServingState, cors: Cors): void {
  const table = cache.table;
  const f64 = table.v.f64;
  const requestsSlot = table.counters + C_REQUESTS;
  const maxKeyBytes = table.v.maxKeyBytes;

  app.post('/v1/mget', (res, req) => {
    cors.apply(res, req);
    f64[requestsSlot]++;
    const binary = req.getHeader('content-type').startsWith('application/octet-stream');
    const answer = new AsyncAnswer(res, state);
    readBody(res, answer, req.getHeader('content-length'), MAX_BATCH_BYTES, (body) => {
      if (binary) {
        const values = parseBinaryKeys(body).map((k) => cache.getBytes(k));
        const total = values.reduce((s, v) => s + 4 + (v?.length ?? 0), 0);
        if (total > MAX_BATCH_BYTES) throw tooLarge();
        const out = new Uint8Array(total);
        const view = new DataView(out.buffer);
        let at = 0;
        for (const v of values) {
          view.setInt32(at, v ? v.length : -1, true);
          at += 4;
          if (v) { out.set(v, at); at += v.length; }
        }
        return answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/octet-stream').end(out, close));
      }
      const parsed = parseJson(body) as { keys?: unknown };
      if (!parsed || !Array.isArray(parsed.keys) || !parsed.keys.every((k) => typeof k === 'string')) throw badBatch('expected { "keys": [string, ...] }');
      if (parsed.keys.length > MAX_BATCH_KEYS) throw badBatch(`at most ${MAX_BATCH_KEYS} keys per batch`);
      const values = cache.getMany(parsed.keys as string[]).map((v) => v ?? null);
      const text = stringifyValues({ values });
      if (text.length > MAX_BATCH_BYTES) throw tooLarge();
      answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(text, close));
    }, tooLarge);
  });

  app.post('/v1/mset', (res, req) => {
    cors.apply(res, req);
    f64[requestsSlot]++;
    const binary = req.getHeader('content-type').startsWith('application/octet-stream');
    const answer = new AsyncAnswer(res, state);
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
        if (valueBytes > table.v.maxValueBytes) throw new ValueTooLargeError(table.v.maxValueBytes);
        parseTtl(String(e.ttlSeconds));
      }
      const versions = cache.setMany(entries);
      const text = stringifyVersions({ versions });
      state.afterDurable(() => answer.send((r, close) => r.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(text, close)));
    }, tooLarge);
  });

  app.get('/v1/keys', (res, req) => {
    cors.apply(res, req);
    f64[requestsSlot]++;
    const close = state.draining;
    try {
      const countText = req.getQuery('count');
      const count = countText ? Number(countText) : 100;
      const page = cache.scan({ prefix: req.getQuery('prefix') ?? '', cursor: req.getQuery('cursor') || '0', count: Number.isInteger(count) ? count : -1 });
      res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(stringifyKeys(page), close);
    } catch (e) {
      sendError(res, httpErrorFrom(e), close);
    }
  });

  for (const [path, allow] of [['/v1/mget', 'POST'], ['/v1/mset', 'POST'], ['/v1/keys', 'GET']] as const) {
    const e = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', `allowed methods: ${allow}`);
    app.any(path, (res, req) => {
    cors.apply(res, req);
      f64[requestsSlot]++;
      res.writeStatus(e.status).writeHeader('Allow', allow).writeHeader('Content-Type', 'application/json').end(e.body, state.draining);
    });
  }

  app.any('/*', (res, req) => {
    cors.apply(res, req);
    f64[requestsSlot]++;
    sendError(res, NOT_FOUND_ROUTE, state.draining);
  });
}
