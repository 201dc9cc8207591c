/**
 * The write-ahead log's file format (docs/wal-format.md): a file header, then records,
 * each with its own length and CRC-32, so a reader finds where a torn or corrupt tail
 * starts. One file per writing thread; records in a file are in sequence order.
 *
 * ```
 * file header (32 B)  "SABCWAL1" | u32 version | u32 thread | f64 created-at (unix ms)
 *                     | u32 reserved | u32 CRC-32 of bytes 0..27
 * record              u32 body bytes | u32 CRC-32 of the body | body
 *   body              f64 sequence | u8 op | u8 value type | u16 key bytes | u32 expireAt
 *                     (unix s, 0 = never) | u32 value bytes | key | value
 * ```
 * All integers little-endian. Zeros from where a record would start to the end of the
 * file end the records cleanly: an `always` writer writes its file ahead with zeros
 * (wal-writer.ts). Zeros followed by data are a hole, reported as a damaged record.
 *
 * @module
 */
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { WalCorruptError } from '../errors.ts';

export { WalCorruptError };

/** File magic: the first 8 bytes. */
export const WAL_MAGIC = 'SABCWAL1';
/** Format version. */
export const WAL_VERSION = 1;
/** File header size, in bytes. */
export const WAL_HEADER_BYTES = 32;
/** Record header (body length, CRC) size, in bytes. */
export const RECORD_HEADER_BYTES = 8;
/** Body header (sequence, op, type, key length, expireAt, value length) size, in bytes. */
export const BODY_HEADER_BYTES = 20;
/** Body field offsets, in bytes from the body's start. */
export const BODY_SEQ = 0;
export const BODY_OP = 8;
export const BODY_TYPE = 9;
export const BODY_KEY_BYTES = 10;
export const BODY_EXPIRE_AT = 12;
export const BODY_VALUE_BYTES = 16;
/** Largest body a reader accepts, in bytes (a longer length field marks a corrupt record). */
export const MAX_BODY_BYTES = 1 << 30;

