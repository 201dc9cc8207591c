/**
 * A typed, promise-based client for sabcache's WebSocket endpoint (docs/ws-protocol.md). It
 * pipelines: every request made in the same tick goes out in one binary message, and
 * answers are matched by id. It reconnects with exponential backoff and full jitter.
 * It runs in browsers and in Node: it uses `globalThis.WebSocket` (browsers, Node 22+) or
 * the constructor given in the options (Node 20: the `ws` package).
 *
 * @module
 */
import { BadOptionError, BadTtlError, BadValueError, ClosedError, ConnectionError, errorFromCode, SabcacheError, TimeoutError } from '../errors.ts';
import { EntryClient } from './entry-client.ts';
import {
  CHANGE_KIND_NAMES, decodeResponses, FLAG_IF_ABSENT, FLAG_IF_PRESENT, FLAG_IF_VERSION, FLAG_PREFIX, OP_UNWATCH, OP_WATCH, ST_EVENT, ST_LAGGED, OP_DEL, OP_EXPIRE, OP_GET, OP_INCR, OP_PERSIST,
  OP_SCAN, OP_SET, OP_TTL, RequestWriter, ST_ERROR, ST_INTEGER, ST_KEYS, ST_NOT_FOUND, ST_OK, ST_PRECONDITION_FAILED,
  ST_STORED, ST_TTL, ST_VALUE, type WsResponse,
} from '../protocol/ws-protocol.ts';
import type { ClientEntry, ClientSetOptions } from './http-client.ts';
import { type ClusterNode, NodeRouter, type RoutingOptions } from './node-router.ts';

/** The parts of the WHATWG WebSocket this client uses. */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

/** A WebSocket constructor (the browser's, or the `ws` package's). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link WsClient.connect}. */
export interface WsClientOptions {
  /** The endpoint, e.g. `ws://127.0.0.1:7070/v1/ws` (with {@link nodes}: none). */
  url?: string;
  /**
   * Several nodes' endpoints instead of one `url`: each key's requests go to its node by
   * ketama, as twemproxy with the same names (node-router.ts), with retries and a circuit
   * breaker per node; a key's watch goes to its node, a prefix's to every node; `scan`
   * walks the nodes one after the other. Every node must be reachable at connect.
   */
  nodes?: readonly (string | ClusterNode)[];
  /** Routing over {@link nodes} (node-router.ts). */
  routing?: RoutingOptions;
  /** WebSocket implementation. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Reconnect after the connection drops. @default true */
  reconnect?: boolean;
  /** First reconnect delay, in milliseconds; doubles per failed attempt. @default 100 */
  backoffInitialMs?: number;
  /** Longest reconnect delay, in milliseconds. @default 10000 */
  backoffMaxMs?: number;
  /** A request without an answer after this long fails with SABCACHE_ERR_TIMEOUT, in milliseconds (0 = never). @default 10000 */
  requestTimeoutMs?: number;
  /** Most requests per message: match the server's `--ws-max-requests`. @default 1000 */
  maxRequestsPerMessage?: number;
  /**
   * A signed token (server's `--token-secret`), offered as the subprotocol
   * `sabcache.bearer.<token>`, which browsers can send where they cannot set headers
   * (SECURITY.md). A refused token fails the connection. @default none
   */
  token?: string;
}

/** A watched change; `lagged`: events were missed (re-read what you watch). */
export type WatchEvent =
  | { kind: 'set' | 'delete' | 'expire' | 'evict'; key: string; truncated: boolean }
  | { kind: 'lagged' };

/** A watch listener. */
export type WatchListener = (event: WatchEvent) => void;

interface Watch {
  key: string;
  prefix: boolean;
  listener: WatchListener;
}

interface Pending {
  resolve(r: WsResponse): void;
  reject(e: Error): void;
  deadline: number;
}

const OPEN = 1;
const enc = new TextEncoder();

function errorOf(r: WsResponse): SabcacheError {
  return errorFromCode(r.code ?? 'SABCACHE_ERR_INTERNAL', r.message ?? 'error');
}

/**
 * WebSocket client. Requests sent while disconnected wait for the reconnect (up to their
 * timeout). When a connection drops, requests already sent on it fail with
 * `SABCACHE_ERR_CONNECTION`: they may or may not have been carried out.
 */
