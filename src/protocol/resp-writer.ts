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

  private ascii(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  /** `+text` (text without CR or LF). */
  simple(text: string): void {
    this.ascii(`+${text}${CRLF}`);
  }

  /** `-message` (message starts with Redis's prefix: ERR, WRONGTYPE, NOPROTO…). */
  error(message: string): void {
    const clean = message.replace(/[\r\n]+/g, ' ');
    this.room(Buffer.byteLength(clean) + 3);
    this.buf[this.at++] = 0x2d;
    this.at += this.buf.write(clean, this.at);
    this.ascii(CRLF);
  }

  /** `:n` (a safe integer or an int64 bigint). */
  integer(n: number | bigint): void {
    this.ascii(`:${n}${CRLF}`);
  }

  /** `$len\r\nbytes\r\n`; null: the null bulk (RESP3: `_`). */
  bulk(value: Uint8Array | string | null): void {
    if (value === null) return this.nil();
    if (typeof value === 'string') {
      const n = Buffer.byteLength(value);
      this.ascii(`$${n}${CRLF}`);
      this.room(n + 2);
      this.at += this.buf.write(value, this.at);
    } else {
      this.ascii(`$${value.length}${CRLF}`);
      this.room(value.length + 2);
      this.buf.set(value, this.at);
      this.at += value.length;
    }
    this.ascii(CRLF);
  }

  /**
   * Reserves room for a bulk of up to `max` bytes and returns where its bytes go; finish it
   * with {@link bulkEnd}(start, length). For values copied straight from shared memory.
   */
  bulkStart(max: number): { bytes: Buffer; at: number } {
    // `$` + up to 10 digits + CRLF, the value, CRLF.
    this.room(max + 16);
    return { bytes: this.buf, at: this.at + 13 };
  }

  /** Ends a bulk of `length` bytes written at `valueAt` (from {@link bulkStart}). */
  bulkEnd(valueAt: number, length: number): void {
    const head = `$${length}${CRLF}`;
    // The header goes where the bulk starts; the value moves down to close the gap (a
    // memmove: Buffer#copy handles the overlap).
    this.buf.copy(this.buf, this.at + head.length, valueAt, valueAt + length);
    this.buf.write(head, this.at, 'latin1');
    this.at += head.length + length;
    this.ascii(CRLF);
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
    this.ascii(`*${n}${CRLF}`);
  }

  /** A map header of `n` pairs: RESP3 `%n`, RESP2 an array of 2n elements. */
  map(n: number): void {
    this.ascii(this.protocol === 3 ? `%${n}${CRLF}` : `*${2 * n}${CRLF}`);
  }

  /** A set header of `n` elements: RESP3 `~n`, RESP2 an array. */
  set(n: number): void {
    this.ascii(this.protocol === 3 ? `~${n}${CRLF}` : `*${n}${CRLF}`);
  }

  /** A push header of `n` elements (RESP3 `>n`, RESP2 an array): pub/sub messages. */
  push(n: number): void {
    this.ascii(this.protocol === 3 ? `>${n}${CRLF}` : `*${n}${CRLF}`);
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
