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
 * | `SABCACHE_ERR_NOT_INTEGER` | {@link NotIntegerError} | incr/decr on a value that is not a decimal int64 |
 * | `SABCACHE_ERR_NOT_FLOAT` | {@link NotFloatError} | incrByFloat on a value (or with an increment) that is not a finite decimal number |
 * | `SABCACHE_ERR_OVERFLOW` | {@link OverflowError} | incr/decr would leave the int64 range |
 * | `SABCACHE_ERR_WRONG_TYPE` | {@link WrongTypeError} | a string operation on a list or hash, or a list operation on another type (Redis WRONGTYPE) |
 * | `SABCACHE_ERR_RESPONSE_TOO_LARGE` | {@link ResponseTooLargeError} | an answer would pass `--max-response-bytes` |
 * | `SABCACHE_ERR_FORBIDDEN_ORIGIN` | {@link ForbiddenOriginError} | a browser `Origin` not in `--allowed-origins` |
 * | `SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE` | {@link UnsupportedMediaTypeError} | a batch body that is neither JSON nor octet-stream |
 * | `SABCACHE_ERR_WAL_GAP` | {@link WalGapError} | recovery found WAL records missing after the snapshot |
 * | `SABCACHE_ERR_WAL_CORRUPT` | {@link WalCorruptError} | a WAL file's header failed its checks |
 * | `SABCACHE_ERR_SNAPSHOT_CORRUPT` | {@link SnapshotCorruptError} | a snapshot file failed a check |
 * | `SABCACHE_ERR_SNAPSHOT_ABANDONED` | {@link SnapshotAbandonedError} | a snapshot helper stopped because its lead ended the job |
 * | `SABCACHE_ERR_SNAPSHOT_FAILED` | {@link SnapshotFailedError} | writing a snapshot failed (disk full, permissions) |
 * | `SABCACHE_ERR_NO_DATA_DIR` | {@link NoDataDirError} | a snapshot was asked of a server without `--data-dir` |
 * | `SABCACHE_ERR_UNAUTHORIZED` | {@link UnauthorizedError} | credentials are configured and the request has none, or bad ones |
 * | `SABCACHE_ERR_FORBIDDEN` | {@link ForbiddenError} | the credential's role or key patterns do not allow the operation |
 * | `SABCACHE_ERR_PROTECTED_MODE` | {@link ProtectedModeError} | a client from outside loopback, refused by protected mode (no credentials configured) |
 * | `SABCACHE_ERR_RATE_LIMITED` | {@link RateLimitedError} | a client (or the server as a whole) is over `--rate-limit` (`--rate-limit-global`) |
 * | `SABCACHE_ERR_TOO_MANY_CONNECTIONS` | {@link TooManyConnectionsError} | a connection past `--max-connections` or `--max-connections-per-address` |
 * | `SABCACHE_ERR_LISTEN` | {@link ListenError} | a port cannot be bound |
 * | `SABCACHE_ERR_BAD_REQUEST` | {@link BadRequestError} | an HTTP request is malformed |
 * | `SABCACHE_ERR_NOT_FOUND` | {@link NotFoundError} | no such key, or no such route |
 * | `SABCACHE_ERR_METHOD_NOT_ALLOWED` | {@link MethodNotAllowedError} | the route does not take this method |
 * | `SABCACHE_ERR_PRECONDITION_FAILED` | {@link PreconditionFailedError} | a conditional write's condition did not hold |
 * | `SABCACHE_ERR_SHUTTING_DOWN` | {@link ShuttingDownError} | the worker is stopping |
 * | `SABCACHE_ERR_NOT_READY` | {@link NotReadyError} | an admin action asked while the server starts (recovery under way) or stops |
 * | `SABCACHE_ERR_INTERNAL` | {@link InternalError} | a bug: the request failed unexpectedly (logged) |
 * | `SABCACHE_ERR_USAGE` | {@link UsageError} | `sabcache-cli` was given bad arguments |
 * | `SABCACHE_ERR_CONNECTION` | {@link ConnectionError} | a client lost or could not open its connection |
 * | `SABCACHE_ERR_TIMEOUT` | {@link TimeoutError} | a client got no answer in time |
 * | `SABCACHE_ERR_HTTP` | {@link HttpStatusError} | a client got an HTTP error without a sabcache code |
 *
 * Every code is in the {@link ErrorCode} union; no code is made up elsewhere. An error that
 * crosses a thread or the network as (code, message) is made again with its class by
 * {@link errorFromCode}. HTTP statuses per code: src/server/http-errors.ts.
 *
 * @module
 */

