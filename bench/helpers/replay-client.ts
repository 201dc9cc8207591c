/**
 * Replays a trace against a cache server over one pipelined TCP connection, look-aside: each
 * request is a GET; a miss is followed by a SET of that key (with the key's TTL) before the
 * key is read again. Requests go in windows of up to `window` with no key twice in one
 * window: the window's GETs are pipelined, then its misses' SETs, and the next window starts
 * once every reply is in. So the server sees the trace's order, except that a window's SETs
 * follow its GETs (a window is a few dozen requests of millions).
 *
 * Two wire protocols: RESP (Redis, sabcache) and memcached's text protocol.
 */
import { connect, type Socket } from 'node:net';
import type { Trace } from './traces.ts';

/** The wire protocol of the server a replay talks to. */
export type WireProtocol = 'resp' | 'memcached';

/** What the client saw. */
export interface ReplayCounts {
  requests: number;
  hits: number;
  misses: number;
  /** SETs the server refused (memcached's SERVER_ERROR out of memory, a RESP error). */
  setErrors: number;
}

/** One connection with a buffer of replies not yet consumed. */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.failure = e;
      this.wake?.();
    });
    socket.on('close', () => {
      this.failure ??= new Error('connection closed');
      this.wake?.();
    });
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  write(chunks: Buffer[]): void {
    this.socket.write(Buffer.concat(chunks));
  }

  /**
   * Waits until `parse` can read `count` replies from the buffer; returns what it read.
   * `parse(buf, at)` returns [reply, next offset], or null while the reply is incomplete.
   */
  async read<T>(count: number, parse: (b: Buffer, at: number) => [T, number] | null): Promise<T[]> {
    const out: T[] = [];
    let at = 0;
    for (;;) {
      while (out.length < count) {
        const r = parse(this.buf, at);
        if (r === null) break;
        out.push(r[0]);
        at = r[1];
      }
      if (out.length === count) {
        this.buf = this.buf.subarray(at);
        return out;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function lineEnd(b: Buffer, at: number): number {
  const i = b.indexOf(13, at);
  return i < 0 || i + 1 >= b.length ? -1 : i;
}

/** A RESP reply: `true` for a bulk string or +OK, `false` for a nil, an Error for an error. */
function parseResp(b: Buffer, at: number): [boolean | Error, number] | null {
  const e = lineEnd(b, at);
  if (e < 0) return null;
  const head = b.toString('latin1', at, e);
  if (head[0] === '$') {
    const n = Number(head.slice(1));
    if (n < 0) return [false, e + 2];
    return e + 2 + n + 2 <= b.length ? [true, e + 2 + n + 2] : null;
  }
  if (head[0] === '-') return [new Error(head), e + 2];
  if (head[0] === '_') return [false, e + 2]; // RESP3 null
  return [true, e + 2];
}

/** A memcached reply to `get` (hit: true) or `set` (STORED: true), or an Error. */
function parseMemcached(b: Buffer, at: number): [boolean | Error, number] | null {
  const e = lineEnd(b, at);
  if (e < 0) return null;
  const line = b.toString('latin1', at, e);
  if (line === 'END') return [false, e + 2];
  if (line === 'STORED') return [true, e + 2];
  if (line.startsWith('VALUE ')) {
    const n = Number(line.split(' ')[3]);
    const end = e + 2 + n + 2; // data, then "END\r\n"
    if (end + 5 > b.length) return null;
    return [true, end + 5];
  }
  return [new Error(line), e + 2];
}

function getCommand(protocol: WireProtocol, key: string): Buffer {
  if (protocol === 'memcached') return Buffer.from(`get ${key}\r\n`);
  return Buffer.from(`*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`);
}

function setCommand(protocol: WireProtocol, key: string, value: Buffer, ttlSeconds: number): Buffer {
  if (protocol === 'memcached') return Buffer.concat([Buffer.from(`set ${key} 0 ${ttlSeconds} ${value.length}\r\n`), value, Buffer.from('\r\n')]);
  const ttl = ttlSeconds > 0 ? `$2\r\nEX\r\n$${String(ttlSeconds).length}\r\n${ttlSeconds}\r\n` : '';
  return Buffer.concat([Buffer.from(`*${ttlSeconds > 0 ? 5 : 3}\r\n$3\r\nSET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$${value.length}\r\n`), value, Buffer.from(`\r\n${ttl}`)]);
}

/**
 * Replays `trace` against the server on `port` (127.0.0.1). Keys are `key:<id>`; values are
 * the trace's size for the key. Throws on a GET error (a SET error is counted: a server may
 * refuse an item it cannot place). With `ratePerSecond` > 0, requests are paced to that rate
 * (never faster), so that every server sees the trace over the same wall time: what real-second
 * TTLs need for servers of different speeds to be compared.
 */
export async function replayTrace(port: number, protocol: WireProtocol, trace: Trace, window = 64, ratePerSecond = 0): Promise<ReplayCounts> {
  const conn = await Conn.open(port);
  const parse = protocol === 'memcached' ? parseMemcached : parseResp;
  const maxValue = trace.valueBytes.reduce((a, b) => Math.max(a, b), 1);
  const value = Buffer.alloc(maxValue, 120);
  const counts: ReplayCounts = { requests: 0, hits: 0, misses: 0, setErrors: 0 };
  const inWindow = new Set<number>();
  const ids: number[] = [];
  const { keys, valueBytes, ttlSeconds } = trace;
  const t0 = performance.now();
  try {
    let i = 0;
    while (i < keys.length) {
      if (ratePerSecond > 0) {
        const ahead = t0 + (i * 1000) / ratePerSecond - performance.now();
        if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
      }
      inWindow.clear();
      ids.length = 0;
      while (i < keys.length && ids.length < window && !inWindow.has(keys[i])) {
        inWindow.add(keys[i]);
        ids.push(keys[i++]);
      }
      conn.write(ids.map((k) => getCommand(protocol, `key:${k}`)));
      const replies = await conn.read(ids.length, parse);
      const sets: Buffer[] = [];
      for (let j = 0; j < ids.length; j++) {
        const r = replies[j];
        if (r instanceof Error) throw new Error(`GET key:${ids[j]}: ${r.message}`);
        counts.requests++;
        if (r) counts.hits++;
        else {
          counts.misses++;
          const k = ids[j];
          sets.push(setCommand(protocol, `key:${k}`, value.subarray(0, valueBytes[k]), ttlSeconds[k]));
        }
      }
      if (sets.length) {
        conn.write(sets);
        for (const r of await conn.read(sets.length, parse)) if (r !== true) counts.setErrors++;
      }
    }
  } finally {
    conn.close();
  }
  return counts;
}

/**
 * Sends one command and returns its reply's text: for RESP a bulk string (INFO), an integer
 * (DBSIZE) or a status; for memcached `stats`, the lines up to END.
 */
export async function command(port: number, protocol: WireProtocol, args: string[]): Promise<string> {
  const conn = await Conn.open(port);
  try {
    if (protocol === 'memcached') {
      conn.write([Buffer.from(`${args.join(' ')}\r\n`)]);
      const [text] = await conn.read(1, (b, at) => {
        const end = b.indexOf('END\r\n', at);
        return end < 0 ? null : [b.toString('latin1', at, end), end + 5];
      });
      return text;
    }
    conn.write([Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)]);
    const [text] = await conn.read(1, (b, at) => {
      const e = lineEnd(b, at);
      if (e < 0) return null;
      const head = b.toString('latin1', at, e);
      if (head[0] === '$' || head[0] === '=') {
        const n = Number(head.slice(1));
        return e + 2 + n + 2 <= b.length ? [b.toString('utf8', e + 2, e + 2 + n), e + 2 + n + 2] : null;
      }
      return [head.slice(1), e + 2];
    });
    return text;
  } finally {
    conn.close();
  }
}

/** The `name:value` (RESP INFO) or `STAT name value` (memcached stats) fields of `text`. */
export function statFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(/^STAT (\S+) (.*)$/) ?? line.match(/^([a-z_0-9]+):(.*)$/);
    if (m) out.set(m[1], m[2].trim());
  }
  return out;
}