export class WsClient extends EntryClient {
  private ws: WebSocketLike | undefined;
  private readonly writer = new RequestWriter();
  private readonly pending = new Map<number, Pending>();
  /** Ids of the requests in `writer`. */
  private queued: number[] = [];
  /** Whole messages waiting for an open connection, with the ids they carry. */
  private outbox: { frame: Uint8Array; ids: number[] }[] = [];
  private nextId = 1;
  private flushScheduled = false;
  private closedByUser = false;
  private attempts = 0;
  private readonly sweep: ReturnType<typeof setInterval> | undefined;
  private readonly Ctor: WebSocketConstructor;
  private readonly watches: Watch[] = [];
  private opened = false;
  private readonly o: Required<Omit<WsClientOptions, 'WebSocket' | 'nodes' | 'routing' | 'url'>> & { url: string };
  /** With `nodes`: the router over one connected client per node (node-router.ts). */
  router: NodeRouter<WsClient> | undefined;

  private constructor(options: WsClientOptions) {
    super();
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new BadOptionError('WebSocket', 'this platform has no global WebSocket; pass one (in Node 20: the `ws` package)');
    this.Ctor = Ctor;
    this.o = {
      url: options.url ?? '', reconnect: options.reconnect ?? true, backoffInitialMs: options.backoffInitialMs ?? 100, backoffMaxMs: options.backoffMaxMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000, maxRequestsPerMessage: options.maxRequestsPerMessage ?? 1000, token: options.token ?? '',
    };
    if (this.o.requestTimeoutMs > 0) {
      // One timer for every request's deadline (a timer per request would cost more than the request).
      this.sweep = setInterval(() => this.failOverdue(), Math.min(1000, this.o.requestTimeoutMs));
      (this.sweep as { unref?: () => void }).unref?.();
    }
  }

  /**
   * Connects; resolves once the first connection is open (with `nodes`: one to every node).
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for neither or both of `url` and `nodes`.
   */
  static async connect(options: WsClientOptions): Promise<WsClient> {
    if ((options.url === undefined) === (options.nodes === undefined)) throw new BadOptionError('url', 'give a url or nodes (one of them)');
    if (options.nodes !== undefined) {
      const list = options.nodes;
      const urls = list.map((n) => (typeof n === 'string' ? n : n.url));
      const clients = await Promise.all(urls.map((url) => WsClient.connect({ ...options, url, nodes: undefined, routing: undefined })));
      const byUrl = new Map(urls.map((u, i) => [u, clients[i]]));
      const front = new WsClient({ ...options, url: urls[0], nodes: undefined, requestTimeoutMs: 0 });
      front.router = new NodeRouter(list, (url) => byUrl.get(url)!, options.routing);
      return front;
    }
    const client = new WsClient(options);
    return new Promise((resolve, reject) => {
      client.open(() => resolve(client), (e) => {
        client.close();
        reject(e);
      });
    });
  }