/** Every error code sabcache uses (the table above says when). */
export type ErrorCode =
  | 'SABCACHE_ERR_BAD_OPTION'
  | 'SABCACHE_ERR_BAD_KEY'
  | 'SABCACHE_ERR_KEY_TOO_LARGE'
  | 'SABCACHE_ERR_VALUE_TOO_LARGE'
  | 'SABCACHE_ERR_BAD_VALUE'
  | 'SABCACHE_ERR_BAD_TTL'
  | 'SABCACHE_ERR_OUT_OF_MEMORY'
  | 'SABCACHE_ERR_TOO_MANY_THREADS'
  | 'SABCACHE_ERR_BAD_HANDLE'
  | 'SABCACHE_ERR_CLOSED'
  | 'SABCACHE_ERR_NOT_OWNER'
  | 'SABCACHE_ERR_NATIVE_MISSING'
  | 'SABCACHE_ERR_NOT_INTEGER'
  | 'SABCACHE_ERR_NOT_FLOAT'
  | 'SABCACHE_ERR_OVERFLOW'
  | 'SABCACHE_ERR_WRONG_TYPE'
  | 'SABCACHE_ERR_RESPONSE_TOO_LARGE'
  | 'SABCACHE_ERR_FORBIDDEN_ORIGIN'
  | 'SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'SABCACHE_ERR_WAL_GAP'
  | 'SABCACHE_ERR_WAL_CORRUPT'
  | 'SABCACHE_ERR_SNAPSHOT_CORRUPT'
  | 'SABCACHE_ERR_SNAPSHOT_ABANDONED'
  | 'SABCACHE_ERR_SNAPSHOT_FAILED'
  | 'SABCACHE_ERR_NO_DATA_DIR'
  | 'SABCACHE_ERR_PROTECTED_MODE'
  | 'SABCACHE_ERR_UNAUTHORIZED'
  | 'SABCACHE_ERR_FORBIDDEN'
  | 'SABCACHE_ERR_RATE_LIMITED'
  | 'SABCACHE_ERR_TOO_MANY_CONNECTIONS'
  | 'SABCACHE_ERR_LISTEN'
  | 'SABCACHE_ERR_BAD_REQUEST'
  | 'SABCACHE_ERR_NOT_FOUND'
  | 'SABCACHE_ERR_METHOD_NOT_ALLOWED'
  | 'SABCACHE_ERR_PRECONDITION_FAILED'
  | 'SABCACHE_ERR_SHUTTING_DOWN'
  | 'SABCACHE_ERR_NOT_READY'
  | 'SABCACHE_ERR_INTERNAL'
  | 'SABCACHE_ERR_USAGE'
  | 'SABCACHE_ERR_CONNECTION'
  | 'SABCACHE_ERR_TIMEOUT'
  | 'SABCACHE_ERR_HTTP'
  | 'SABCACHE_ERR_CODE_CACHE_INSTALLED';

/** Base class of every error sabcache throws on purpose. */
export class SabcacheError extends Error {
  /** Stable machine-readable code, `SABCACHE_ERR_…`. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
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
  constructor(message = 'the cache is closed') {
    super('SABCACHE_ERR_CLOSED', message);
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

/** incr/decr's value or delta is outside the int64 range. Code `SABCACHE_ERR_OVERFLOW`. */
export class OverflowError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_OVERFLOW', message);
  }
}

/** A value that `incr` cannot treat as an integer. Code `SABCACHE_ERR_NOT_INTEGER`. */
export class NotIntegerError extends SabcacheError {
  constructor(message = 'the value is not an integer (decimal, 64-bit signed)') {
    super('SABCACHE_ERR_NOT_INTEGER', message);
  }
}

