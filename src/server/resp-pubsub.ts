/**
 * Keyspace notifications of one server worker's RESP port (docs/design.md §7): which
 * connections subscribe to which channels and patterns, fed by one {@link ChangeFeedTail}
 * over the shared change feed (started while anyone here subscribes), so that writes made by
 * any thread and over any protocol are heard.
 *
 * Channels, as Redis names them (database 0 only):
 * - `__keyspace@0__:<key>`, message: the event;
 * - `__keyevent@0__:<event>`, message: the key;
 * with the events `set` (any write that stores a value: SET, INCR, LPUSH, HSET, … over any
 * protocol), `del`, `expired` and `evicted`. The change feed keeps the first
 * FEED_KEY_BYTES (112) bytes of a key: a longer key's keyevent messages carry those bytes,
 * and patterns match against them; an exact `__keyspace@0__:<key>` channel is matched by the
 * key's hash and its stored bytes, so it hears a long key too.
 *
 * A subscriber whose unread replies pass `maxOutputBytes` is disconnected, as Redis does at
 * its pubsub output-buffer limit; so is every subscriber of a worker whose feed reader fell
 * so far behind that records were overwritten: a subscriber is never buffered without
 * bound, and never misses messages without knowing (its connection closes).
 *
 * @module
 */
import type { CommandContext } from '../commands/context.ts';
import { type ChangeRecord, type ChangeFeedTail, followChanges, keyHash } from '../commands/watch.ts';
import { RespWriter } from '../protocol/resp-writer.ts';
import { globRegExp } from './redis-glob.ts';

/** What the hub needs of a subscribed connection. */
export interface PubSubConnection {
  /** RESP version of the connection (2 or 3): messages are arrays in 2, pushes in 3. */
  protocol(): number;
  /** Sends bytes (a batch of messages). */
  send(bytes: Buffer): void;
  /** Bytes written and not yet read by the peer. */
  bufferedBytes(): number;
  /** Closes the connection (a subscriber that does not keep up). */
  drop(): void;
}

const KEYSPACE = '__keyspace@0__:';
const KEYEVENT = '__keyevent@0__:';
const KEYSPACE_BYTES = Buffer.from(KEYSPACE, 'latin1');
/** Event names by change kind (layout.ts CHANGE_*). */
const EVENTS = ['', 'set', 'del', 'expired', 'evicted'];
const EVENT_BYTES = EVENTS.map((e) => Buffer.from(e, 'latin1'));
const EVENT_CHANNELS = EVENTS.map((e) => Buffer.from(KEYEVENT + e, 'latin1'));

/** One subscribed connection. */
interface Subscriber {
  conn: PubSubConnection;
  /** Channels (latin1 text of their bytes). */
  channels: Set<string>;
  /** Patterns (latin1 text) and their RegExps. */
  patterns: Map<string, RegExp>;
  /** Messages of this feed turn. */
  out: RespWriter;
}

/** An exact keyspace channel: the subscribers of one key. */
interface KeyChannel {
  key: Buffer;
  subscribers: Set<Subscriber>;
}

/** The keyspace notification subscriptions of one worker. */
export class RespPubSub {
  private readonly subscribers = new Map<PubSubConnection, Subscriber>();
  /** Keyspace channels by the key's hash lanes: lo → hi → channel (numbers: matching allocates nothing). */
  private readonly keyChannels = new Map<number, Map<number, KeyChannel[]>>();
  /** Keyevent channel subscribers by change kind. */
  private readonly eventSubscribers: Set<Subscriber>[] = EVENTS.map(() => new Set());
  private readonly patternSubscribers = new Set<Subscriber>();
  private readonly dirty = new Set<Subscriber>();
  private readonly tail: ChangeFeedTail;

