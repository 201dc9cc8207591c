/**
 * The WebSocket wire format (docs/ws-protocol.md), as pure encode/decode functions shared by
 * the server and the client. All integers are little-endian.
 *
 * Binary request frame: one or more requests, back to back:
 * ```
 * request := u32 id | u8 op | u8 flags | u16 keyLength | key | body(op)
 *   GET 1, DEL 3, PERSIST 6, TTL 7: no body
 *   SET 2:    u32 ttlSeconds | u8 versionLength | version | u32 valueLength | value
 *             flags: 1 ifAbsent, 2 ifPresent, 4 ifVersion (the version field)
 *   INCR 4:   i64 by
 *   EXPIRE 5: u32 ttlSeconds (0 deletes)
 *   SCAN 8:   u32 count | u8 cursorLength | cursor (ASCII)   (the key field is the prefix)
 *   WATCH 9, UNWATCH 10: no body; flags: 1 = the key is a prefix
 * ```
 * Binary response frame: one response per request, in order:
 * ```
 * response := u32 id | u8 status | body(status)
 *   VALUE 0:        u32 valueLength | value | u8 type | i32 ttlSeconds | u8 versionLength | version
 *                   (the value first, so a server can copy it straight into the message)
 *   NOT_FOUND 1, OK 2, PRECONDITION_FAILED 4: no body
 *   STORED 3:       u8 versionLength | version
 *   INTEGER 5:      i64 value
 *   TTL 6:          i32 seconds (-1 none, -2 absent)
 *   ERROR 7:        u16 codeLength | code | u16 messageLength | message (UTF-8)
 *   KEYS 8:         u8 cursorLength | cursor | u32 count | (u16 keyLength | key)*
 * ```
 * Watch messages (server → client, unprompted, id 0), in messages of their own:
 * ```
 *   EVENT 9:        u8 kind (1 set, 2 delete, 3 expire, 4 evict) | u8 flags (1 = key truncated)
 *                   | u16 keyLength | key
 *   LAGGED 10:      no body: events were lost for this connection; re-read what you watch
 * ```
 *
 * @module
 */
import type { ErrorCode } from '../errors.ts';

/** Request operations. */
export const OP_GET = 1;
export const OP_SET = 2;
export const OP_DEL = 3;
export const OP_INCR = 4;
export const OP_EXPIRE = 5;
export const OP_PERSIST = 6;
export const OP_TTL = 7;
export const OP_SCAN = 8;
export const OP_WATCH = 9;
export const OP_UNWATCH = 10;
/** WATCH/UNWATCH flag: the key is a prefix. */
export const FLAG_PREFIX = 1;

/** SET flags. */
export const FLAG_IF_ABSENT = 1;
export const FLAG_IF_PRESENT = 2;
export const FLAG_IF_VERSION = 4;

/** Response statuses. */
export const ST_VALUE = 0;
export const ST_NOT_FOUND = 1;
export const ST_OK = 2;
export const ST_STORED = 3;
export const ST_PRECONDITION_FAILED = 4;
export const ST_INTEGER = 5;
export const ST_TTL = 6;
export const ST_ERROR = 7;
export const ST_KEYS = 8;
export const ST_EVENT = 9;
export const ST_LAGGED = 10;

/** Names of the change kinds of an EVENT (index = kind), as the JSON form and clients use them. */
export const CHANGE_KIND_NAMES = ['', 'set', 'delete', 'expire', 'evict'] as const;

/** A whole LAGGED message (id 0). */
export function laggedMessage(): Uint8Array {
  const w = new ResponseWriter();
  w.status(0, ST_LAGGED);
  return w.frame().slice();
}

/** Value types in a VALUE response. */
export const VT_BYTES = 0;
export const VT_STRING = 1;
export const VT_INTEGER = 2;

/** One decoded request. `key` and `value` are views into the frame (valid during the call). */
export interface WsRequest {
  id: number;
  op: number;
  flags: number;
  /** The frame the request is in, and where its key is (no view is made per request). */
  frame: Uint8Array;
  keyStart: number;
  keyLength: number;
  ttlSeconds: number;
  version: string;
  value: Uint8Array;
  by: bigint;
  /** SCAN: keys per page and the cursor. */
  count: number;
  cursor: string;
}

/** A request that could not be decoded: answer `id` (0 if unreadable) and stop. */
export class FrameError extends Error {
  constructor(readonly id: number, message: string) {
    super(message);
  }
}

const latin1 = new TextDecoder('latin1');