/**
 * An operation for one value type on a key that holds another: a string operation (get,
 * incr, append) on a list or hash, a list operation on a string or hash, a hash operation on
 * a string or list (Redis's WRONGTYPE). The key keeps its value. Code `SABCACHE_ERR_WRONG_TYPE`.
 */
export class WrongTypeError extends SabcacheError {
  constructor(readonly holds: string) {
    super('SABCACHE_ERR_WRONG_TYPE', `Operation against a key holding the wrong kind of value (it holds a ${holds})`);
  }
}

/** A value or increment that incrByFloat cannot treat as a finite number, or a result that is not finite. Code `SABCACHE_ERR_NOT_FLOAT`. */
export class NotFloatError extends SabcacheError {
  constructor(message = 'value is not a valid float') {
    super('SABCACHE_ERR_NOT_FLOAT', message);
  }
}

/** A WAL file header failed its checks. Code `SABCACHE_ERR_WAL_CORRUPT`. */
export class WalCorruptError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_WAL_CORRUPT', message);
  }
}

/**
 * A snapshot file failed a check (magic, version, a checksum, a length, a truncated end).
 * Code `SABCACHE_ERR_SNAPSHOT_CORRUPT`; the message says which check and at what offset.
 */
export class SnapshotCorruptError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_SNAPSHOT_CORRUPT', message);
  }
}

/**
 * Why a snapshot helper stops when the lead ended the job while the helper waited for a
 * slot (the lead has thrown its own error by then). Code `SABCACHE_ERR_SNAPSHOT_ABANDONED`.
 */
export class SnapshotAbandonedError extends SabcacheError {
  constructor(message = 'snapshot abandoned by its lead') {
    super('SABCACHE_ERR_SNAPSHOT_ABANDONED', message);
  }
}

/** Writing a snapshot failed (disk full, permissions). Code `SABCACHE_ERR_SNAPSHOT_FAILED`. */
export class SnapshotFailedError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_SNAPSHOT_FAILED', message);
  }
}

/** A snapshot was asked of a server started without `--data-dir`. Code `SABCACHE_ERR_NO_DATA_DIR`. */
export class NoDataDirError extends SabcacheError {
  constructor(message = 'this server has no --data-dir: nothing to snapshot to') {
    super('SABCACHE_ERR_NO_DATA_DIR', message);
  }
}

/**
 * A client from an address outside loopback reached a server in protected mode (the
 * default while no credentials are configured, as Redis's protected mode). Code
 * `SABCACHE_ERR_PROTECTED_MODE`; HTTP 403, RESP `-DENIED`.
 */
export class ProtectedModeError extends SabcacheError {
  constructor(message = PROTECTED_MODE_MESSAGE) {
    super('SABCACHE_ERR_PROTECTED_MODE', message);
  }
}

/** Credentials are configured and a request has none, or bad ones. Code `SABCACHE_ERR_UNAUTHORIZED` (HTTP 401). */
export class UnauthorizedError extends SabcacheError {
  constructor(message = 'credentials required: Authorization: Bearer <token> or Basic (a user of --users-file)') {
    super('SABCACHE_ERR_UNAUTHORIZED', message);
  }
}

/** A credential whose role or key patterns do not allow the operation. Code `SABCACHE_ERR_FORBIDDEN` (HTTP 403). */
export class ForbiddenError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_FORBIDDEN', message);
  }
}

/**
 * A request over the rate limit of its client (`--rate-limit`, per credential or per address
 * when anonymous) or of the server (`--rate-limit-global`). Code `SABCACHE_ERR_RATE_LIMITED`;
 * HTTP 429 with `Retry-After`, a per-request WebSocket error, RESP `-ERR`.
 */
export class RateLimitedError extends SabcacheError {
  constructor(message = 'rate limit exceeded: slow down') {
    super('SABCACHE_ERR_RATE_LIMITED', message);
  }
}

