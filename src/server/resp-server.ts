/**
 * The RESP port of one server worker (docs/design.md §7): a `net.Server` on a listening
 * socket of its own with SO_REUSEPORT on the shared port, so that the kernel spreads the
 * connections over the workers with no accepting thread (Node 20's `net` has no
 * `reusePort`; `node-unix-socket`'s `createReuseportFd` makes the socket, and each worker
 * listens on its own fd: one fd shared by threads would be closed for all by one of them).
 *
 * Per connection: a RESP parser with the limits of resp-parser.ts, the commands of every
 * read run in order, and their replies written with one `write` (pipelining). A protocol
 * error is answered `-ERR Protocol error: …` and the connection closed, as Redis does; no
 * input touches stored data or ends the thread. With `--wal --fsync always`, the replies to
 * a read that changed anything go out only once the WAL has synced it (as HTTP's do), and
 * a connection's later replies wait behind them, so they stay in order.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createRequire } from 'node:module';
import { RespParser, RespProtocolError, type RespLimits } from '../protocol/resp-parser.ts';
import { RespWriter } from '../protocol/resp-writer.ts';
import { walSequence } from '../commands/persistence.ts';
import { operationCount } from '../commands/stats.ts';
import { OpsMeter } from './ops-meter.ts';
import type { SharedCache } from '../shared-cache.ts';
import { type RespServerInfo, type RespSession, runParsed } from './resp-commands.ts';
import { PROTECTED_MODE_MESSAGE } from '../errors.ts';
import { isLoopbackText } from './protected-mode.ts';
import { type PubSubConnection, RespPubSub } from './resp-pubsub.ts';
import type { SaveRequester } from './save-messages.ts';
import type { ServingState } from './serving-state.ts';
import type { TlsFiles } from './uws.ts';
import type { Credentials, Principal } from './credentials.ts';
import { CONNECTION_RESP, type ConnectionLimiter, REFUSED_TOTAL, REFUSED_ADDRESS } from './connection-limiter.ts';
import type { RefusalCounter } from './refusal-counter.ts';
import { identityOfAddressText, identityOfName, type RateLimiter } from './rate-limiter.ts';
import { PROTOCOL_RESP } from './metrics-words.ts';
import { latencySummaries } from './latency-stats.ts';
import { log } from './log.ts';

const require = createRequire(import.meta.url);

/** Redis's defaults: 1 Mi arguments per command, 64 KiB inline lines. */
export const RESP_MAX_ARGS = 1024 * 1024;
export const RESP_MAX_INLINE_BYTES = 64 * 1024;
/** Reply bytes buffered for a client that does not read before it is disconnected (Redis's output-buffer limit). */
export const RESP_MAX_OUTPUT_BYTES = 64 << 20;
/** The answer to a client outside loopback in protected mode (protected-mode.ts). */
const DENIED = `-DENIED ${PROTECTED_MODE_MESSAGE}\r\n`;
/** The same for a subscriber's messages (Redis's `client-output-buffer-limit pubsub` hard limit). */
export const RESP_MAX_PUBSUB_OUTPUT_BYTES = 32 << 20;

/** Redis's answer past `maxclients`, then the connection is closed. */
const MAX_CLIENTS = '-ERR max number of clients reached\r\n';
/** The same past `--max-connections-per-address` (Redis has no such limit; the words follow its). */
const MAX_CLIENTS_PER_ADDRESS = '-ERR max number of clients from this address reached\r\n';

/** Limits of the RESP port beyond the protocol's own, and its metrics (each optional). */
export interface RespOptions {
  /** Rate limits, charged per command. */
  rate?: RateLimiter;
  /** Connection limits, checked when a connection opens. */
  connections?: ConnectionLimiter;
  /** Every worker's latency histograms (metrics-words.ts), for INFO latencystats. */
  metricsBuffer?: SharedArrayBuffer;
  /** Every worker's slow log (slowlog-words.ts), for SLOWLOG. */
  slowLogBuffer?: SharedArrayBuffer;
  /** Counts commands and AUTHs refused for their credential, every thread (INFO rejected_auth). */
  refusals?: RefusalCounter;
}

/** A worker's RESP listener. */
export interface RespListener {
  /** Stops accepting; open connections stay until they close or {@link closeAll}. */
  stopListening(): void;
  /** Closes every open connection. */
  closeAll(): void;
  /** Open connections. */
  readonly connections: number;
}

/**
 * Listens on `host`:`port` with SO_REUSEPORT and serves RESP from this thread's attachment
 * to `cache`. Resolves once listening.
 * @throws the socket's error (EADDRINUSE, …) when it cannot listen.
 */
