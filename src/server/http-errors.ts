/**
 * HTTP error responses: JSON `{ "error": { "code", "message" } }` with a stable code,
 * serialized with fast-json-stringify.
 *
 * | status | code | when |
 * |---|---|---|
 * | 400 | `SABCACHE_ERR_BAD_KEY` | empty key, bad percent-encoding or not UTF-8 |
 * | 400 | `SABCACHE_ERR_BAD_TTL` | `ttl` is not a whole number of seconds in range |
 * | 400 | `SABCACHE_ERR_BAD_REQUEST` | malformed request (bad Content-Length, JSON, batch) |
 * | 400 | `SABCACHE_ERR_BAD_VALUE` | a bad `by` for incr/decr |
 * | 400 | `SABCACHE_ERR_BAD_OPTION` | a bad scan cursor or count |
 * | 403 | `SABCACHE_ERR_FORBIDDEN_ORIGIN` | a browser Origin not in `--allowed-origins` (preflight, WebSocket upgrade) |
 * | 401 | `SABCACHE_ERR_UNAUTHORIZED` | credentials configured, and none or bad ones given (with `WWW-Authenticate`) |
 * | 403 | `SABCACHE_ERR_FORBIDDEN` | the credential's role or key patterns do not allow the request |
 * | 403 | `SABCACHE_ERR_PROTECTED_MODE` | a client outside loopback while protected mode is on (every request, WebSocket upgrades, the admin port) |
 * | 404 | `SABCACHE_ERR_NOT_FOUND` | no such key (or expired), or no such route |
 * | 405 | `SABCACHE_ERR_METHOD_NOT_ALLOWED` | method not supported on the route (see `Allow`) |
 * | 409 | `SABCACHE_ERR_NOT_INTEGER` | incr/decr on a value that is not a decimal int64 |
 * | 409 | `SABCACHE_ERR_OVERFLOW` | incr/decr would leave the int64 range |
 * | 409 | `SABCACHE_ERR_NOT_FLOAT` | (not served over HTTP yet; the code maps here for completeness) |
 * | 409 | `SABCACHE_ERR_WRONG_TYPE` | a string operation (GET, incr/decr) on a key holding a list or hash |
 * | 409 | `SABCACHE_ERR_NO_DATA_DIR` | `POST /v1/admin/snapshot` on a server started without `--data-dir` |
 * | 412 | `SABCACHE_ERR_PRECONDITION_FAILED` | `If-Match` / `If-None-Match: *` did not hold |
 * | 413 | `SABCACHE_ERR_VALUE_TOO_LARGE` | body over `--max-value-bytes` (batches: over the batch limit) |
 * | 414 | `SABCACHE_ERR_KEY_TOO_LARGE` | key over `--max-key-bytes` |
 * | 429 | `SABCACHE_ERR_RATE_LIMITED` | over `--rate-limit` or `--rate-limit-global` (with `Retry-After`) |
 * | 500 | `SABCACHE_ERR_INTERNAL` | a bug; logged |
 * | 500 | `SABCACHE_ERR_SNAPSHOT_FAILED` | writing a snapshot failed (disk full, permissions); logged |
 * | 503 | `SABCACHE_ERR_SHUTTING_DOWN` | a WebSocket upgrade while the worker stops |
 * | 503 | `SABCACHE_ERR_NOT_READY` | an admin action (flush, snapshot, worker restart) while the server starts or stops |
 * | 503 | `SABCACHE_ERR_TOO_MANY_CONNECTIONS` | a WebSocket upgrade past `--max-connections` or `--max-connections-per-address` |
 * | 507 | `SABCACHE_ERR_OUT_OF_MEMORY` | nothing could be evicted to store the value |
 *
 * @module
 */
import fastJson from 'fast-json-stringify';
import { type ErrorCode, SabcacheError } from '../errors.ts';

/** Serializes an error body. */
export const stringifyError = fastJson({
  type: 'object',
  properties: {
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
  },
  required: ['error'],
});

const STATUS_BY_CODE: Partial<Record<ErrorCode, string>> = {
  SABCACHE_ERR_BAD_KEY: '400 Bad Request',
  SABCACHE_ERR_BAD_TTL: '400 Bad Request',
  SABCACHE_ERR_BAD_VALUE: '400 Bad Request',
  SABCACHE_ERR_BAD_REQUEST: '400 Bad Request',
  SABCACHE_ERR_BAD_OPTION: '400 Bad Request',
  SABCACHE_ERR_NOT_INTEGER: '409 Conflict',
  SABCACHE_ERR_OVERFLOW: '409 Conflict',
  SABCACHE_ERR_WRONG_TYPE: '409 Conflict',
  SABCACHE_ERR_NOT_FLOAT: '409 Conflict',
  SABCACHE_ERR_NO_DATA_DIR: '409 Conflict',
  SABCACHE_ERR_SNAPSHOT_FAILED: '500 Internal Server Error',
  SABCACHE_ERR_PRECONDITION_FAILED: '412 Precondition Failed',
  SABCACHE_ERR_FORBIDDEN_ORIGIN: '403 Forbidden',
  SABCACHE_ERR_PROTECTED_MODE: '403 Forbidden',
  SABCACHE_ERR_UNAUTHORIZED: '401 Unauthorized',
  SABCACHE_ERR_FORBIDDEN: '403 Forbidden',
  SABCACHE_ERR_NOT_FOUND: '404 Not Found',
  SABCACHE_ERR_METHOD_NOT_ALLOWED: '405 Method Not Allowed',
  SABCACHE_ERR_VALUE_TOO_LARGE: '413 Content Too Large',
  SABCACHE_ERR_RESPONSE_TOO_LARGE: '413 Content Too Large',
  SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE: '415 Unsupported Media Type',
  SABCACHE_ERR_KEY_TOO_LARGE: '414 URI Too Long',
  SABCACHE_ERR_INTERNAL: '500 Internal Server Error',
  SABCACHE_ERR_SHUTTING_DOWN: '503 Service Unavailable',
  SABCACHE_ERR_NOT_READY: '503 Service Unavailable',
  SABCACHE_ERR_RATE_LIMITED: '429 Too Many Requests',
  SABCACHE_ERR_TOO_MANY_CONNECTIONS: '503 Service Unavailable',
  SABCACHE_ERR_OUT_OF_MEMORY: '507 Insufficient Storage',
};

/** An error to answer over HTTP. */
export interface HttpError {
  status: string;
  body: string;
}

/** The status line and JSON body for `code`. */
export function httpError(code: ErrorCode, message: string): HttpError {
  return { status: STATUS_BY_CODE[code] ?? '500 Internal Server Error', body: stringifyError({ error: { code, message } }) };
}

/** Maps anything thrown while handling a request to an HTTP error; unknown errors are 500s. */
export function httpErrorFrom(e: unknown): HttpError {
  if (e instanceof SabcacheError && STATUS_BY_CODE[e.code]) return httpError(e.code, e.message);
  return httpError('SABCACHE_ERR_INTERNAL', 'internal error');
}

/** The answer for an absent or expired key (precomputed: no serialization per request). */
export const NOT_FOUND_KEY = httpError('SABCACHE_ERR_NOT_FOUND', 'no such key');
/** The answer when a conditional write's condition did not hold. */
export const PRECONDITION_FAILED = httpError('SABCACHE_ERR_PRECONDITION_FAILED', 'the If-Match / If-None-Match condition did not hold; nothing was stored');
/** The answer for a path no route serves. */
export const NOT_FOUND_ROUTE = httpError('SABCACHE_ERR_NOT_FOUND', 'no such route; see docs: /v1/kv/{key}');
