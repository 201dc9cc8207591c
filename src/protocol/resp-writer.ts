/**
 * Encodes Redis protocol replies into one growing buffer per connection, so that the
 * answers to all the commands of one read go out in one write (pipelining). RESP2 by
 * default; after `HELLO 3`, RESP3's null, map, set, double and boolean types.
 *
 * @module
 */

const CRLF = '\r\n';

/** One connection's reply buffer. Not thread-safe (one per connection). */
export class RespWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private at = 0;
  /** 2 or 3 (HELLO). */
  protocol = 2;

  /** Bytes written since the last {@link take}. */
  get length(): number {
    return this.at;
  }

  /** The replies so far (a copy, safe to hand to a socket), and an empty buffer after. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(16 * 1024); // a large reply's buffer is not kept
    return out;
  }

  /**
   * The replies so far as a view of this writer's own buffer (no copy), and an empty writer
   * after: the next replies overwrite those bytes. So the caller must be done with the view
   * before it writes again, or call {@link detach} (a socket that queued the view instead of
   * writing it at once still reads it later).
   */
  takeView(): Buffer {
    const out = this.buf.subarray(0, this.at);
    this.at = 0;
    if (this.buf.length > 1 << 20) this.detach(); // a large reply's buffer is not kept
    return out;
  }

  /** Writes go to a new buffer from now on: the last {@link takeView}'s bytes stay as they are. */
  detach(): void {
    this.buf = Buffer.allocUnsafe(16 * 1024);
    this.at = 0;
  }

  /** Drops what was written after {@link length} was `mark` (a reply abandoned half way). */
  truncate(mark: number): void {
    if (mark >= 0 && mark <= this.at) this.at = mark;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  /** Writes `s` (latin1, short) byte by byte: cheaper than Buffer#write's call into C++ for a few bytes. */
  private ascii(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /** `<type char><n>\r\n` for a safe integer `n` (array, bulk, map… headers; integer replies). */
  private header(type: number, n: number): void {
    this.room(24);
    const buf = this.buf;
    let at = this.at;
    buf[at++] = type;
    at = writeDecimal(buf, at, n);
    buf[at++] = 13;
    buf[at++] = 10;
    this.at = at;
  }

  /** `+text` (text without CR or LF). */
  simple(text: string): void {
    this.room(text.length + 3);
    this.buf[this.at++] = 0x2b;
    this.ascii(text);
    this.crlf();
  }

  /** `+OK`, the most common reply. */
  ok(): void {
    this.room(5);
    const buf = this.buf;
    const at = this.at;
    buf[at] = 0x2b;
    buf[at + 1] = 0x4f;
    buf[at + 2] = 0x4b;
    buf[at + 3] = 13;
    buf[at + 4] = 10;
    this.at = at + 5;
  }

  private crlf(): void {
    this.room(2);
    this.buf[this.at++] = 13;
    this.buf[this.at++] = 10;
  }

  /** `-message` (message starts with Redis's prefix: ERR, WRONGTYPE, NOPROTO…). */
  error(message: string): void {
    const clean = message.replace(/[\r\n]+/g, ' ');
    this.room(Buffer.byteLength(clean) + 3);
    this.buf[this.at++] = 0x2d;
    this.at += this.buf.write(clean, this.at);
    this.crlf();
  }

  /** `:n` (a safe integer or an int64 bigint). */
  integer(n: number | bigint): void {
    if (typeof n === 'number' && Number.isSafeInteger(n)) this.header(0x3a, n);
    else this.ascii(`:${n}${CRLF}`);
  }

  /** `$len\r\nbytes\r\n`; null: the null bulk (RESP3: `_`). */
  bulk(value: Uint8Array | string | null): void {
    if (value === null) return this.nil();
    if (typeof value === 'string') {
      const n = Buffer.byteLength(value);
      this.header(0x24, n);
      this.room(n + 2);
      this.at += this.buf.write(value, this.at);
    } else {
      this.header(0x24, value.length);
      this.room(value.length + 2);
      this.buf.set(value, this.at);
      this.at += value.length;
    }
    this.crlf();
  }

  /**
   * The buffer {@link bulkStart}'s offset is in; valid until the next write to this writer.
   */
  get bytes(): Buffer {
    return this.buf;
  }

  /**
   * Reserves room for a bulk of up to `max` bytes and returns the offset in {@link bytes}
   * where its bytes go; finish it with {@link bulkEnd}(offset, length). For values copied
   * straight from shared memory.
   */
  bulkStart(max: number): number {
    // `$` + up to 10 digits + CRLF, the value, CRLF; and {@link header}'s own margin of 24
    // bytes, so that bulkEnd never grows (and so moves) the buffer under the value. The
    // value goes right after a header as long as the last bulk's: values of one size
    // (the common case) then need no move in bulkEnd.
    this.room(max + 13 + 24);
    return this.at + this.lastBulkHeader;
  }

  /** The header length of the last bulk ended (see {@link bulkStart}). */
  private lastBulkHeader = 13;

  /** Ends a bulk of `length` bytes written at `valueAt` (from {@link bulkStart}). */
  bulkEnd(valueAt: number, length: number): void {
    const buf = this.buf;
    const digits = length < 10 ? 1 : length < 100 ? 2 : length < 1000 ? 3 : length < 10000 ? 4 : String(length).length;
    const headLen = digits + 3;
    // The header goes where the bulk starts; unless the guess was right, the value moves to
    // close (or open) the gap (a memmove: copyWithin handles the overlap).
    if (valueAt !== this.at + headLen) buf.copyWithin(this.at + headLen, valueAt, valueAt + length);
    this.lastBulkHeader = headLen;
    this.header(0x24, length);
    this.at += length;
    this.crlf();
  }

  /** The null reply: RESP2 `$-1`, RESP3 `_`. */
  nil(): void {
    this.ascii(this.protocol === 3 ? `_${CRLF}` : `$-1${CRLF}`);
  }

  /** The null array: RESP2 `*-1`, RESP3 `_`. */
  nilArray(): void {
    this.ascii(this.protocol === 3 ? `_${CRLF}` : `*-1${CRLF}`);
  }

  /** An array header of `n` elements (the caller writes them). */
  array(n: number): void {
    this.header(0x2a, n);
  }

  /** A map header of `n` pairs: RESP3 `%n`, RESP2 an array of 2n elements. */
  map(n: number): void {
    this.header(this.protocol === 3 ? 0x25 : 0x2a, this.protocol === 3 ? n : 2 * n);
  }

  /** A set header of `n` elements: RESP3 `~n`, RESP2 an array. */
  set(n: number): void {
    this.header(this.protocol === 3 ? 0x7e : 0x2a, n);
  }

  /** A push header of `n` elements (RESP3 `>n`, RESP2 an array): pub/sub messages. */
  push(n: number): void {
    this.header(this.protocol === 3 ? 0x3e : 0x2a, n);
  }

  /** A verbatim text (RESP3 `=len\r\ntxt:…`; RESP2 a bulk), as INFO and CLIENT INFO answer. */
  verbatim(text: string): void {
    if (this.protocol !== 3) return this.bulk(text);
    const n = Buffer.byteLength(text) + 4;
    this.ascii(`=${n}${CRLF}txt:`);
    this.room(n);
    this.at += this.buf.write(text, this.at);
    this.ascii(CRLF);
  }
}

/** Writes the decimal digits of the safe integer `n` at `at`; returns the offset after them. */
function writeDecimal(buf: Uint8Array, at: number, n: number): number {
  if (n < 0) {
    buf[at++] = 0x2d;
    n = -n;
  }
  if (n < 10) {
    buf[at] = 0x30 + n;
    return at + 1;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}