  private open(onFirstOpen?: () => void, onFirstFail?: (e: Error) => void): void {
    const ws = this.o.token ? new this.Ctor(this.o.url, [`sabcache.bearer.${this.o.token}`]) : new this.Ctor(this.o.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      onFirstOpen?.();
      onFirstOpen = onFirstFail = undefined;
      if (this.opened) this.resubscribe();
      this.opened = true;
      this.flush();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.ws = undefined;
      // Requests sent on this connection get no answer now.
      const lost = new ConnectionError(`connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); the request may or may not have run`);
      const waiting = new Set([...this.queued, ...this.outbox.flatMap((m) => m.ids)]);
      for (const [id, p] of this.pending) {
        if (waiting.has(id)) continue;
        this.pending.delete(id);
        p.reject(lost);
      }
      if (onFirstFail) return onFirstFail(lost);
      if (this.closedByUser || !this.o.reconnect) return this.rejectAll(lost);
      // Exponential backoff with full jitter.
      const cap = Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** this.attempts++);
      setTimeout(() => { if (!this.closedByUser) this.open(); }, Math.random() * cap);
    };
  }

  private rejectAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.queued = [];
    this.outbox = [];
    this.writer.take();
  }

  private failOverdue(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      p.reject(new TimeoutError(`no answer in ${this.o.requestTimeoutMs} ms`));
    }
  }

  private receive(data: unknown): void {
    const frame = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
    let responses: WsResponse[];
    try {
      responses = decodeResponses(frame);
    } catch {
      return;
    }
    for (const r of responses) {
      if (r.id === 0 && (r.status === ST_EVENT || r.status === ST_LAGGED)) {
        this.dispatch(r.status === ST_LAGGED ? { kind: 'lagged' } : { kind: CHANGE_KIND_NAMES[r.kind!] as 'set', key: r.key!, truncated: r.truncated! });
        continue;
      }
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (r.status === ST_ERROR) p.reject(errorOf(r));
      else p.resolve(r);
    }
  }

  /** Moves the requests written so far into the outbox as one message. */
  private seal(): void {
    if (this.queued.length === 0) return;
    this.outbox.push({ frame: this.writer.take(), ids: this.queued });
    this.queued = [];
  }

  /** Sends every waiting message if the connection is open. */
  private flush(): void {
    this.flushScheduled = false;
    this.seal();
    if (!this.ws || this.ws.readyState !== OPEN) return;
    for (const m of this.outbox) this.ws.send(m.frame);
    this.outbox = [];
  }

  private request(op: number, key: string | Uint8Array, opts?: Parameters<RequestWriter['add']>[3]): Promise<WsResponse> {
    if (this.closedByUser) return Promise.reject(new ClosedError('the client is closed'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    if (this.queued.length >= this.o.maxRequestsPerMessage) this.seal();
    this.writer.add(id, op, key, opts);
    this.queued.push(id);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: this.o.requestTimeoutMs > 0 ? Date.now() + this.o.requestTimeoutMs : Infinity });
    });
  }

  /** The value with its version and TTL, or undefined. */
  async getEntry(key: string): Promise<ClientEntry | undefined> {
    if (this.router) return this.router.run(key, (c) => c.getEntry(key));
    const r = await this.request(OP_GET, key);
    if (r.status === ST_NOT_FOUND) return undefined;
    if (r.status !== ST_VALUE) throw errorOf(r);
    return { value: r.value!, version: r.version!, ttlSeconds: r.ttlSeconds! };
  }

  /** Whether the key is present. */
  async has(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.has(key));
    return (await this.request(OP_TTL, key)).ttlSeconds !== -2;
  }

  /** Stores a value; the new version, or undefined when a condition did not hold. */
  async set(key: string, value: string | Uint8Array, options: ClientSetOptions = {}): Promise<string | undefined> {
    if (this.router) return this.router.run(key, (c) => c.set(key, value, options));
    let flags = 0;
    if (options.ifAbsent) flags |= FLAG_IF_ABSENT;
    if (options.ifPresent) flags |= FLAG_IF_PRESENT;
    if (options.ifVersion !== undefined) flags |= FLAG_IF_VERSION;
    const r = await this.request(OP_SET, key, {
      flags, ttlSeconds: options.ttlSeconds ?? 0, version: options.ifVersion?.slice(0, 255),
      value: typeof value === 'string' ? enc.encode(value) : value,
    });
    if (r.status === ST_PRECONDITION_FAILED) return undefined;
    if (r.status !== ST_STORED) throw errorOf(r);
    return r.version!;
  }

  /** Removes a key; whether it was present. */
  async delete(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.delete(key));
    return (await this.request(OP_DEL, key)).status === ST_OK;
  }

  /** Adds `by` (default 1) to the int64 under the key; the result (bigint beyond 2^53). */
  async incr(key: string, by: number | bigint = 1): Promise<number | bigint> {
    // Not retried over several nodes: a request that got no answer may have been applied.
    if (this.router) return this.router.run(key, (c) => c.incr(key, by), false);
    if (typeof by === 'number' && !Number.isSafeInteger(by)) throw new BadValueError(`the increment must be a whole number, got ${by}`);
    const r = await this.request(OP_INCR, key, { by: BigInt(by) });
    if (r.status !== ST_INTEGER) throw errorOf(r);
    const n = Number(r.integer!);
    return Number.isSafeInteger(n) ? n : r.integer!;
  }

  /** Subtracts `by` (default 1); as {@link WsClient.incr}. */
  decr(key: string, by: number | bigint = 1): Promise<number | bigint> {
    return this.incr(key, -by as number | bigint);
  }

  /** New TTL in seconds (0 deletes, as Redis EXPIRE); whether the key was present. */
  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.expire(key, ttlSeconds));
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > 2 ** 31 - 1) throw new BadTtlError(`ttlSeconds must be a whole number from 0 to ${2 ** 31 - 1}`);
    return (await this.request(OP_EXPIRE, key, { ttlSeconds })).status === ST_OK;
  }

  /** Removes the TTL; whether the key was present. */
  async persist(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.persist(key));
    return (await this.request(OP_PERSIST, key)).status === ST_OK;
  }

  /** Seconds left, -1 if it never expires, -2 if absent. */
  async ttl(key: string): Promise<number> {
    if (this.router) return this.router.run(key, (c) => c.ttl(key));
    return (await this.request(OP_TTL, key)).ttlSeconds!;
  }

  /** Values of `keys` (UTF-8), undefined where absent: pipelined in one message. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  /** Stores entries (each atomic on its own), pipelined; their versions. */
  async setMany(entries: readonly { key: string; value: string; ttlSeconds?: number }[]): Promise<string[]> {
    return (await Promise.all(entries.map((e) => this.set(e.key, e.value, { ttlSeconds: e.ttlSeconds })))) as string[];
  }

  /** One page of keys (see the in-process `scan` for the guarantee). */
  async scan(options: { prefix?: string; cursor?: string; count?: number } = {}): Promise<{ keys: string[]; cursor: string }> {
    // The nodes one after the other (node-router.ts scan).
    if (this.router) return this.router.scan(options.cursor ?? '0', (c, cursor) => c.scan({ ...options, cursor }));
    const r = await this.request(OP_SCAN, options.prefix ?? '', { count: options.count ?? 100, cursor: (options.cursor ?? '0').slice(0, 255) });
    if (r.status !== ST_KEYS) throw errorOf(r);
    return { keys: r.keys!, cursor: r.cursor! };
  }

  /**
   * Calls `listener` for each change of `key` (or, with `prefix`, of every key that starts
   * with it) made by anyone: `set`, `delete`, `expire`, `evict`; and `lagged` when events
   * were missed (the connection dropped or fell behind): then re-read what you watch.
   * Watches are renewed after a reconnect. Keys longer than the server's feed keeps (112
   * bytes) come truncated (`truncated: true`); a prefix longer than that matches nothing.
   * Resolves, once the server confirmed, with a function that removes this watch.
   */
  async watch(key: string, listener: WatchListener, options: { prefix?: boolean } = {}): Promise<() => Promise<void>> {
    if (this.router) {
      // A key's changes happen on its node; a prefix's keys are on every node.
      const targets = options.prefix ? this.router.nodes.map((n) => n.client) : [this.router.nodeFor(key)?.client ?? this.router.nodes[0].client];
      const stops = await Promise.all(targets.map((c) => c.watch(key, listener, options)));
      return async () => { await Promise.all(stops.map((s) => s())); };
    }
    const w: Watch = { key, prefix: options.prefix === true, listener };
    const first = !this.watches.some((x) => x.key === key && x.prefix === w.prefix);
    this.watches.push(w);
    if (first) {
      const r = await this.request(OP_WATCH, key, { flags: w.prefix ? FLAG_PREFIX : 0 });
      if (r.status !== ST_OK) throw errorOf(r);
    }
    return async () => {
      const i = this.watches.indexOf(w);
      if (i < 0) return;
      this.watches.splice(i, 1);
      if (!this.watches.some((x) => x.key === key && x.prefix === w.prefix) && !this.closedByUser) {
        await this.request(OP_UNWATCH, key, { flags: w.prefix ? FLAG_PREFIX : 0 });
      }
    };
  }

  private dispatch(e: WatchEvent): void {
    for (const w of [...this.watches]) {
      if (e.kind !== 'lagged') {
        const match = w.prefix ? e.key.startsWith(w.key) : e.key === w.key || (e.truncated && w.key.startsWith(e.key));
        if (!match) continue;
      }
      try {
        w.listener(e);
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }

  /** After a reconnect: watch again, and tell every listener it may have missed events. */
  private resubscribe(): void {
    const seen = new Set<string>();
    for (const w of this.watches) {
      const id = `${w.prefix ? 'p' : 'k'}:${w.key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      void this.request(OP_WATCH, w.key, { flags: w.prefix ? FLAG_PREFIX : 0 }).catch(() => {});
    }
    if (this.watches.length) this.dispatch({ kind: 'lagged' });
  }

  /** Closes the connection; pending requests fail with SABCACHE_ERR_CLOSED. Idempotent. */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    for (const n of this.router?.nodes ?? []) n.client.close();
    if (this.sweep) clearInterval(this.sweep);
    this.rejectAll(new ClosedError('the client was closed'));
    this.ws?.close(1000, 'client closed');
  }
}
