/**
 * Watches of one server worker: which WebSocket connections watch which keys and prefixes,
 * fed by one {@link ChangeFeedTail} over the shared change feed (started while anyone here
 * watches). Events are batched per connection, one message per feed turn.
 *
 * A connection that does not keep up (its unread bytes pass half the backpressure limit)
 * gets no further events until it has read them; then it gets one LAGGED message, so a
 * watcher always learns that it missed events and never misses them silently. Feed lag
 * (the ring lapped this worker) reaches every watcher as LAGGED too.
 *
 * Exact watches are found by the key's hash (records carry it); prefix watches are matched
 * against the record's key bytes, so a prefix longer than FEED_KEY_BYTES never matches.
 *
 * @module
 */
import { CHANGE_KIND_NAMES, laggedMessage, ResponseWriter } from '../protocol/ws-protocol.ts';
import type { CommandContext } from '../commands/context.ts';
import { type ChangeRecord, type ChangeFeedTail, followChanges, keyHash } from '../commands/watch.ts';

/** What the hub needs of a uWS WebSocket. */
export interface WatchSocket {
  send(message: Uint8Array | string, isBinary?: boolean): number;
  cork(cb: () => void): unknown;
  getBufferedAmount(): number;
}

/** One watching connection. */
interface Watcher {
  ws: WatchSocket;
  /** Answers events in the JSON form (it watched with a text message). */
  json: boolean;
  /** Events were withheld; tell it (LAGGED) once it has read its backlog. */
  lagged: boolean;
  /** Exact watches as [hash lo, hash hi] pairs. */
  exact: [number, number][];
  prefixes: Uint8Array[];
  /** Events of the current feed turn. */
  out: ResponseWriter;
  outJson: object[];
}

const dec = new TextDecoder();

/** The watches of one worker. */
export class WatchHub {
  private readonly watchers = new Map<WatchSocket, Watcher>();
  /**
   * Exact watches by the key's hash: lo → (hi → watchers). Numbers, so that matching a
   * record allocates nothing.
   */
  private readonly byHash = new Map<number, Map<number, Set<Watcher>>>();
  private prefixWatchers = 0;
  private readonly tail: ChangeFeedTail;
  /** Watchers with events waiting to be sent at the end of this turn. */
  private readonly dirty = new Set<Watcher>();

  constructor(private readonly cx: CommandContext, private readonly maxBackpressureBytes: number) {
    this.tail = followChanges(cx, (r) => this.onChange(r), () => this.onLagged(), () => this.flush());
  }

  private hashOf(key: Uint8Array): [number, number] {
    return keyHash(this.cx, key);
  }

  private watchersOf(lo: number, hi: number): Set<Watcher> | undefined {
    return this.byHash.get(lo)?.get(hi);
  }