  /**
   * @param maxOutputBytes unread bytes after which a subscriber is disconnected (Redis's
   *   `client-output-buffer-limit pubsub`).
   */
  constructor(private readonly cx: CommandContext, private readonly maxOutputBytes: number) {
    this.tail = followChanges(cx, (r) => this.onChange(r), () => this.onLagged(), () => this.flush());
  }

  /** Subscriptions (channels and patterns) of `conn`: what Redis's replies count. */
  count(conn: PubSubConnection): number {
    const s = this.subscribers.get(conn);
    return s ? s.channels.size + s.patterns.size : 0;
  }

  private subscriberOf(conn: PubSubConnection): Subscriber {
    let s = this.subscribers.get(conn);
    if (!s) {
      s = { conn, channels: new Set(), patterns: new Map(), out: new RespWriter() };
      this.subscribers.set(conn, s);
    }
    return s;
  }

  /** Subscribes `conn` to `channel` (bytes); returns its subscription count after. */
  subscribe(conn: PubSubConnection, channel: Buffer): number {
    const s = this.subscriberOf(conn);
    const name = channel.toString('latin1');
    if (!s.channels.has(name)) {
      s.channels.add(name);
      this.index(s, channel, true);
    }
    this.tail.start();
    return this.count(conn);
  }

  /** Subscribes `conn` to the glob `pattern`; returns its subscription count after. */
  psubscribe(conn: PubSubConnection, pattern: Buffer): number {
    const s = this.subscriberOf(conn);
    const name = pattern.toString('latin1');
    if (!s.patterns.has(name)) {
      s.patterns.set(name, globRegExp(name));
      this.patternSubscribers.add(s);
    }
    this.tail.start();
    return this.count(conn);
  }

  /**
   * Unsubscribes `conn` from `channels` (all of its channels when empty); calls `each` with
   * each channel left (null when it had none) and the count after.
   */
  unsubscribe(conn: PubSubConnection, channels: Buffer[], each: (channel: string | null, count: number) => void): void {
    const s = this.subscribers.get(conn);
    const names = channels.length ? channels.map((c) => c.toString('latin1')) : [...(s?.channels ?? [])];
    if (names.length === 0) each(null, this.count(conn));
    for (const name of names) {
      if (s?.channels.delete(name)) this.index(s, Buffer.from(name, 'latin1'), false);
      each(name, this.count(conn));
    }
    this.forgetIfIdle(conn);
  }

  /** As {@link unsubscribe}, for patterns. */
  punsubscribe(conn: PubSubConnection, patterns: Buffer[], each: (pattern: string | null, count: number) => void): void {
    const s = this.subscribers.get(conn);
    const names = patterns.length ? patterns.map((c) => c.toString('latin1')) : [...(s?.patterns.keys() ?? [])];
    if (names.length === 0) each(null, this.count(conn));
    for (const name of names) {
      s?.patterns.delete(name);
      if (s && s.patterns.size === 0) this.patternSubscribers.delete(s);
      each(name, this.count(conn));
    }
    this.forgetIfIdle(conn);
  }

  /** Drops every subscription of `conn` (closed, or RESET). */
  forget(conn: PubSubConnection): void {
    const s = this.subscribers.get(conn);
    if (!s) return;
    for (const name of s.channels) this.index(s, Buffer.from(name, 'latin1'), false);
    this.patternSubscribers.delete(s);
    this.dirty.delete(s);
    this.subscribers.delete(conn);
    if (this.subscribers.size === 0) void this.tail.stop();
  }

  /** Stops following the feed (worker shutdown). */
  stop(): Promise<void> {
    return this.tail.stop();
  }

  private forgetIfIdle(conn: PubSubConnection): void {
    if (this.subscribers.has(conn) && this.count(conn) === 0) this.forget(conn);
  }