/**
 * A connection past `--max-connections` (all ports together) or
 * `--max-connections-per-address`. Code `SABCACHE_ERR_TOO_MANY_CONNECTIONS`; HTTP 503 at a
 * WebSocket upgrade, RESP `-ERR max number of clients reached` (Redis's words) then close.
 */
export class TooManyConnectionsError extends SabcacheError {
  constructor(message = 'too many connections') {
    super('SABCACHE_ERR_TOO_MANY_CONNECTIONS', message);
  }
}

/** What a client refused by protected mode is told: why, and how to get in. */
export const PROTECTED_MODE_MESSAGE =
  'sabcache is running in protected mode: no credentials are configured, so only clients on the loopback interface are served. ' +
  'To serve other hosts, configure credentials (--users-file, or SABCACHE_TOKEN_SECRET: SECURITY.md), ' +
  'or start it with --protected-mode no (SABCACHE_PROTECTED_MODE=no), only on a network you trust';

/** A port cannot be bound (taken, or a wrong address). Code `SABCACHE_ERR_LISTEN`. */
export class ListenError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_LISTEN', message);
  }
}

/** An HTTP request is malformed (a header, a body). Code `SABCACHE_ERR_BAD_REQUEST`. */
export class BadRequestError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_BAD_REQUEST', message);
  }
}

/** No such key, or no such route. Code `SABCACHE_ERR_NOT_FOUND`. */
export class NotFoundError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_NOT_FOUND', message);
  }
}

/** The route does not take this method. Code `SABCACHE_ERR_METHOD_NOT_ALLOWED`. */
export class MethodNotAllowedError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_METHOD_NOT_ALLOWED', message);
  }
}

/** A conditional write's condition did not hold. Code `SABCACHE_ERR_PRECONDITION_FAILED`. */
export class PreconditionFailedError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_PRECONDITION_FAILED', message);
  }
}

/** The server is starting (recovering) or stopping: an admin action waits for `/readyz`. Code `SABCACHE_ERR_NOT_READY`. */
export class NotReadyError extends SabcacheError {
  constructor(message = 'the server is not serving yet (or any more): see /readyz') {
    super('SABCACHE_ERR_NOT_READY', message);
  }
}

/** The worker is stopping: connect again. Code `SABCACHE_ERR_SHUTTING_DOWN`. */
export class ShuttingDownError extends SabcacheError {
  constructor(message = 'this worker is stopping: connect again') {
    super('SABCACHE_ERR_SHUTTING_DOWN', message);
  }
}

/** A request failed unexpectedly (a bug; the server logs it). Code `SABCACHE_ERR_INTERNAL`. */
export class InternalError extends SabcacheError {
  constructor(message = 'internal error') {
    super('SABCACHE_ERR_INTERNAL', message);
  }
}

/** `sabcache-cli` was given bad arguments. Code `SABCACHE_ERR_USAGE`. */
export class UsageError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_USAGE', message);
  }
}

/** A client lost, or could not open, its connection. Code `SABCACHE_ERR_CONNECTION`. */
export class ConnectionError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_CONNECTION', message);
  }
}

/** A client got no answer in time. Code `SABCACHE_ERR_TIMEOUT`. */
export class TimeoutError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_TIMEOUT', message);
  }
}

/** `installCodeCache` was called in a thread that has one installed already. Code `SABCACHE_ERR_CODE_CACHE_INSTALLED`. */
export class CodeCacheInstalledError extends SabcacheError {
  constructor() {
    super('SABCACHE_ERR_CODE_CACHE_INSTALLED', 'a code cache is installed in this thread already (uninstall it first)');
  }
}

/** A client got an HTTP error answer without a sabcache code. Code `SABCACHE_ERR_HTTP`. */
export class HttpStatusError extends SabcacheError {
  constructor(message: string) {
    super('SABCACHE_ERR_HTTP', message);
  }
}