/**
 * Decodes the requests of a binary frame, calling `each` for each in order. Stops with
 * FrameError at the first request that is truncated or malformed (those before it were
 * handed out), or when the frame holds more than `maxRequests`.
 */
export function decodeRequests(frame: Uint8Array, maxRequests: number, each: (r: WsRequest) => void): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const r: WsRequest = { id: 0, op: 0, flags: 0, frame, keyStart: 0, keyLength: 0, ttlSeconds: 0, version: '', value: frame, by: 0n, count: 0, cursor: '' };
  let count = 0;
  let at = 0;
  const end = frame.length;
  while (at < end) {
    if (at + 8 > end) throw new FrameError(at + 4 <= end ? view.getUint32(at, true) : 0, 'truncated request header');
    r.id = view.getUint32(at, true);
    if (++count > maxRequests) throw new FrameError(r.id, `more than ${maxRequests} requests in one message`);
    r.op = frame[at + 4];
    r.flags = frame[at + 5];
    const keyLength = view.getUint16(at + 6, true);
    at += 8;
    if (at + keyLength > end) throw new FrameError(r.id, 'truncated key');
    r.keyStart = at;
    r.keyLength = keyLength;
    at += keyLength;
    r.ttlSeconds = 0;
    r.version = '';
    r.by = 0n;
    switch (r.op) {
      case OP_GET: case OP_DEL: case OP_PERSIST: case OP_TTL: case OP_WATCH: case OP_UNWATCH:
        break;
      case OP_SET: {
        if (at + 5 > end) throw new FrameError(r.id, 'truncated SET');
        r.ttlSeconds = view.getUint32(at, true);
        const versionLength = frame[at + 4];
        at += 5;
        if (at + versionLength + 4 > end) throw new FrameError(r.id, 'truncated SET version');
        // Most SETs carry no version: decode (and allocate) only when there is one.
        if (versionLength !== 0) r.version = latin1.decode(frame.subarray(at, at + versionLength));
        at += versionLength;
        const valueLength = view.getUint32(at, true);
        at += 4;
        if (at + valueLength > end) throw new FrameError(r.id, 'truncated SET value');
        r.value = frame.subarray(at, at + valueLength);
        at += valueLength;
        break;
      }
      case OP_INCR:
        if (at + 8 > end) throw new FrameError(r.id, 'truncated INCR');
        r.by = view.getBigInt64(at, true);
        at += 8;
        break;
      case OP_EXPIRE:
        if (at + 4 > end) throw new FrameError(r.id, 'truncated EXPIRE');
        r.ttlSeconds = view.getUint32(at, true);
        at += 4;
        break;
      case OP_SCAN: {
        if (at + 5 > end) throw new FrameError(r.id, 'truncated SCAN');
        r.count = view.getUint32(at, true);
        const cursorLength = frame[at + 4];
        at += 5;
        if (at + cursorLength > end) throw new FrameError(r.id, 'truncated SCAN cursor');
        r.cursor = latin1.decode(frame.subarray(at, at + cursorLength));
        at += cursorLength;
        break;
      }
      default:
        throw new FrameError(r.id, `unknown op ${r.op}`);
    }
    each(r);
  }
}

/** The key of `r` as a view into its frame (valid during the call). */
export function requestKey(r: WsRequest): Uint8Array {
  return r.frame.subarray(r.keyStart, r.keyStart + r.keyLength);
}

/** Writes `n` (u32) in lowercase hex at `at`; returns the end. Same digits as `n.toString(16)`. */
function hex(buf: Uint8Array, at: number, n: number): number {
  // Digits = significant bits / 4, rounded up (at least one, for 0).
  const digits = n === 0 ? 1 : (35 - Math.clz32(n)) >>> 2;
  for (let i = at + digits - 1; i >= at; i--, n >>>= 4) buf[i] = HEX_DIGITS[n & 15];
  return at + digits;
}

/** ASCII of the lowercase hex digits 0-9a-f. */
const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** Builds response frames into one growing buffer, reused across frames. */
export class ResponseWriter {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private readonly enc = new TextEncoder();

  /** Starts a new frame. */
  reset(): void {
    this.at = 0;
  }

