/**
 * Error classes with stable `code` strings. Every error sabcache throws on purpose is a
 * {@link SabcacheError}; match on `code`, never on `message`.
 *
 * | code | class | when |
 * |---|---|---|
 * | `SABCACHE_ERR_BAD_OPTION` | {@link BadOptionError} | an option is missing, of the wrong type or out of range |
 * | `SABCACHE_ERR_BAD_KEY` | {@link BadKeyError} | a key is empty or not valid UTF-8 / percent-encoding |
 * | `SABCACHE_ERR_KEY_TOO_LARGE` | {@link KeyTooLargeError} | a key's UTF-8 bytes exceed `maxKeyBytes` |
 * | `SABCACHE_ERR_VALUE_TOO_LARGE` | {@link ValueTooLargeError} | a value's bytes exceed `maxValueBytes` |
 * | `SABCACHE_ERR_BAD_VALUE` | {@link BadValueError} | a value is neither a string nor a Uint8Array |
 * | `SABCACHE_ERR_BAD_TTL` | {@link BadTtlError} | a TTL is not a whole number of seconds in range |
 * | `SABCACHE_ERR_OUT_OF_MEMORY` | {@link OutOfMemoryError} | nothing can be evicted to make room |
 * | `SABCACHE_ERR_TOO_MANY_THREADS` | {@link TooManyThreadsError} | all 64 thread blocks are attached |
 * | `SABCACHE_ERR_BAD_HANDLE` | {@link BadHandleError} | `attach` got something that is not a sabcache handle |
 * | `SABCACHE_ERR_CLOSED` | {@link ClosedError} | the cache was used after `close()` |
 * | `SABCACHE_ERR_NOT_OWNER` | {@link NotOwnerError} | an owner-only method was called on an attached cache |
 * | `SABCACHE_ERR_NATIVE_MISSING` | {@link NativeMissingError} | uWebSockets.js has no native binding for this platform |
 * | `SABCACHE_ERR_NOT_INTEGER` | `NotIntegerError` (table/integer-value.ts) | incr/decr on a value that is not a decimal int64 |
 * | `SABCACHE_ERR_OVERFLOW` | `OverflowError` (table/integer-value.ts) | incr/decr would leave the int64 range |
 * | `SABCACHE_ERR_RESPONSE_TOO_LARGE` | {@link ResponseTooLargeError} | an answer would pass `--max-response-bytes` |
 * | `SABCACHE_ERR_FORBIDDEN_ORIGIN` | {@link ForbiddenOriginError} | a browser `Origin` not in `--allowed-origins` |
 * | `SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE` | {@link UnsupportedMediaTypeError} | a batch body that is neither JSON nor octet-stream |
 * | `SABCACHE_ERR_WAL_GAP` | {@link WalGapError} | recovery found WAL records missing after the snapshot |
 *
 * HTTP adds `SABCACHE_ERR_BAD_REQUEST`, `SABCACHE_ERR_NOT_FOUND`,
 * `SABCACHE_ERR_METHOD_NOT_ALLOWED`, `SABCACHE_ERR_PRECONDITION_FAILED` and
 * `SABCACHE_ERR_INTERNAL` (see src/server/http-errors.ts and docs/http-api.md).
 *
 * @module
 */

/** Base class of every error sabcache throws on purpose. */
export class SabcacheError extends Error {
  /** Stable machine-readable code, `SABCACHE_ERR_…`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option is missing, of the wrong type or out of range; the message names it. Code `SABCACHE_ERR_BAD_OPTION`. */
export class BadOptionError extends SabcacheError {
  constructor(option: string, message: string) {
    super('SABCACHE_ERR_BAD_OPTION', `option ${option}: ${message}`);
  }
}

/** A key is empty or not valid UTF-8. Code `SABCACHE_ERR_BAD_KEY`. */
export class BadKeyError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_BAD_KEY', message);
  }
}

/** A key's UTF-8 bytes exceed `maxKeyBytes`. Code `SABCACHE_ERR_KEY_TOO_LARGE`. */
export class KeyTooLargeError extends SabcacheError {
  constructor(maxKeyBytes: number) {
    super('SABCACHE_ERR_KEY_TOO_LARGE', `key is longer than maxKeyBytes (${maxKeyBytes} bytes)`);
  }
}