  /** Adds (or removes) `s` to the index the channel's records are matched by. */
  private index(s: Subscriber, channel: Buffer, add: boolean): void {
    const name = channel.toString('latin1');
    if (name.startsWith(KEYEVENT)) {
      const kind = EVENTS.indexOf(name.slice(KEYEVENT.length));
      if (kind > 0) add ? this.eventSubscribers[kind].add(s) : this.eventSubscribers[kind].delete(s);
      return;
    }
    if (!name.startsWith(KEYSPACE) || channel.length === KEYSPACE.length) return; // a channel no change is published on
    const key = channel.subarray(KEYSPACE.length);
    const [lo, hi] = keyHash(this.cx, key);
    let his = this.keyChannels.get(lo);
    if (!his) this.keyChannels.set(lo, (his = new Map()));
    let list = his.get(hi);
    if (!list) his.set(hi, (list = []));
    let ch = list.find((c) => c.key.equals(key));
    if (add) {
      if (!ch) list.push((ch = { key: Buffer.from(key), subscribers: new Set() }));
      ch.subscribers.add(s);
      return;
    }
    if (!ch) return;
    ch.subscribers.delete(s);
    if (ch.subscribers.size > 0) return;
    list.splice(list.indexOf(ch), 1);
    if (list.length === 0) his.delete(hi);
    if (his.size === 0) this.keyChannels.delete(lo);
  }

  private onChange(r: ChangeRecord): void {
    const kind = r.kind;
    if (kind <= 0 || kind >= EVENTS.length) return;
    const key = r.key.subarray(0, Math.min(r.keyLength, r.key.length));
    for (const s of this.eventSubscribers[kind]) this.message(s, EVENT_CHANNELS[kind], key);
    const list = this.keyChannels.get(r.hashLo)?.get(r.hashHi);
    if (list) {
      for (const ch of list) {
        // The hash names the key; its bytes (all of them, or the feed's first 112) confirm it.
        if (ch.key.length !== r.keyLength || !startsWith(ch.key, key)) continue;
        const channel = Buffer.concat([KEYSPACE_BYTES, ch.key]);
        for (const s of ch.subscribers) this.message(s, channel, EVENT_BYTES[kind]);
      }
    }
    if (this.patternSubscribers.size === 0) return;
    const keyText = Buffer.from(key).toString('latin1');
    const spaceChannel = KEYSPACE + keyText;
    const eventChannel = KEYEVENT + EVENTS[kind];
    for (const s of this.patternSubscribers) {
      for (const [pattern, re] of s.patterns) {
        if (re.test(spaceChannel)) this.pmessage(s, pattern, spaceChannel, EVENTS[kind]);
        if (re.test(eventChannel)) this.pmessage(s, pattern, eventChannel, keyText);
      }
    }
  }

  private message(s: Subscriber, channel: Uint8Array, payload: Uint8Array): void {
    const w = s.out;
    w.protocol = s.conn.protocol();
    w.push(3);
    w.bulk('message');
    w.bulk(channel);
    w.bulk(payload);
    this.dirty.add(s);
  }

  private pmessage(s: Subscriber, pattern: string, channel: string, payload: string): void {
    const w = s.out;
    w.protocol = s.conn.protocol();
    w.push(4);
    w.bulk('pmessage');
    w.bulk(Buffer.from(pattern, 'latin1'));
    w.bulk(Buffer.from(channel, 'latin1'));
    w.bulk(Buffer.from(payload, 'latin1'));
    this.dirty.add(s);
  }

  /** The feed lapped this worker: every subscriber missed messages, so each is disconnected. */
  private onLagged(): void {
    for (const s of [...this.subscribers.values()]) {
      s.conn.drop();
      this.forget(s.conn);
    }
  }

  /** Sends each subscriber its messages of this turn, in one write; drops one that does not read. */
  private flush(): void {
    for (const s of this.dirty) {
      if (s.conn.bufferedBytes() > this.maxOutputBytes) {
        s.out.take();
        s.conn.drop();
        this.forget(s.conn);
        continue;
      }
      s.conn.send(s.out.take());
    }
    this.dirty.clear();
  }
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}
