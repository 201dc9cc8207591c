/**
 * The WebSocket endpoint `GET /v1/ws` on the data port (protocol: docs/ws-protocol.md,
 * codec: ws-protocol.ts). Binary messages carry one or many pipelined requests, each with an
 * id; the answer to a message is one message with a response per request, in order. Text
 * messages carry the same requests as JSON, for debugging and browsers.
 *
 * Limits: a message over `maxMessageBytes` makes uWS drop the connection at once (the
 * client sees 1006); the answers to one message are built within `maxResponseBytes` (a
 * request past it gets `SABCACHE_ERR_RESPONSE_TOO_LARGE`, checked before its value is
 * copied); more than `maxRequestsPerMessage` requests answers an error for the
 * first one over and skips the rest; when an answer would push the bytes buffered for a
 * client past `maxBackpressureBytes` (it does not read, or asked for more than that in one
 * message), the answer is not sent and the connection is closed with code 4001 (never
 * buffered without bound, never dropped silently); an idle connection is closed after `idleTimeoutSeconds` (pings
 * keep a live one open). Upgrades whose `Origin` is not allowed get 403 (cross-site
 * WebSocket hijacking): requests without Origin (non-browser clients) are allowed.
 *
 * WATCH / UNWATCH subscribe a connection to changes of a key or a prefix, made by any thread
 * (watch-hub.ts, over the shared change feed).
 *
 * @module
 */
import { BadOptionError, RateLimitedError, ResponseTooLargeError, SabcacheError, TooManyConnectionsError } from '../errors.ts';
import { CONNECTION_WS, type ConnectionLimiter, REFUSED_ADDRESS, REFUSED_TOTAL } from './connection-limiter.ts';
import type { RefusalCounter } from './refusal-counter.ts';
import { identityOfAddress, identityOfName, type RateLimiter } from './rate-limiter.ts';
import { CLASS_BATCH, CLASS_OTHER, CLASS_READ, CLASS_WRITE, PROTOCOL_WS } from './metrics-words.ts';
import type { ThreadMetrics } from './thread-metrics.ts';
import { nearestName } from '../util/known-options.ts';
import { EntryResult, entryTtlSeconds, entryTypeName, entryVersion, VALUE_INTEGER, VALUE_STRING, versionEpoch } from '../commands/entry.ts';
import { getInto, getSliceInto, ttl } from '../commands/read.ts';
import { scanKeys } from '../commands/scan.ts';
import { RequestCounter } from '../commands/stats.ts';
import { del, expire, incr, persist, type SetOptions, setSlice, setWith } from '../commands/write.ts';
import type { SharedCache } from '../shared-cache.ts';
import type { Cors } from './cors.ts';
import { DeferredFrames } from './deferred-frames.ts';
import { httpError, httpErrorFrom } from './http-errors.ts';
import type { Credentials, Principal } from './credentials.ts';
import { BEARER_PROTOCOL, tokenOfProtocols, UNAUTHORIZED, writeChallenges, wsRefusal } from './http-auth.ts';
import type { ServingState } from './serving-state.ts';
import { type App, uws } from './uws.ts';
import { WatchHub, type WatchSocket } from './watch-hub.ts';
import {
  decodeRequests, FLAG_IF_ABSENT, FLAG_PREFIX, OP_UNWATCH, OP_WATCH, FLAG_IF_PRESENT, FLAG_IF_VERSION, FrameError, OP_DEL, OP_EXPIRE, OP_GET, OP_INCR,
  OP_PERSIST, OP_SCAN, OP_SET, OP_TTL, requestKey, ResponseWriter, ST_NOT_FOUND, ST_OK, ST_PRECONDITION_FAILED, VT_BYTES, VT_INTEGER,
  VT_STRING, type WsRequest,
} from '../protocol/ws-protocol.ts';
import { log } from './log.ts';

/** WebSocket limits of one server (validated by config.ts). */
export interface WsLimits {
  /** Largest message a client may send, in bytes. */
  maxMessageBytes: number;
  /** Most requests in one message. */
  maxRequestsPerMessage: number;
  /** Most bytes buffered for a client that does not read; past it the client is disconnected (4001). */
  maxBackpressureBytes: number;
  /** Seconds without traffic before a connection is closed (0 = never). */
  idleTimeoutSeconds: number;
  /**
   * Byte budget of one message's answer. A request whose answer would pass it is answered
   * with `SABCACHE_ERR_RESPONSE_TOO_LARGE` instead (its value is not copied); the others
   * are answered as usual.
   */
  maxResponseBytes: number;
}