export async function listenResp(cache: SharedCache, state: ServingState, saves: SaveRequester, host: string, port: number, maxValueBytes: number, memoryLimitBytes: number, threadIndex: number, tls?: TlsFiles, credentials: Credentials | null = null, options: RespOptions = {}): Promise<RespListener> {
  const { rate, connections, metricsBuffer, slowLogBuffer, refusals } = options;
  const { createReuseportFd, closeFd } = require('node-unix-socket') as { createReuseportFd(port: number, host: string): number; closeFd(fd: number): void };
  const limits: RespLimits = { maxBulkBytes: maxValueBytes, maxArgs: RESP_MAX_ARGS, maxInlineBytes: RESP_MAX_INLINE_BYTES };
  const sockets = new Set<Socket>();
  let processed = 0;
  let nextId = 1;
  const failedAuth = new Map<string, number>();
  let authFailures = 0;
  const pubsub = new RespPubSub(cache.commands, RESP_MAX_PUBSUB_OUTPUT_BYTES);
  const ops = new OpsMeter(() => operationCount(cache.commands));
  const info: RespServerInfo = {
    startedAtMs: Date.now(),
    port,
    memoryLimitBytes,
    connectedClients: () => sockets.size,
    commandsProcessed: () => processed,
    opsPerSecond: () => ops.perSecond(),
    saves,
    pubsub,
    credentials: credentials?.configured ? credentials : null,
    authFailed: (addr) => {
      // Slowed per address (25 ms doubling to 2 s after 7 in a row), logged at the 1st, 2nd,
      // 4th … failure so that a guessing client cannot flood the log.
      const from = addr.slice(0, addr.lastIndexOf(':'));
      const n = (failedAuth.get(from) ?? 0) + 1;
      if (failedAuth.size >= 10_000) failedAuth.clear();
      failedAuth.set(from, n);
      authFailures++;
      refusals?.auth();
      if ((n & (n - 1)) === 0) log.warn(`failed RESP AUTH from ${from} (${n} in a row)`);
      return new Promise((resolve) => setTimeout(resolve, Math.min(2000, 25 * 2 ** Math.min(n - 1, 7))));
    },
    authSucceeded: (addr) => void failedAuth.delete(addr.slice(0, addr.lastIndexOf(':'))),
    authFailures: () => refusals?.authRefused() ?? authFailures,
    authRefused: () => refusals?.auth(),
    rejectedConnections: () => {
      const r = connections?.refused();
      return r ? r.total + r.perAddress : 0;
    },
    latency: () => (metricsBuffer ? latencySummaries(metricsBuffer) : {}),
    slowLog: slowLogBuffer ?? null,
    slowMs: state.metrics?.slowMs ?? Infinity,
    slow: (ms, argv, session) => state.metrics?.slow(PROTOCOL_RESP, ms, argv, session.addr, session.name),
    rejectedRateLimit: () => {
      const r = rate?.counts();
      return r ? r.refusedPerClient + r.refusedGlobal : 0;
    },
  };
  const cx = cache.commands;
  /** Commands of the read being served, by metrics class (metrics-words.ts). */
  const classCounts = new Int32Array(4);

  // With TLS (rediss://), node:tls on the same kind of listening fd; a connection is served
  // once its handshake is done.
  const onConnection = (socket: Socket): void => {
    if (state.protectedMode && !isLoopbackText(socket.remoteAddress)) {
      // As Redis: the reason and the way in, then the connection is closed; nothing is read.
      socket.on('error', () => socket.destroy());
      socket.end(DENIED);
      return;
    }
    const address = identityOfAddressText(socket.remoteAddress);
    let slot = -1;
    if (connections !== undefined) {
      slot = connections.open(address, CONNECTION_RESP);
      if (slot === REFUSED_TOTAL || slot === REFUSED_ADDRESS) {
        // As Redis past maxclients: the reason, then the connection is closed; nothing is read.
        socket.on('error', () => socket.destroy());
        socket.end(slot === REFUSED_TOTAL ? MAX_CLIENTS : MAX_CLIENTS_PER_ADDRESS);
        return;
      }
    }
    sockets.add(socket);
    const parser = new RespParser(limits);
    const w = new RespWriter();
    const subscriber: PubSubConnection = {
      protocol: () => w.protocol,
      send: (bytes) => socket.write(bytes),
      bufferedBytes: () => socket.writableLength,
      drop: () => socket.destroy(),
    };
    const session: RespSession = { id: threadIndex * 2 ** 32 + nextId++, name: '', quit: false, wait: undefined, subscriber, subscribed: false, principal: null, addr: `${socket.remoteAddress}:${socket.remotePort}` };
    const ctx = { cx, w, session, server: info };
    /** The credential this connection's commands are charged to (rate limits), and its identity. */
    let chargedAs: Principal | null = null;
    let identity = address;
    let waiting = 0; // replies of this connection waiting for the WAL's sync
    /** Runs the commands received so far, up to one that waits (SAVE), and sends their replies. */
    const serve = (): void => {
      const seqBefore = state.durableWaits ? walSequence(cx) : 0;
      let fatal: string | undefined;
      // One clock reading for the commands of one read: they arrived together.
      const now = rate !== undefined ? rate.now() : 0;
      const metrics = state.metrics;
      const startMs = metrics !== undefined ? performance.now() : 0;
      classCounts.fill(0);
      try {
        while (parser.nextCommand() > 0) {
          processed++;
          if (rate !== undefined) {
            // Charged to the connection's credential once it has one, else to its address
            // (the credential's identity found again only when AUTH changes it).
            if (session.principal !== chargedAs) {
              chargedAs = session.principal;
              identity = chargedAs === null ? address : identityOfName(chargedAs.name);
            }
            const wait = rate.take(identity, now);
            if (wait > 0) {
              w.error(`ERR rate limit exceeded: retry in ${wait} ms (SABCACHE_ERR_RATE_LIMITED)`);
              continue;
            }
          }
          classCounts[runParsed(ctx, parser)]++;
          if (session.quit || session.wait) break;
        }
      } catch (e) {
        if (!(e instanceof RespProtocolError)) throw e;
        fatal = e.message;
      }
      if (metrics !== undefined) {
        // The replies of one read leave together: each command waited this long here.
        const ms = performance.now() - startMs;
        for (let k = 0; k < 4; k++) if (classCounts[k] > 0) metrics.record(PROTOCOL_RESP, k, ms, classCounts[k]);
      }
      if (fatal !== undefined) w.error(`ERR ${fatal}`);
      const end = fatal !== undefined || session.quit;
      const deferred = state.durableWaits && (waiting > 0 || walSequence(cx) !== seqBefore);
      if (!deferred && !session.wait && w.length > 0) {
        // The common case: the replies go out now, from the writer's own buffer (no copy,
        // no allocation per read). A socket that could not send them all at once keeps the
        // buffer queued, so the writer moves to a new one (bench:resp).
        socket.write(w.takeView());
        if (socket.writableLength > 0) w.detach();
        if (end) socket.end();
        else if (socket.writableLength > RESP_MAX_OUTPUT_BYTES) socket.destroy(); // a client that does not read its replies
        return;
      }
      const out = w.length > 0 ? w.take() : null;
      if (session.wait && !end) {
        // A command that answers later (SAVE): nothing more is read or run on this
        // connection until its reply is written, then the rest of what arrived runs.
        const wait = session.wait;
        socket.pause();
        wait.then(() => {
          session.wait = undefined;
          if (socket.destroyed) return;
          serve();
          if (!session.wait) socket.resume();
        });
      }
      if (deferred) {
        // Acknowledged only once durable; a later read-only reply waits too, to keep the order.
        waiting++;
        state.afterDurable(() => {
          waiting--;
          if (socket.destroyed) return;
          if (out !== null) socket.write(out);
          if (end) socket.end();
        });
        return;
      }
      if (out !== null) socket.write(out);
      if (end) socket.end();
      else if (socket.writableLength > RESP_MAX_OUTPUT_BYTES) socket.destroy(); // a client that does not read its replies
    };
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (!session.wait) serve();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      connections?.close(slot, CONNECTION_RESP);
      sockets.delete(socket);
      pubsub.forget(subscriber);
    });
  };
  const server: Server = tls?.certFile
    ? createTlsServer({ noDelay: true, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onConnection)
    : createServer({ noDelay: true }, onConnection);
  // A failed handshake is the client's problem: its socket is destroyed, the server goes on.
  server.on('tlsClientError', (_e: Error, socket: Socket) => socket.destroy());

  const fd = createReuseportFd(port, host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  server.on('error', (e) => log.error({ err: e }, 'RESP listener error'));
  return {
    stopListening: () => server.close(),
    closeAll: () => {
      void pubsub.stop();
      ops.stop();
      for (const s of sockets) s.destroy();
    },
    get connections() {
      return sockets.size;
    },
  };
}
