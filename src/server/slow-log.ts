/**
 * The slow log: operations that took at least `--slowlog-threshold` microseconds, as
 * Redis's SLOWLOG keeps them (its id, end time, duration, arguments, client address and
 * name; arguments cut as Redis cuts them: at most 32, each at most 128 bytes). Each server
 * worker writes its own ring of the shared slow log buffer (slowlog-words.ts), so a slow
 * operation costs no lock; any thread reads every ring (RESP `SLOWLOG GET` on a worker,
 * `GET /v1/admin/slowlog` on the main thread) and merges them newest first.
 *
 * Each entry is a seqlock (docs/design.md §7, Metrics): its word is odd while its owner
 * rewrites it; a reader keeps a copy only when the word was even and unchanged across
 * the copy, so it never returns one entry's arguments with another's id.
 *
 * @module
 */
import {
  ADDR_OFFSET, ADDR_ROOM, ARGS_OFFSET, ARGS_ROOM, E_ADDR_BYTES, E_ARGS_BYTES, E_AT_MS, E_DURATION_US, E_ID, E_NAME_BYTES, E_PROTOCOL, E_SEQ,
  entryOffset, NAME_OFFSET, NAME_ROOM, W_CURSORS, W_MAX_LEN, W_NEXT_ID, W_RESET_ID, W_SLOTS,
} from './slowlog-words.ts';

/** Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING. */
const MAX_ARGS = 32;
const MAX_ARG_BYTES = 128;

/** One slow log entry, as read. */
export interface SlowLogEntry {
  /** Unique, increasing across threads. */
  id: number;
  /** When the operation ended, unix milliseconds. */
  atMs: number;
  /** How long it took, microseconds. */
  durationUs: number;
  /** Its protocol (metrics-words.ts PROTOCOL_*). */
  protocol: number;
  /** The command and its arguments (RESP), or the method and path (HTTP), or a description (WebSocket). */
  args: Buffer[];
  /** The client's address (`ip:port` over RESP, `ip` elsewhere). */
  client: string;
  /** The client's name (RESP CLIENT SETNAME), else "". */
  clientName: string;
}

const encoder = new TextEncoder();

/** Writes `text` (cut to `room` bytes) at `offset`; returns the bytes written. */
function putText(bytes: Uint8Array, offset: number, room: number, text: string): number {
  return encoder.encodeInto(text.length > room ? text.slice(0, room) : text, bytes.subarray(offset, offset + room)).written;
}

/** One worker's writer: its ring of the slow log buffer. */
export class SlowLogWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly bytes: Uint8Array;
  private readonly maxLen: number;
  private readonly slots: number;

  /**
   * @param buffer the slow log buffer (slowlog-words.ts createSlowLogBuffer)
   * @param slot this worker's slot
   * @param thresholdUs operations taking at least this long are logged; negative: none
   *   (Redis's `slowlog-log-slower-than`, whose 0 logs every command)
   */
  constructor(buffer: SharedArrayBuffer, private readonly slot: number, readonly thresholdUs: number) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.maxLen = this.i32[W_MAX_LEN];
    this.slots = this.i32[W_SLOTS];
  }

  /** The threshold in milliseconds, as performance.now() differences compare (Infinity when off). */
  get thresholdMs(): number {
    return this.thresholdUs < 0 ? Infinity : this.thresholdUs / 1000;
  }

  /** Logs one slow operation. `args` are its command and arguments (cut as Redis cuts them). */
  add(protocol: number, durationUs: number, args: readonly (Uint8Array | string)[], client: string, clientName = ''): void {
    const i32 = this.i32;
    const cursor = i32[W_CURSORS + this.slot]; // only this worker writes its cursor
    const off = entryOffset(this.slots, this.maxLen, this.slot, cursor);
    const w = off >> 2;
    const d = off >> 3;
    const seq = i32[w + E_SEQ]; // only this worker writes its entries
    // Ordering: odd before any field changes, so a reader that copies a field of the new
    // entry sees the word odd or changed when it checks it again, and drops its copy.
    Atomics.store(i32, w + E_SEQ, seq + 1);
    i32[w + E_ID] = Atomics.add(i32, W_NEXT_ID, 1);
    this.f64[d + E_AT_MS] = Date.now();
    this.f64[d + E_DURATION_US] = durationUs;
    i32[w + E_PROTOCOL] = protocol;
    i32[w + E_ADDR_BYTES] = putText(this.bytes, off + ADDR_OFFSET, ADDR_ROOM, client);
    i32[w + E_NAME_BYTES] = putText(this.bytes, off + NAME_OFFSET, NAME_ROOM, clientName);
    i32[w + E_ARGS_BYTES] = this.putArgs(off + ARGS_OFFSET, args);
    // Ordering: even again only after every field is written: a reader that sees this
    // value on both sides of its copy copied the whole entry.
    Atomics.store(i32, w + E_SEQ, seq + 2);
    i32[W_CURSORS + this.slot] = (cursor + 1) % this.maxLen;
  }

  /** Writes the arguments (16-bit length, bytes), cut as Redis cuts them; returns the bytes used. */
  private putArgs(at: number, args: readonly (Uint8Array | string)[]): number {
    const bytes = this.bytes;
    let used = 0;
    const n = Math.min(args.length, MAX_ARGS);
    for (let i = 0; i < n; i++) {
      const rest = args.length - i;
      // The last room of 32 says how many more there were (Redis's wording).
      let arg: Uint8Array | string = i === MAX_ARGS - 1 && rest > 1 ? `... (${rest} more arguments)` : args[i];
      let src = typeof arg === 'string' ? encoder.encode(arg) : arg;
      if (src.length > MAX_ARG_BYTES) {
        const more = encoder.encode(`... (${src.length - MAX_ARG_BYTES} more bytes)`);
        const cut = new Uint8Array(MAX_ARG_BYTES + more.length);
        cut.set(src.subarray(0, MAX_ARG_BYTES));
        cut.set(more, MAX_ARG_BYTES);
        arg = cut;
        src = cut;
      }
      if (used + 2 + src.length > ARGS_ROOM) break; // the entry's room is full: the rest is left out
      bytes[at + used] = src.length >> 8;
      bytes[at + used + 1] = src.length & 0xff;
      bytes.set(src, at + used + 2);
      used += 2 + src.length;
    }
    return used;
  }
}