/** Close code: the client did not read its answers fast enough. */
export const CLOSE_BACKPRESSURE = 4001;
/** Close code (RFC 6455 1011): handling a message failed unexpectedly (a bug, logged). */
export const CLOSE_INTERNAL_ERROR = 1011;
/** Close code: the server is stopping or restarting this worker. */
export const CLOSE_GOING_AWAY = 1001;

/** JSON op names; a Map, so that names from Object.prototype (`constructor`, `__proto__`) are unknown. */
const OPS = new Map<string, number>([['get', OP_GET], ['set', OP_SET], ['del', OP_DEL], ['incr', OP_INCR], ['expire', OP_EXPIRE], ['persist', OP_PERSIST], ['ttl', OP_TTL], ['watch', OP_WATCH], ['unwatch', OP_UNWATCH]]);
/** The metrics class of each op code (metrics-words.ts); a typed array, so the lookup per request stays monomorphic. */
const OP_CLASS = new Uint8Array(256).fill(CLASS_OTHER);
for (const op of [OP_GET, OP_TTL]) OP_CLASS[op] = CLASS_READ;
for (const op of [OP_SET, OP_DEL, OP_INCR, OP_EXPIRE, OP_PERSIST]) OP_CLASS[op] = CLASS_WRITE;
OP_CLASS[OP_SCAN] = CLASS_BATCH;
/** Fields a JSON request may have; any other is refused (SABCACHE_ERR_BAD_OPTION). */
const JSON_FIELDS = ['id', 'op', 'key', 'value', 'ttl', 'by', 'ifVersion', 'ifAbsent', 'ifPresent', 'prefix'];
const enc = new TextEncoder();
const SHUTTING_DOWN = httpError('SABCACHE_ERR_SHUTTING_DOWN', 'this worker is stopping: connect again');

/** What the upgrade gives a connection. */
interface Connection {
  /** Its credential (null without credentials configured). */
  principal: Principal | null;
  /** Whom its requests are charged to (rate-limiter.ts): its credential, or its address. */
  identity: number;
  /** Its slot in the connection counts (connection-limiter.ts), given back at close. */
  slot: number;
}

interface Socket extends WatchSocket {
  end(code?: number, reason?: string): void;
  getUserData(): Connection;
  getRemoteAddressAsText(): ArrayBuffer;
}

/** Who may connect and how often they may ask (each part optional). */
export interface WsGuard {
  /** Users and tokens; null: no credentials configured. */
  credentials: Credentials | null;
  /** Rate limits, charged per request. */
  rate?: RateLimiter;
  /** Connection limits, checked at the upgrade. */
  connections?: ConnectionLimiter;
  /** Counts upgrades and requests refused for their credential. */
  refusals?: RefusalCounter;
}

