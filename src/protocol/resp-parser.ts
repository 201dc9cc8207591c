/**
 * An incremental parser of Redis's request protocol (RESP: multibulk `*N\r\n$len\r\n…`, and
 * inline commands as `redis-cli` and telnet users type them), with limits. Pure: bytes in,
 * commands (arrays of byte strings) out; it knows nothing of what they mean.
 *
 * Limits, as Redis's `processMultibulkBuffer` and `processInlineBuffer` have them (Redis's
 * wording in the errors):
 * - a bulk longer than `maxBulkBytes`: `Protocol error: invalid bulk length`;
 * - more than `maxArgs` arguments: `Protocol error: invalid multibulk length`;
 * - an inline line (or a header line) longer than `maxInlineBytes` without its end:
 *   `Protocol error: too big inline request` (`too big mbulk count string`, `too big bulk
 *   count string` for header lines);
 * - anything else that is not RESP: `Protocol error: expected '$', got 'x'` and the like.
 * After a protocol error the stream cannot be resynchronized: the caller answers the error
 * and closes the connection, as Redis does.
 *
 * @module
 */

/** Limits of one connection's requests. */
export interface RespLimits {
  /** Largest bulk string, in bytes (a value; Redis's proto-max-bulk-len). */
  maxBulkBytes: number;
  /** Most arguments of one command (Redis: 1024 × 1024). */
  maxArgs: number;
  /** Longest inline command or header line, in bytes (Redis: 64 KiB). */
  maxInlineBytes: number;
}

/** A request stream that cannot be read on: answer `-ERR <message>` and close. */
export class RespProtocolError extends Error {
  constructor(message: string) {
    super(`Protocol error: ${message}`);
    this.name = 'RespProtocolError';
  }
}

const CR = 13;
const LF = 10;