/** A value's bytes exceed `maxValueBytes`. Code `SABCACHE_ERR_VALUE_TOO_LARGE`. */
export class ValueTooLargeError extends SabcacheError {
  constructor(maxValueBytes: number) {
    super('SABCACHE_ERR_VALUE_TOO_LARGE', `value is longer than maxValueBytes (${maxValueBytes} bytes)`);
  }
}

/** A value is neither a string nor a Uint8Array. Code `SABCACHE_ERR_BAD_VALUE`. */
export class BadValueError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_BAD_VALUE', message);
  }
}

/** A TTL is not a whole, non-negative number of seconds in range. Code `SABCACHE_ERR_BAD_TTL`. */
export class BadTtlError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_BAD_TTL', message);
  }
}

/** No segment could be freed for a write. Code `SABCACHE_ERR_OUT_OF_MEMORY`. */
export class OutOfMemoryError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_OUT_OF_MEMORY', message);
  }
}

/** Every thread block is in use. Code `SABCACHE_ERR_TOO_MANY_THREADS`. */
export class TooManyThreadsError extends SabcacheError {
  constructor(max: number) {
    super('SABCACHE_ERR_TOO_MANY_THREADS', `at most ${max} threads may attach to one cache at once`);
  }
}

/** `attach` got something that is not a sabcache handle. Code `SABCACHE_ERR_BAD_HANDLE`. */
export class BadHandleError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_BAD_HANDLE', message);
  }
}

/** The cache was used after `close()`. Code `SABCACHE_ERR_CLOSED`. */
export class ClosedError extends SabcacheError {
  constructor() {
    super('SABCACHE_ERR_CLOSED', 'the cache is closed');
  }
}

/** An owner-only method was called on a cache obtained with `attach`. Code `SABCACHE_ERR_NOT_OWNER`. */
export class NotOwnerError extends SabcacheError {
  constructor(method: string) {
    super('SABCACHE_ERR_NOT_OWNER', `${method} may only be called on the cache returned by SharedCache.create`);
  }
}

/** uWebSockets.js has no loadable native binding here. Code `SABCACHE_ERR_NATIVE_MISSING`. */
export class NativeMissingError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_NATIVE_MISSING', message);
  }
}

/**
 * An answer would pass the request's byte budget (`--max-response-bytes`): nothing past the
 * budget was copied. Code `SABCACHE_ERR_RESPONSE_TOO_LARGE` (HTTP 413).
 */
export class ResponseTooLargeError extends SabcacheError {
  constructor(budgetBytes: number, what = 'the answer') {
    super('SABCACHE_ERR_RESPONSE_TOO_LARGE', `${what} would be larger than --max-response-bytes (${budgetBytes} bytes): ask for less per request`);
  }
}

/** A browser page of an Origin not in `--allowed-origins`. Code `SABCACHE_ERR_FORBIDDEN_ORIGIN` (HTTP 403). */
export class ForbiddenOriginError extends SabcacheError {
  constructor() {
    super('SABCACHE_ERR_FORBIDDEN_ORIGIN', 'this Origin is not in --allowed-origins');
  }
}

/**
 * A batch body with a Content-Type other than `application/json` or
 * `application/octet-stream` (a browser form or `text/plain` body, which a page of any site
 * may send without a preflight). Code `SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE` (HTTP 415).
 */
export class UnsupportedMediaTypeError extends SabcacheError {
  constructor(contentType: string) {
    super('SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(contentType.slice(0, 60))} is not accepted here: send application/json or application/octet-stream`);
  }
}

/**
 * Recovery found that the WAL does not continue from the snapshot it loaded: records
 * `from` to `to` (inclusive) are missing, so acknowledged writes would be lost silently.
 * Start with `--recover-past-gaps` to accept the loss. Code `SABCACHE_ERR_WAL_GAP`.
 */
export class WalGapError extends SabcacheError {
  constructor(readonly from: bigint, readonly to: bigint, where: string) {
    super('SABCACHE_ERR_WAL_GAP', `the WAL is missing records ${from} to ${to} (${where}): acknowledged writes are missing. Restore the missing WAL files, or start with --recover-past-gaps to accept the loss`);
  }
}