/** Registers `/v1/ws` on `app`. Returns a function that closes every open WebSocket. */
export function registerWsRoute(app: App, cache: SharedCache, state: ServingState, limits: WsLimits, cors: Cors, guard: WsGuard = { credentials: null }): (code: number, reason: string) => void {
  const { credentials, rate, connections, refusals } = guard;
  const cx = cache.commands;
  const requests = new RequestCounter(cx);
  const epoch = versionEpoch(cx);
  const maxValueBytes = cx.maxValueBytes;
  // This thread's results: what a GET found, what a write made (reused, allocation-free).
  const found = new EntryResult();
  const written = new EntryResult();
  const sockets = new Set<Socket>();
  const writer = new ResponseWriter();
  /** Answer frames that wait for the WAL (--fsync always). */
  const deferred = new DeferredFrames();
  const options: SetOptions = {};
  const hub = new WatchHub(cx, limits.maxBackpressureBytes);
  /** The connection whose message is being handled (for WATCH). */
  let current: Socket | undefined;
  const budget = limits.maxResponseBytes;
  const OVER_BUDGET = new ResponseTooLargeError(budget, "this request's answer, with the answers before it in the message,");
  /** Bytes of the JSON answers built so far for the current text message. */
  let jsonBytes = 0;
  /** Where a JSON GET copies its value (grows up to max-value-bytes, then is reused). */
  let jsonScratch = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();


  /** What the upgrade gave the connection being served (read once per message: getUserData crosses into uWS). */
  let currentConnection: Connection | undefined;

  /** The credential of the connection being served (null without credentials configured). */
  function principalOfCurrent(): Principal | null {
    return credentials === null ? null : currentConnection!.principal;
  }

  /** The error for a request over the rate limit of its connection's client, or null. */
  function rateRefusal(): RateLimitedError | null {
    if (rate === undefined) return null;
    const wait = rate.take(currentConnection!.identity);
    return wait > 0 ? new RateLimitedError(`rate limit exceeded: retry in ${wait} ms`) : null;
  }

  /** Operations of the message being handled, by class (metrics-words.ts), for its latency. */
  const classCounts = new Int32Array(4);

  /** Executes one request and writes its response. */
  function execute(r: WsRequest): void {
    requests.count();
    classCounts[OP_CLASS[r.op & 255]]++;
    const principal = principalOfCurrent();
    if (principal !== null) {
      // The key is decoded only for a credential with key patterns (the common one has none).
      const refused = wsRefusal(principal, r.op, principal.keys === null ? '' : requestKey(r), (r.flags & FLAG_PREFIX) !== 0);
      if (refused !== null) {
        refusals?.auth();
        return writer.error(r.id, refused.code, refused.message);
      }
    }
    if (rate !== undefined) {
      const limited = rateRefusal();
      if (limited !== null) return writer.error(r.id, limited.code, limited.message);
    }
    try {
      switch (r.op) {
        case OP_GET: {
          // The hot path: key hashed from the frame, value copied straight into the answer.
          const mark = writer.length;
          const at = writer.valueStart(r.id);
          let n = getSliceInto(cx, r.frame, r.keyStart, r.keyLength, writer.bytes, at, found);
          // A value that does not fit was not copied: the budget is checked before growing.
          while (n > writer.bytes.length - at && at + n <= budget) {
            writer.ensure(at, n + 32);
            n = getSliceInto(cx, r.frame, r.keyStart, r.keyLength, writer.bytes, at, found);
          }
          if (n < 0) {
            writer.truncate(mark);
            return writer.status(r.id, ST_NOT_FOUND);
          }
          if (at + n > budget) {
            writer.truncate(mark);
            return writer.error(r.id, OVER_BUDGET.code, OVER_BUDGET.message);
          }
          const type = found.type === VALUE_STRING ? VT_STRING : found.type === VALUE_INTEGER ? VT_INTEGER : VT_BYTES;
          return writer.valueEnd(at, n, type, entryTtlSeconds(cx, found), epoch, found.version);
        }
        case OP_SET: {
          if (r.flags === 0) {
            // Unconditional SET, the hot path: no version text either way.
            setSlice(cx, r.frame, r.keyStart, r.keyLength, r.value, r.ttlSeconds, written); // a TTL out of range is refused
            return writer.storedRaw(r.id, epoch, written.version);
          }
          options.ttlSeconds = r.ttlSeconds;
          options.ifAbsent = (r.flags & FLAG_IF_ABSENT) !== 0;
          options.ifPresent = (r.flags & FLAG_IF_PRESENT) !== 0;
          options.ifVersion = (r.flags & FLAG_IF_VERSION) !== 0 ? r.version : undefined;
          if (!setWith(cx, requestKey(r), r.value, options, written)) return writer.status(r.id, ST_PRECONDITION_FAILED);
          return writer.stored(r.id, entryVersion(cx, written));
        }
        case OP_DEL:
          return writer.status(r.id, del(cx, requestKey(r)) ? ST_OK : ST_NOT_FOUND);
        case OP_INCR:
          return writer.integer(r.id, incr(cx, requestKey(r), r.by));
        case OP_EXPIRE:
          return writer.status(r.id, expire(cx, requestKey(r), r.ttlSeconds) ? ST_OK : ST_NOT_FOUND);
        case OP_PERSIST:
          return writer.status(r.id, persist(cx, requestKey(r)) ? ST_OK : ST_NOT_FOUND);
        case OP_TTL:
          return writer.ttl(r.id, ttl(cx, requestKey(r)));
        case OP_WATCH:
          hub.watch(current!, requestKey(r).slice(), (r.flags & FLAG_PREFIX) !== 0, false);
          return writer.status(r.id, ST_OK);
        case OP_UNWATCH:
          return writer.status(r.id, hub.unwatch(current!, requestKey(r), (r.flags & FLAG_PREFIX) !== 0) ? ST_OK : ST_NOT_FOUND);
        case OP_SCAN: {
          const keys: Uint8Array[] = [];
          const next = scanKeys(cx, r.cursor, r.count, r.keyLength ? requestKey(r) : null, keys);
          let size = writer.length;
          for (const k of keys) size += 2 + k.length;
          if (size > budget) return writer.error(r.id, OVER_BUDGET.code, OVER_BUDGET.message);
          return writer.keys(r.id, next, keys);
        }
      }
    } catch (e) {
      if (!(e instanceof SabcacheError)) log.error({ err: e }, 'WebSocket request failed');
      writer.error(r.id, e instanceof SabcacheError ? e.code : 'SABCACHE_ERR_INTERNAL', e instanceof SabcacheError ? e.message : 'internal error');
    }
  }

  /**
   * Sends, or disconnects (close 4001) a client whose unread answers would pass the
   * backpressure limit. Checked before sending, so the buffer never exceeds the limit and
   * the close frame still gets through; an answer is never dropped silently.
   */
  function send(ws: Socket, message: Uint8Array | string, isBinary: boolean): void {
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    if (ws.getBufferedAmount() + size > limits.maxBackpressureBytes) {
      ws.end(CLOSE_BACKPRESSURE, 'backpressure limit exceeded: read your answers, or ask for less per message');
      return;
    }
    // 2 = uWS dropped it (cannot happen below our own limit, which is uWS's too): close, never lose silently.
    if (ws.send(message, isBinary) === 2) ws.end(CLOSE_BACKPRESSURE, 'backpressure limit exceeded');
  }

  /** Runs a JSON text message: one request object or an array of them. */
  function executeJson(text: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return JSON.stringify({ id: 0, status: 'error', error: { code: 'SABCACHE_ERR_BAD_REQUEST', message: 'the message is not valid JSON' } });
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length > limits.maxRequestsPerMessage) {
      return JSON.stringify({ id: 0, status: 'error', error: { code: 'SABCACHE_ERR_BAD_REQUEST', message: `more than ${limits.maxRequestsPerMessage} requests in one message` } });
    }
    // Each answer is serialized on its own and counted against the budget, so the message's
    // answer never grows past it (one value's text at most on top, before it is refused).
    jsonBytes = 0;
    const answers: string[] = [];
    for (const q of list) {
      let text = JSON.stringify(jsonRequest(q));
      let size = Buffer.byteLength(text);
      if (jsonBytes + size > budget) {
        text = JSON.stringify(jsonError(jsonId(q), OVER_BUDGET));
        size = Buffer.byteLength(text);
      }
      jsonBytes += size + 1;
      answers.push(text);
    }
    return Array.isArray(parsed) ? `[${answers.join(',')}]` : answers[0];
  }

  function jsonId(q: unknown): number {
    const id = (q as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isInteger(id) ? id : 0;
  }

  function jsonError(id: number, e: SabcacheError): object {
    return { id, status: 'error', error: { code: e.code, message: e.message } };
  }

  function jsonRequest(q: unknown): object {
    const r = q as { id?: unknown; op?: unknown; key?: unknown; value?: unknown; ttl?: unknown; by?: unknown; ifVersion?: unknown; ifAbsent?: unknown; ifPresent?: unknown; prefix?: unknown };
    const id = jsonId(q);
    const bad = (message: string) => ({ id, status: 'error', error: { code: 'SABCACHE_ERR_BAD_REQUEST', message } });
    if (!r || typeof r !== 'object' || Array.isArray(r)) return bad('a request is an object');
    for (const name in r) {
      if (!JSON_FIELDS.includes(name)) return jsonError(id, new BadOptionError(name, `unknown field of a request; did you mean ${nearestName(name, JSON_FIELDS)}?`));
    }
    const op = typeof r.op === 'string' ? OPS.get(r.op) : undefined;
    if (op === undefined) return bad(`unknown op; one of ${[...OPS.keys()].join(', ')}`);
    if (typeof r.key !== 'string') return bad('"key" must be a string');
    requests.count();
    classCounts[OP_CLASS[op & 255]]++;
    const principal = principalOfCurrent();
    if (principal !== null) {
      const refused = wsRefusal(principal, op, r.key, r.prefix === true);
      if (refused !== null) {
        refusals?.auth();
        return jsonError(id, refused);
      }
    }
    if (rate !== undefined) {
      const limited = rateRefusal();
      if (limited !== null) return jsonError(id, limited);
    }
    try {
      const key = r.key;
      switch (op) {
        case OP_GET: {
          // Copied only if it fits in what is left of the budget (nothing is copied otherwise).
          const room = Math.max(0, budget - jsonBytes);
          if (jsonScratch.length < Math.min(room, maxValueBytes)) jsonScratch = new Uint8Array(Math.min(room, maxValueBytes));
          const n = getInto(cx, key, jsonScratch.subarray(0, room), 0, found);
          if (n < 0) return { id, status: 'not_found' };
          if (n > room) return jsonError(id, OVER_BUDGET);
          return { id, status: 'value', value: decoder.decode(jsonScratch.subarray(0, n)), version: entryVersion(cx, found), ttl: entryTtlSeconds(cx, found), type: entryTypeName(found) };
        }
        case OP_SET: {
          if (typeof r.value !== 'string') return bad('"value" must be a string');
          if (r.ttl !== undefined && typeof r.ttl !== 'number') return bad('"ttl" must be a number of seconds');
          const stored = setWith(cx, key, r.value, {
            ttlSeconds: (r.ttl as number | undefined) ?? 0,
            ifVersion: typeof r.ifVersion === 'string' ? r.ifVersion : undefined,
            ifAbsent: r.ifAbsent === true, ifPresent: r.ifPresent === true,
          }, written);
          return stored ? { id, status: 'stored', version: entryVersion(cx, written) } : { id, status: 'precondition_failed' };
        }
        case OP_DEL: return { id, status: del(cx, key) ? 'ok' : 'not_found' };
        case OP_INCR: {
          const by = r.by === undefined ? 1 : typeof r.by === 'number' ? r.by : typeof r.by === 'string' && /^-?\d{1,19}$/.test(r.by) ? BigInt(r.by) : NaN;
          return { id, status: 'integer', value: String(incr(cx, key, by)) };
        }
        case OP_EXPIRE:
          if (typeof r.ttl !== 'number') return bad('"ttl" must be a number of seconds');
          return { id, status: expire(cx, key, r.ttl) ? 'ok' : 'not_found' };
        case OP_PERSIST: return { id, status: persist(cx, key) ? 'ok' : 'not_found' };
        case OP_WATCH:
          hub.watch(current!, enc.encode(key), r.prefix === true, true);
          return { id, status: 'ok' };
        case OP_UNWATCH: return { id, status: hub.unwatch(current!, enc.encode(key), r.prefix === true) ? 'ok' : 'not_found' };
        default: return { id, status: 'ttl', ttl: ttl(cx, key) };
      }
    } catch (e) {
      if (!(e instanceof SabcacheError)) log.error({ err: e }, 'WebSocket request failed');
      return { id, status: 'error', error: { code: e instanceof SabcacheError ? e.code : 'SABCACHE_ERR_INTERNAL', message: e instanceof SabcacheError ? e.message : 'internal error' } };
    }
  }

  app.ws<Connection>('/v1/ws', {
    compression: uws.DISABLED,
    maxPayloadLength: limits.maxMessageBytes,
    maxBackpressure: limits.maxBackpressureBytes,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      if (!cors.admits(req.getHeader('origin'))) return cors.forbid(res);
      if (state.draining) {
        res.writeStatus(SHUTTING_DOWN.status).writeHeader('Content-Type', 'application/json').end(SHUTTING_DOWN.body, true);
        return;
      }
      let protocol = req.getHeader('sec-websocket-protocol');
      let principal: Principal | null = null;
      if (credentials !== null) {
        // The Authorization header, or (browsers) a token offered as a subprotocol, which the
        // answer then names as the one chosen (http-auth.ts).
        const authorization = req.getHeader('authorization');
        const token = authorization === '' ? tokenOfProtocols(protocol) : '';
        principal = authorization !== '' ? credentials.checkAuthorization(authorization) : token !== '' ? credentials.checkToken(token) : null;
        if (principal === null) {
          refusals?.auth();
          res.writeStatus(UNAUTHORIZED.status).writeHeader('Content-Type', 'application/json');
          writeChallenges(res);
          res.end(UNAUTHORIZED.body, true);
          return;
        }
        if (token !== '') protocol = `${BEARER_PROTOCOL}${token}`;
      }
      const needAddress = connections !== undefined || (rate !== undefined && principal === null);
      const address = needAddress ? identityOfAddress(res.getRemoteAddressAsText()) : 0;
      let slot = -1;
      if (connections !== undefined) {
        // Counted from here to close: uWS opens the socket within upgrade(), and calls close for every socket it opened.
        slot = connections.open(address, CONNECTION_WS);
        if (slot === REFUSED_TOTAL || slot === REFUSED_ADDRESS) {
          const e = httpErrorFrom(new TooManyConnectionsError(slot === REFUSED_TOTAL ? `too many connections (--max-connections ${connections.limits.maxConnections})` : `too many connections from your address (--max-connections-per-address ${connections.limits.maxConnectionsPerAddress})`));
          res.cork(() => res.writeStatus(e.status).writeHeader('Content-Type', 'application/json').end(e.body, true));
          return;
        }
      }
      const identity = principal !== null ? identityOfName(principal.name) : address;
      const connection: Connection = { principal, identity, slot };
      res.upgrade(connection, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => { sockets.add(ws); },
    close: (ws) => {
      sockets.delete(ws);
      hub.forget(ws);
      connections?.close(ws.getUserData().slot, CONNECTION_WS);
    },
    drain: (ws) => hub.drained(ws),
    message: (ws, message, isBinary) => {
      try {
        onMessage(ws, message, isBinary);
      } catch (e) {
        // A bug in one message must not end the worker (and every connection on it).
        log.error({ err: e }, 'WebSocket message failed');
        try {
          ws.end(CLOSE_INTERNAL_ERROR, 'internal error');
        } catch {
          // already closed
        }
      }
    },
  });

  /** Handles one message: runs its requests and sends (or defers) one answer. */
  function onMessage(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    current = ws;
    currentConnection = credentials !== null || rate !== undefined ? ws.getUserData() : undefined;
    const metrics = state.metrics;
    const startMs = metrics !== undefined ? performance.now() : 0;
    classCounts.fill(0);
    handleMessage(ws, message, isBinary);
    // The answer to every request of the message leaves at once: each waited this long here.
    if (metrics !== undefined) {
      const ms = performance.now() - startMs;
      for (let c = 0; c < 4; c++) if (classCounts[c] > 0) metrics.record(PROTOCOL_WS, c, ms, classCounts[c]);
      if (ms >= metrics.slowMs) slowMessage(metrics, ws, message, isBinary, ms);
    }
  }

  /** Logs a slow message (slow-log.ts): a text message's first bytes, a binary one's size and request count. */
  function slowMessage(metrics: ThreadMetrics, ws: Socket, message: ArrayBuffer, isBinary: boolean, ms: number): void {
    let requests = 0;
    for (let c = 0; c < 4; c++) requests += classCounts[c];
    let client = '';
    try {
      client = Buffer.from(ws.getRemoteAddressAsText()).toString();
    } catch {
      // closed while the message was handled
    }
    const what = isBinary ? `binary message of ${message.byteLength} bytes` : Buffer.from(message, 0, Math.min(message.byteLength, 128));
    metrics.slow(PROTOCOL_WS, ms, ['WS', `${requests} requests`, what], client);
  }

  function handleMessage(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    if (!isBinary) {
      const text = executeJson(Buffer.from(message).toString('utf8'));
      return state.afterDurable(() => {
        if (sockets.has(ws)) send(ws, text, false);
      });
    }
    writer.reset();
    try {
      decodeRequests(new Uint8Array(message), limits.maxRequestsPerMessage, execute);
    } catch (e) {
      if (e instanceof FrameError) writer.error(e.id, 'SABCACHE_ERR_BAD_REQUEST', e.message);
      else {
        log.error({ err: e }, 'WebSocket message failed');
        writer.error(0, 'SABCACHE_ERR_INTERNAL', 'internal error');
      }
    }
    if (!state.durableWaits) return send(ws, writer.frame(), true);
    // --fsync always: the answer leaves once the WAL has synced this message's changes
    // (the writer's buffer is reused meanwhile: keep a copy), unless the socket closed.
    const kept = deferred.keep(writer.frame());
    state.afterDurable(() => {
      if (sockets.has(ws)) send(ws, kept.bytes, true);
      deferred.release(kept);
    });
  }

  return (code, reason) => {
    void hub.stop();
    for (const ws of [...sockets]) ws.end(code, reason);
  };
}