  private removeExact(w: Watcher, lo: number, hi: number): void {
    const his = this.byHash.get(lo);
    const set = his?.get(hi);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) his!.delete(hi);
    if (his!.size === 0) this.byHash.delete(lo);
  }

  /** Adds a watch of `key` (or of every key starting with it) for `ws`. */
  watch(ws: WatchSocket, key: Uint8Array, prefix: boolean, json: boolean): void {
    let w = this.watchers.get(ws);
    if (!w) {
      w = { ws, json, lagged: false, exact: [], prefixes: [], out: new ResponseWriter(), outJson: [] };
      this.watchers.set(ws, w);
    }
    w.json = json;
    if (prefix) {
      if (!w.prefixes.some((p) => equal(p, key))) {
        w.prefixes.push(key.slice());
        this.prefixWatchers++;
      }
    } else {
      const [lo, hi] = this.hashOf(key);
      if (!w.exact.some(([l, h]) => l === lo && h === hi)) w.exact.push([lo, hi]);
      let his = this.byHash.get(lo);
      if (!his) this.byHash.set(lo, (his = new Map()));
      let set = his.get(hi);
      if (!set) his.set(hi, (set = new Set()));
      set.add(w);
    }
    this.tail.start();
  }

  /** Removes one watch; returns whether it existed. */
  unwatch(ws: WatchSocket, key: Uint8Array, prefix: boolean): boolean {
    const w = this.watchers.get(ws);
    if (!w) return false;
    let found = false;
    if (prefix) {
      const i = w.prefixes.findIndex((p) => equal(p, key));
      if (i >= 0) {
        w.prefixes.splice(i, 1);
        this.prefixWatchers--;
        found = true;
      }
    } else {
      const [lo, hi] = this.hashOf(key);
      const i = w.exact.findIndex(([l, h]) => l === lo && h === hi);
      if (i >= 0) {
        w.exact.splice(i, 1);
        this.removeExact(w, lo, hi);
        found = true;
      }
    }
    if (w.exact.length === 0 && w.prefixes.length === 0) this.forget(ws);
    return found;
  }

  /** Drops every watch of a closed connection. */
  forget(ws: WatchSocket): void {
    const w = this.watchers.get(ws);
    if (!w) return;
    for (const [lo, hi] of w.exact) this.removeExact(w, lo, hi);
    this.prefixWatchers -= w.prefixes.length;
    this.watchers.delete(ws);
    this.dirty.delete(w);
    if (this.watchers.size === 0) void this.tail.stop();
  }

  /** A connection drained its backlog (uWS `drain`): tell it if it missed events. */
  drained(ws: WatchSocket): void {
    const w = this.watchers.get(ws);
    if (!w || !w.lagged || ws.getBufferedAmount() > this.maxBackpressureBytes / 4) return;
    w.lagged = false;
    ws.cork(() => {
      if (w.json) ws.send(JSON.stringify({ id: 0, status: 'lagged' }), false);
      else ws.send(LAGGED_FRAME, true);
    });
  }

  /** Stops tailing (worker shutdown). */
  stop(): Promise<void> {
    return this.tail.stop();
  }

  private deliver(w: Watcher, r: ChangeRecord): void {
    if (w.lagged) return;
    if (w.ws.getBufferedAmount() > this.maxBackpressureBytes / 2) {
      // Too slow: withhold events, and say so once it has caught up.
      w.lagged = true;
      w.out.reset();
      w.outJson.length = 0;
      return;
    }
    if (w.json) w.outJson.push({ id: 0, status: 'event', kind: CHANGE_KIND_NAMES[r.kind], key: dec.decode(r.key), truncated: r.truncated });
    else w.out.event(r.kind, r.truncated, r.key, r.key.length);
    this.dirty.add(w);
  }

  private onChange(r: ChangeRecord): void {
    const set = this.watchersOf(r.hashLo, r.hashHi);
    if (set) for (const w of set) this.deliver(w, r);
    if (this.prefixWatchers === 0) return;
    for (const w of this.watchers.values()) {
      if (set?.has(w)) continue;
      for (const p of w.prefixes) {
        if (p.length <= r.key.length && startsWith(r.key, p)) {
          this.deliver(w, r);
          break;
        }
      }
    }
  }

  private onLagged(): void {
    for (const w of this.watchers.values()) {
      w.lagged = true;
      w.out.reset();
      w.outJson.length = 0;
      this.dirty.delete(w);
      this.drained(w.ws);
    }
  }

  /** Sends each connection its events of this turn, one message each. */
  private flush(): void {
    for (const w of this.dirty) {
      const ws = w.ws;
      let result = 1;
      ws.cork(() => {
        if (w.json) {
          if (w.outJson.length) result = ws.send(JSON.stringify(w.outJson.length === 1 ? w.outJson[0] : w.outJson), false);
        } else if (w.out.length) result = ws.send(w.out.frame(), true);
      });
      // 2: uWS dropped the message (over its backpressure limit): these events are lost,
      // so the connection hears LAGGED once it has drained.
      if (result === 2) w.lagged = true;
      w.out.reset();
      w.outJson.length = 0;
    }
    this.dirty.clear();
  }
}

const LAGGED_FRAME = laggedMessage();

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWith(a, b);
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}