/** The 32-byte file header of a WAL file written by thread `thread`. */
export function encodeWalHeader(thread: number, createdAtMs: number): Uint8Array {
  const out = new Uint8Array(WAL_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = WAL_MAGIC.charCodeAt(i);
  dv.setUint32(8, WAL_VERSION, true);
  dv.setUint32(12, thread, true);
  dv.setFloat64(16, createdAtMs, true);
  dv.setUint32(28, crc32(out.subarray(0, 28)), true);
  return out;
}

/** WAL record: the key now holds this value, type and expiry (set, incr's result). */
export const WAL_OP_SET = 1;
/** WAL record: the key was deleted. */
export const WAL_OP_DELETE = 2;
/** WAL record: the key's expiry changed (to `expireAt`, 0 = never). */
export const WAL_OP_EXPIRE = 3;
/** WAL record: every key was removed. */
export const WAL_OP_FLUSH = 4;

/** Bytes of one record with a key of `keyLength` bytes and a value of `valueBytes`. */
export function walRecordBytes(keyLength: number, valueBytes: number): number {
  return RECORD_HEADER_BYTES + BODY_HEADER_BYTES + keyLength + valueBytes;
}

/**
 * Encodes one record at byte `at` of `buf` (with `dv` and `text` views of the same memory),
 * which has room for {@link walRecordBytes}: u32 body length, u32 CRC-32 of the body, then
 * the body (seq f64, op u8, type u8, key bytes u16, expireAt u32, value bytes u32, key,
 * value; `valueBytes` is the value's UTF-8 length when it is a string).
 */
export function encodeWalRecord(
  buf: Uint8Array, dv: DataView, text: Buffer, at: number,
  seq: number, op: number, key: Uint8Array, keyLength: number, value: string | Uint8Array | null, valueBytes: number, type: number, expireAt: number,
): void {
  const body = BODY_HEADER_BYTES + keyLength + valueBytes;
  const b = at + RECORD_HEADER_BYTES;
  dv.setUint32(at, body, true);
  dv.setFloat64(b + BODY_SEQ, seq, true);
  buf[b + BODY_OP] = op;
  buf[b + BODY_TYPE] = type;
  dv.setUint16(b + BODY_KEY_BYTES, keyLength, true);
  dv.setUint32(b + BODY_EXPIRE_AT, expireAt, true);
  dv.setUint32(b + BODY_VALUE_BYTES, valueBytes, true);
  const ks = b + BODY_HEADER_BYTES;
  for (let i = 0; i < keyLength; i++) buf[ks + i] = key[i];
  if (value !== null) {
    if (typeof value === 'string') text.write(value, ks + keyLength, valueBytes, 'utf8');
    else buf.set(value, ks + keyLength);
  }
  dv.setUint32(at + 4, crc32(buf.subarray(b, b + body)), true);
}

/** One decoded record (key and value are views, valid during the callback). */
export interface WalRecord {
  /** Sequence number (taken inside the bucket lock; a whole number below 2^53). */
  seq: number;
  /** WAL_OP_SET, WAL_OP_DELETE, WAL_OP_EXPIRE or WAL_OP_FLUSH. */
  op: number;
  /** Value type (layout.ts TYPE_*), for WAL_OP_SET. */
  type: number;
  /** Unix seconds, 0 = never (WAL_OP_SET, WAL_OP_EXPIRE). */
  expireAt: number;
  /** The key's bytes. */
  key: Uint8Array;
  /** The value's bytes (WAL_OP_SET; empty otherwise). */
  value: Uint8Array;
}

/**
 * Reads a WAL file record by record, in file order (= sequence order). Stops at the end
 * of the file, or at the first record that is cut short or fails its CRC (a torn tail):
 * {@link tail} then says why and where.
 */
export class WalReader {
  private pos = WAL_HEADER_BYTES;
  private buf = new Uint8Array(64 * 1024);
  /** Why reading stopped early (a torn or corrupt record), or '' at a clean end. */
  tail = '';
  /** The record just read by {@link next}. */
  readonly record: WalRecord = { seq: 0, op: 0, type: 0, expireAt: 0, key: new Uint8Array(0), value: new Uint8Array(0) };

  /**
   * @param fd an open WAL file
   * @throws WalCorruptError (`SABCACHE_ERR_WAL_CORRUPT`) when the file header is bad.
   */
  constructor(private readonly fd: number, readonly path: string) {
    const head = new Uint8Array(WAL_HEADER_BYTES);
    const n = readSync(fd, head, 0, WAL_HEADER_BYTES, 0);
    if (n < WAL_HEADER_BYTES) throw new WalCorruptError(`${path}: truncated header`);
    for (let i = 0; i < 8; i++) if (head[i] !== WAL_MAGIC.charCodeAt(i)) throw new WalCorruptError(`${path}: bad magic: not a sabcache WAL file`);
    const dv = new DataView(head.buffer);
    if (dv.getUint32(8, true) !== WAL_VERSION) throw new WalCorruptError(`${path}: format version ${dv.getUint32(8, true)}; this build reads version ${WAL_VERSION}`);
    if (dv.getUint32(28, true) !== crc32(head.subarray(0, 28))) throw new WalCorruptError(`${path}: header checksum mismatch`);
  }

  /** Reads the next record into {@link record}; false at the end or at a torn tail. */
  next(): boolean {
    const head = this.read(this.pos, RECORD_HEADER_BYTES);
    if (head === null) return false; // a clean end, or a few stray bytes (tail set)
    const dv = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_BYTES);
    const bodyBytes = dv.getUint32(0, true);
    const crc = dv.getUint32(4, true);
    // Zeros where a record would start: the space an `always` writer wrote ahead, a clean
    // end if only zeros follow; a hole in the file if data follows them.
    if (bodyBytes === 0 && crc === 0) {
      if (!this.zerosToEnd(this.pos + RECORD_HEADER_BYTES)) this.tail = `${this.path}: record at byte ${this.pos}: zeros where a record should start, with data after them`;
      return false;
    }
    if (bodyBytes < BODY_HEADER_BYTES || bodyBytes > MAX_BODY_BYTES) {
      this.tail = `${this.path}: record at byte ${this.pos}: implausible length ${bodyBytes}`;
      return false;
    }
    const body = this.read(this.pos + RECORD_HEADER_BYTES, bodyBytes);
    if (body === null) {
      this.tail = `${this.path}: record at byte ${this.pos} is cut short (torn write)`;
      return false;
    }
    if (crc32(body) !== crc) {
      this.tail = `${this.path}: record at byte ${this.pos}: checksum mismatch`;
      return false;
    }
    const bv = new DataView(body.buffer, body.byteOffset, bodyBytes);
    const keyLength = bv.getUint16(BODY_KEY_BYTES, true);
    const valueLength = bv.getUint32(BODY_VALUE_BYTES, true);
    if (BODY_HEADER_BYTES + keyLength + valueLength !== bodyBytes) {
      this.tail = `${this.path}: record at byte ${this.pos}: lengths do not add up`;
      return false;
    }
    const r = this.record;
    r.seq = bv.getFloat64(BODY_SEQ, true);
    r.op = body[BODY_OP];
    r.type = body[BODY_TYPE];
    r.expireAt = bv.getUint32(BODY_EXPIRE_AT, true);
    r.key = body.subarray(BODY_HEADER_BYTES, BODY_HEADER_BYTES + keyLength);
    r.value = body.subarray(BODY_HEADER_BYTES + keyLength, bodyBytes);
    this.pos += RECORD_HEADER_BYTES + bodyBytes;
    return true;
  }

  /** Whether the file holds only zero bytes from `at` to its end. */
  private zerosToEnd(at: number): boolean {
    for (;;) {
      const r = readSync(this.fd, this.buf, 0, this.buf.length, at);
      if (r === 0) return true;
      for (let i = 0; i < r; i++) if (this.buf[i] !== 0) return false;
      at += r;
    }
  }

  /** `n` bytes at `at` (a view into a reused buffer), or null if the file ends first. */
  private read(at: number, n: number): Uint8Array | null {
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, this.buf, got, n - got, at + got);
      if (r === 0) {
        // Fewer bytes than a record header, all zeros: the end of the space written ahead.
        const zeros = at === this.pos && this.buf.subarray(0, got).every((b) => b === 0);
        if (!zeros) this.tail ||= `${this.path}: record at byte ${this.pos} is cut short (torn write)`;
        return null;
      }
      got += r;
    }
    return this.buf.subarray(0, n);
  }
}