  /** The frame so far (a view: copy or send before the next reset). */
  frame(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.at;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  private head(id: number, status: number, extra: number): void {
    this.room(5 + extra);
    this.view.setUint32(this.at, id, true);
    this.buf[this.at + 4] = status;
    this.at += 5;
  }

  private version(v: string): void {
    this.buf[this.at++] = v.length;
    for (let i = 0; i < v.length; i++) this.buf[this.at++] = v.charCodeAt(i);
  }

  /** Writes a version (epoch, counter) as `u8 length | hex.hex`, without strings. */
  private versionRaw(epoch: number, counter: number): void {
    this.room(1 + 8 + 1 + 8);
    const start = this.at + 1;
    let at = hex(this.buf, start, epoch);
    this.buf[at++] = 46; // '.'
    at = hex(this.buf, at, counter);
    this.buf[this.at] = at - start;
    this.at = at;
  }

  /** The buffer that valueStart's offsets point into (valid until the next write). */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /** Makes room for `n` more bytes from `at` on (the value being copied in). */
  ensure(at: number, n: number): void {
    const saved = this.at;
    this.at = at;
    this.room(n);
    this.at = saved;
  }

  /** Drops everything written after `mark` (a `length` taken earlier). */
  truncate(mark: number): void {
    this.at = mark;
  }

  /**
   * Starts a VALUE: returns where the value's bytes go in {@link bytes}. Copy them there
   * (after {@link ensure} if needed), then call {@link valueEnd}.
   */
  valueStart(id: number): number {
    this.head(id, ST_VALUE, 4);
    this.at += 4;
    return this.at;
  }

  /** Ends the VALUE begun at `valueAt` with its length and metadata. */
  valueEnd(valueAt: number, valueLength: number, type: number, ttlSeconds: number, epoch: number, counter: number): void {
    this.view.setUint32(valueAt - 4, valueLength, true);
    this.at = valueAt + valueLength;
    this.room(5);
    this.buf[this.at] = type;
    this.view.setInt32(this.at + 1, ttlSeconds, true);
    this.at += 5;
    this.versionRaw(epoch, counter);
  }

  /** STORED with a version given as (epoch, counter). */
  storedRaw(id: number, epoch: number, counter: number): void {
    this.head(id, ST_STORED, 0);
    this.versionRaw(epoch, counter);
  }

  /** A status with no body (NOT_FOUND, OK, PRECONDITION_FAILED). */
  status(id: number, status: number): void {
    this.head(id, status, 0);
  }

  stored(id: number, version: string): void {
    this.head(id, ST_STORED, 1 + version.length);
    this.version(version);
  }

  integer(id: number, value: number | bigint): void {
    this.head(id, ST_INTEGER, 8);
    this.view.setBigInt64(this.at, BigInt(value), true);
    this.at += 8;
  }

  ttl(id: number, seconds: number): void {
    this.head(id, ST_TTL, 4);
    this.view.setInt32(this.at, seconds, true);
    this.at += 4;
  }

  /** A watch EVENT (id 0) with `len` key bytes from `src`. */
  event(kind: number, truncated: boolean, src: Uint8Array, len: number): void {
    this.head(0, ST_EVENT, 4 + len);
    this.buf[this.at] = kind;
    this.buf[this.at + 1] = truncated ? 1 : 0;
    this.view.setUint16(this.at + 2, len, true);
    this.buf.set(len === src.length ? src : src.subarray(0, len), this.at + 4);
    this.at += 4 + len;
  }

  keys(id: number, cursor: string, keys: readonly Uint8Array[]): void {
    this.head(id, ST_KEYS, 1 + cursor.length + 4 + keys.reduce((n, k) => n + 2 + k.length, 0));
    this.version(cursor);
    this.view.setUint32(this.at, keys.length, true);
    this.at += 4;
    for (const k of keys) {
      this.view.setUint16(this.at, k.length, true);
      this.buf.set(k, this.at + 2);
      this.at += 2 + k.length;
    }
  }

  error(id: number, code: ErrorCode, message: string): void {
    const c = this.enc.encode(code);
    const m = this.enc.encode(message.slice(0, 1000));
    this.head(id, ST_ERROR, 4 + c.length + m.length);
    this.view.setUint16(this.at, c.length, true);
    this.buf.set(c, this.at + 2);
    this.at += 2 + c.length;
    this.view.setUint16(this.at, m.length, true);
    this.buf.set(m, this.at + 2);
    this.at += 2 + m.length;
  }
}

/** A decoded response (client side). */
export interface WsResponse {
  id: number;
  status: number;
  type?: number;
  version?: string;
  ttlSeconds?: number;
  value?: Uint8Array;
  integer?: bigint;
  code?: string;
  message?: string;
  cursor?: string;
  keys?: string[];
  /** EVENT: change kind, and whether `key` is only the key's first bytes. */
  kind?: number;
  truncated?: boolean;
  key?: string;
}

/** Decodes a binary response frame (client side). `value`s are copies. */
export function decodeResponses(frame: Uint8Array): WsResponse[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: WsResponse[] = [];
  const utf8 = new TextDecoder();
  let at = 0;
  const readVersion = (): string => {
    const n = frame[at];
    const v = latin1.decode(frame.subarray(at + 1, at + 1 + n));
    at += 1 + n;
    return v;
  };
  while (at < frame.length) {
    if (at + 5 > frame.length) throw new Error('truncated response');
    const r: WsResponse = { id: view.getUint32(at, true), status: frame[at + 4] };
    at += 5;
    switch (r.status) {
      case ST_VALUE: {
        const n = view.getUint32(at, true);
        r.value = frame.slice(at + 4, at + 4 + n);
        at += 4 + n;
        r.type = frame[at];
        r.ttlSeconds = view.getInt32(at + 1, true);
        at += 5;
        r.version = readVersion();
        break;
      }
      case ST_STORED:
        r.version = readVersion();
        break;
      case ST_INTEGER:
        r.integer = view.getBigInt64(at, true);
        at += 8;
        break;
      case ST_TTL:
        r.ttlSeconds = view.getInt32(at, true);
        at += 4;
        break;
      case ST_KEYS: {
        r.cursor = readVersion();
        const n = view.getUint32(at, true);
        at += 4;
        r.keys = [];
        for (let i = 0; i < n; i++) {
          const len = view.getUint16(at, true);
          r.keys.push(utf8.decode(frame.subarray(at + 2, at + 2 + len)));
          at += 2 + len;
        }
        break;
      }
      case ST_EVENT: {
        r.kind = frame[at];
        r.truncated = (frame[at + 1] & 1) !== 0;
        const len = view.getUint16(at + 2, true);
        r.key = utf8.decode(frame.subarray(at + 4, at + 4 + len));
        at += 4 + len;
        break;
      }
      case ST_ERROR: {
        const c = view.getUint16(at, true);
        r.code = utf8.decode(frame.subarray(at + 2, at + 2 + c));
        at += 2 + c;
        const m = view.getUint16(at, true);
        r.message = utf8.decode(frame.subarray(at + 2, at + 2 + m));
        at += 2 + m;
        break;
      }
      default:
        break;
    }
    out.push(r);
  }
  return out;
}

/** Encodes requests into a binary frame (client side). */
export class RequestWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  private readonly enc = new TextEncoder();

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Appends a request. */
  add(id: number, op: number, key: string | Uint8Array, opts: { flags?: number; ttlSeconds?: number; version?: string; value?: Uint8Array; by?: bigint; count?: number; cursor?: string } = {}): void {
    const k = typeof key === 'string' ? this.enc.encode(key) : key;
    const v = opts.value ?? new Uint8Array(0);
    const version = opts.version ?? '';
    this.room(8 + k.length + 9 + version.length + v.length + 8);
    this.view.setUint32(this.at, id, true);
    this.buf[this.at + 4] = op;
    this.buf[this.at + 5] = opts.flags ?? 0;
    this.view.setUint16(this.at + 6, k.length, true);
    this.buf.set(k, this.at + 8);
    this.at += 8 + k.length;
    if (op === OP_SET) {
      this.view.setUint32(this.at, opts.ttlSeconds ?? 0, true);
      this.buf[this.at + 4] = version.length;
      this.at += 5;
      for (let i = 0; i < version.length; i++) this.buf[this.at++] = version.charCodeAt(i);
      this.view.setUint32(this.at, v.length, true);
      this.buf.set(v, this.at + 4);
      this.at += 4 + v.length;
    } else if (op === OP_INCR) {
      this.view.setBigInt64(this.at, opts.by ?? 1n, true);
      this.at += 8;
    } else if (op === OP_EXPIRE) {
      this.view.setUint32(this.at, opts.ttlSeconds ?? 0, true);
      this.at += 4;
    } else if (op === OP_SCAN) {
      const cursor = opts.cursor ?? '0';
      this.room(5 + cursor.length);
      this.view.setUint32(this.at, opts.count ?? 100, true);
      this.buf[this.at + 4] = cursor.length;
      this.at += 5;
      for (let i = 0; i < cursor.length; i++) this.buf[this.at++] = cursor.charCodeAt(i);
    }
  }

  /** Takes the frame built so far (a copy) and starts a new one. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.at);
    this.at = 0;
    return out;
  }

  get length(): number {
    return this.at;
  }
}