/** Reads one entry; null when it is unused, reset, or was being rewritten at every try. */
function readEntry(buffer: SharedArrayBuffer, i32: Int32Array, f64: Float64Array, off: number, resetId: number): SlowLogEntry | null {
  const w = off >> 2;
  const d = off >> 3;
  for (let attempt = 0; attempt < 4; attempt++) {
    // Ordering: the word first (even: no write under way), the fields, then the word again.
    const seq = Atomics.load(i32, w + E_SEQ);
    if (seq === 0) return null;
    if (seq & 1) continue;
    const id = i32[w + E_ID];
    const atMs = f64[d + E_AT_MS];
    const durationUs = f64[d + E_DURATION_US];
    const protocol = i32[w + E_PROTOCOL];
    const argBytes = Math.min(ARGS_ROOM, i32[w + E_ARGS_BYTES]);
    const addrBytes = Math.min(ADDR_ROOM, i32[w + E_ADDR_BYTES]);
    const nameBytes = Math.min(NAME_ROOM, i32[w + E_NAME_BYTES]);
    // Copies: the ring may be rewritten once the word is checked.
    const argArea = Buffer.from(new Uint8Array(buffer, off + ARGS_OFFSET, Math.max(0, argBytes)));
    const client = Buffer.from(new Uint8Array(buffer, off + ADDR_OFFSET, Math.max(0, addrBytes))).toString('utf8');
    const clientName = Buffer.from(new Uint8Array(buffer, off + NAME_OFFSET, Math.max(0, nameBytes))).toString('utf8');
    if (Atomics.load(i32, w + E_SEQ) !== seq) continue;
    if (id < resetId) return null;
    const args: Buffer[] = [];
    for (let p = 0; p + 2 <= argArea.length;) {
      const len = (argArea[p] << 8) | argArea[p + 1];
      args.push(argArea.subarray(p + 2, p + 2 + len));
      p += 2 + len;
    }
    return { id, atMs, durationUs, protocol, args, client, clientName };
  }
  return null;
}

/**
 * The newest `count` entries of every worker (all of them for a negative count), newest
 * first, as SLOWLOG GET returns them.
 */
export function readSlowLog(buffer: SharedArrayBuffer, count: number): SlowLogEntry[] {
  const i32 = new Int32Array(buffer);
  const f64 = new Float64Array(buffer);
  const maxLen = i32[W_MAX_LEN];
  const slots = i32[W_SLOTS];
  const resetId = Atomics.load(i32, W_RESET_ID);
  const out: SlowLogEntry[] = [];
  for (let s = 0; s < slots; s++) {
    for (let i = 0; i < maxLen; i++) {
      const e = readEntry(buffer, i32, f64, entryOffset(slots, maxLen, s, i), resetId);
      if (e !== null) out.push(e);
    }
  }
  out.sort((a, b) => b.id - a.id);
  // As Redis's slowlog-max-len: the log as a whole keeps that many.
  const keep = Math.min(out.length, maxLen);
  return out.slice(0, count < 0 ? keep : Math.min(count, keep));
}

/** Entries the log holds now (SLOWLOG LEN). */
export function slowLogLength(buffer: SharedArrayBuffer): number {
  return readSlowLog(buffer, -1).length;
}

/** Empties the log for every reader (SLOWLOG RESET): entries logged before now are hidden. */
export function resetSlowLog(buffer: SharedArrayBuffer): void {
  const i32 = new Int32Array(buffer);
  // Every id taken so far is hidden, an entry being written at this instant included.
  Atomics.store(i32, W_RESET_ID, Atomics.load(i32, W_NEXT_ID));
}