/**
 * One connection's parser. {@link push} the bytes as they arrive; {@link nextCommand} parses
 * each whole command in order and leaves its arguments where they were received: argument
 * `i` is {@link argLength}(i) bytes of {@link bytes} from {@link argStart}(i), valid until the
 * next push (the hot commands read keys and values there, with no Buffer per argument);
 * {@link args} gives them as Buffers for the others. {@link next} does both.
 * @throws RespProtocolError from {@link nextCommand} / {@link next} when the stream is not
 *   RESP or passes a limit.
 */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  /** The buffer the current command's arguments are in (the received bytes, or an inline command's own). */
  private cmd: Buffer = this.buf;
  private starts = new Int32Array(16);
  private lens = new Int32Array(16);
  private count = 0;

  constructor(private readonly limits: RespLimits) {}

  /** Adds received bytes. The arguments of commands already returned stay valid only until then. */
  push(chunk: Buffer): void {
    if (this.at >= this.buf.length) {
      this.buf = chunk;
      this.at = 0;
      return;
    }
    this.buf = Buffer.concat([this.buf.subarray(this.at), chunk]);
    this.at = 0;
  }

  /** Bytes received and not yet parsed into a command. */
  get pending(): number {
    return this.buf.length - this.at;
  }

  /** The current command's arguments, the name included (after {@link nextCommand} > 0). */
  get argCount(): number {
    return this.count;
  }

  /** The bytes argument `i` of the current command is in (see {@link argStart}). */
  get bytes(): Buffer {
    return this.cmd;
  }

  /** Where argument `i` starts in {@link bytes}. */
  argStart(i: number): number {
    return this.starts[i];
  }

  /** Argument `i`'s length in bytes. */
  argLength(i: number): number {
    return this.lens[i];
  }

  /** Argument `i` as a Buffer (a view of the received bytes, valid until the next push). */
  arg(i: number): Buffer {
    const s = this.starts[i];
    return this.cmd.subarray(s, s + this.lens[i]);
  }

  /** The current command's arguments as Buffers (views, valid until the next push). */
  args(): Buffer[] {
    const out: Buffer[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.arg(i);
    return out;
  }

  /** The next whole command as Buffers, or undefined when more bytes are needed. */
  next(): Buffer[] | undefined {
    return this.nextCommand() > 0 ? this.args() : undefined;
  }

  /** Parses the next whole command: its argument count, or 0 when more bytes are needed. */
  nextCommand(): number {
    for (;;) {
      const n = this.parseOne();
      // `*0` (and `*-1`) are skipped by Redis: an empty command, answered with nothing.
      if (n !== 0) return n < 0 ? 0 : n;
    }
  }

  /** One command: its argument count, 0 for an empty one (skipped), -1 when more bytes are needed. */
  private parseOne(): number {
    const buf = this.buf;
    let at = this.at;
    // Empty lines between commands are skipped, as Redis does.
    while (at < buf.length && (buf[at] === CR || buf[at] === LF)) at++;
    this.at = at;
    if (at >= buf.length) return -1;
    if (buf[at] !== 0x2a) return this.inline(at); // not '*': an inline command
    const head = this.line(at + 1, 'too big mbulk count string');
    if (head === undefined) return -1;
    const count = parseLength(buf, at + 1, head);
    if (count === null || count > this.limits.maxArgs) throw new RespProtocolError('invalid multibulk length');
    at = head + 2;
    if (count > this.starts.length) {
      // Grown to what the arguments received so far can fill (a huge count is claimed by
      // its header long before its arguments arrive; at least 6 bytes each).
      const room = Math.min(count, Math.max(16, (buf.length - at) / 6 + 1) | 0);
      if (room > this.starts.length) this.grow(room);
    }
    for (let i = 0; i < count; i++) {
      if (at >= buf.length) return -1;
      if (buf[at] !== 0x24) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[at])}'`);
      const end = this.line(at + 1, 'too big bulk count string');
      if (end === undefined) return -1;
      const len = parseLength(buf, at + 1, end);
      if (len === null || len > this.limits.maxBulkBytes) throw new RespProtocolError('invalid bulk length');
      const start = end + 2;
      if (start + len + 2 > buf.length) return -1;
      if (buf[start + len] !== CR || buf[start + len + 1] !== LF) throw new RespProtocolError('bulk string not followed by CRLF');
      if (i >= this.starts.length) this.grow(Math.min(count, this.starts.length * 2));
      this.starts[i] = start;
      this.lens[i] = len;
      at = start + len + 2;
    }
    this.at = at;
    this.cmd = buf;
    this.count = count;
    return count;
  }

  private grow(n: number): void {
    const starts = new Int32Array(n);
    const lens = new Int32Array(n);
    starts.set(this.starts.subarray(0, Math.min(n, this.starts.length)));
    lens.set(this.lens.subarray(0, Math.min(n, this.lens.length)));
    this.starts = starts;
    this.lens = lens;
  }

  /**
   * The index of the CR of the line that starts at `from`, or undefined when it has not
   * all arrived. @throws RespProtocolError when it passes maxInlineBytes.
   */
  private line(from: number, tooBig: string): number | undefined {
    const buf = this.buf;
    const cr = buf.indexOf(CR, from);
    if (cr < 0 || cr + 1 >= buf.length) {
      if (buf.length - from > this.limits.maxInlineBytes) throw new RespProtocolError(tooBig);
      return undefined;
    }
    if (cr - from > this.limits.maxInlineBytes) throw new RespProtocolError(tooBig);
    if (buf[cr + 1] !== LF) throw new RespProtocolError('expected CRLF');
    return cr;
  }

  /**
   * An inline command: words split on spaces, with Redis's quoting ("…" with escapes,
   * '…'), gathered into a buffer of their own. Returns as {@link parseOne}.
   */
  private inline(from: number): number {
    const buf = this.buf;
    const lf = buf.indexOf(LF, from);
    if (lf < 0) {
      if (buf.length - from > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
      return -1;
    }
    if (lf - from > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
    const end = lf > from && buf[lf - 1] === CR ? lf - 1 : lf;
    this.at = lf + 1;
    const words = splitInline(buf.subarray(from, end));
    if (words === null) throw new RespProtocolError('unbalanced quotes in request');
    if (words.length > this.limits.maxArgs) throw new RespProtocolError('invalid multibulk length');
    if (words.length > this.starts.length) this.grow(words.length);
    let at = 0;
    for (let i = 0; i < words.length; i++) {
      this.starts[i] = at;
      this.lens[i] = words[i].length;
      at += words[i].length;
    }
    this.cmd = Buffer.concat(words);
    this.count = words.length;
    return words.length;
  }
}

/** Parses the decimal length between `from` and `end` (may be -1); null if it is not one. */
function parseLength(buf: Buffer, from: number, end: number): number | null {
  if (end <= from || end - from > 18) return null;
  let i = from;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
    if (i === end) return null;
  }
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  if (neg) return n === 1 ? 0 : null; // -1 (a null multibulk or bulk) reads as empty; other negatives are invalid
  return n;
}

/**
 * Splits an inline line into arguments as Redis's `sdssplitargs` does: spaces separate,
 * "double quotes" take \n \r \t \b \a \\ \" and \xHH, 'single quotes' take \'. Null when a
 * quote is not closed (or a closing quote is followed by a non-space).
 */
export function splitInline(line: Uint8Array): Buffer[] | null {
  const out: Buffer[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === 0x20 || line[i] === 0x09)) i++;
    if (i >= n) break;
    const arg: number[] = [];
    const quote = line[i] === 0x22 ? 0x22 : line[i] === 0x27 ? 0x27 : 0;
    if (quote) i++;
    let closed = !quote;
    while (i < n) {
      const c = line[i];
      if (!quote) {
        if (c === 0x20 || c === 0x09) break;
        arg.push(c);
        i++;
        continue;
      }
      if (c === quote) {
        i++;
        if (i < n && line[i] !== 0x20 && line[i] !== 0x09) return null;
        closed = true;
        break;
      }
      if (c === 0x5c && i + 1 < n) {
        const e = line[i + 1];
        if (quote === 0x27) {
          if (e === 0x27) { arg.push(0x27); i += 2; continue; }
          arg.push(c);
          i++;
          continue;
        }
        if (e === 0x78 && i + 3 < n && isHex(line[i + 2]) && isHex(line[i + 3])) {
          arg.push(parseInt(String.fromCharCode(line[i + 2], line[i + 3]), 16));
          i += 4;
          continue;
        }
        const map: Record<number, number> = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7 };
        arg.push(map[e] ?? e);
        i += 2;
        continue;
      }
      arg.push(c);
      i++;
    }
    if (!closed) return null;
    out.push(Buffer.from(arg));
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