/** The class of each code whose errors {@link errorFromCode} makes again. */
const CLASS_BY_CODE: Record<ErrorCode, abstract new (...args: never[]) => SabcacheError> = {
  SABCACHE_ERR_BAD_OPTION: BadOptionError,
  SABCACHE_ERR_BAD_KEY: BadKeyError,
  SABCACHE_ERR_KEY_TOO_LARGE: KeyTooLargeError,
  SABCACHE_ERR_VALUE_TOO_LARGE: ValueTooLargeError,
  SABCACHE_ERR_BAD_VALUE: BadValueError,
  SABCACHE_ERR_BAD_TTL: BadTtlError,
  SABCACHE_ERR_OUT_OF_MEMORY: OutOfMemoryError,
  SABCACHE_ERR_TOO_MANY_THREADS: TooManyThreadsError,
  SABCACHE_ERR_BAD_HANDLE: BadHandleError,
  SABCACHE_ERR_CLOSED: ClosedError,
  SABCACHE_ERR_NOT_OWNER: NotOwnerError,
  SABCACHE_ERR_NATIVE_MISSING: NativeMissingError,
  SABCACHE_ERR_NOT_INTEGER: NotIntegerError,
  SABCACHE_ERR_WRONG_TYPE: WrongTypeError,
  SABCACHE_ERR_NOT_FLOAT: NotFloatError,
  SABCACHE_ERR_OVERFLOW: OverflowError,
  SABCACHE_ERR_RESPONSE_TOO_LARGE: ResponseTooLargeError,
  SABCACHE_ERR_FORBIDDEN_ORIGIN: ForbiddenOriginError,
  SABCACHE_ERR_UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  SABCACHE_ERR_WAL_GAP: WalGapError,
  SABCACHE_ERR_WAL_CORRUPT: WalCorruptError,
  SABCACHE_ERR_SNAPSHOT_CORRUPT: SnapshotCorruptError,
  SABCACHE_ERR_SNAPSHOT_ABANDONED: SnapshotAbandonedError,
  SABCACHE_ERR_SNAPSHOT_FAILED: SnapshotFailedError,
  SABCACHE_ERR_NO_DATA_DIR: NoDataDirError,
  SABCACHE_ERR_PROTECTED_MODE: ProtectedModeError,
  SABCACHE_ERR_UNAUTHORIZED: UnauthorizedError,
  SABCACHE_ERR_FORBIDDEN: ForbiddenError,
  SABCACHE_ERR_RATE_LIMITED: RateLimitedError,
  SABCACHE_ERR_TOO_MANY_CONNECTIONS: TooManyConnectionsError,
  SABCACHE_ERR_LISTEN: ListenError,
  SABCACHE_ERR_BAD_REQUEST: BadRequestError,
  SABCACHE_ERR_NOT_FOUND: NotFoundError,
  SABCACHE_ERR_METHOD_NOT_ALLOWED: MethodNotAllowedError,
  SABCACHE_ERR_PRECONDITION_FAILED: PreconditionFailedError,
  SABCACHE_ERR_SHUTTING_DOWN: ShuttingDownError,
  SABCACHE_ERR_NOT_READY: NotReadyError,
  SABCACHE_ERR_INTERNAL: InternalError,
  SABCACHE_ERR_USAGE: UsageError,
  SABCACHE_ERR_CONNECTION: ConnectionError,
  SABCACHE_ERR_TIMEOUT: TimeoutError,
  SABCACHE_ERR_HTTP: HttpStatusError,
  SABCACHE_ERR_CODE_CACHE_INSTALLED: CodeCacheInstalledError,
};

/** Whether `code` is one of sabcache's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(CLASS_BY_CODE, code);
}

/**
 * The error of `code` with `message`, as an instance of its class (so `instanceof` and
 * `name` hold), for an error that crossed a thread or the network as (code, message). A
 * code that is not sabcache's gives an {@link InternalError} whose message names it.
 */
export function errorFromCode(code: unknown, message: string): SabcacheError {
  if (!isErrorCode(code)) return new InternalError(code === undefined || code === '' ? message : `${String(code)}: ${message}`);
  // The class's prototype and name, with the message as it was (not the constructor's text).
  return Reflect.construct(SabcacheError, [code, message], CLASS_BY_CODE[code]) as SabcacheError;
}
