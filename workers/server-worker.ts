/**
 * A server worker: attaches the shared cache and serves the data port with its own
 * uWebSockets.js App (every worker listens on the same port; the kernel spreads
 * connections, SO_REUSEPORT). Started and supervised by src/server/engine.ts.
 *
 * Messages from the main thread: `{ type: 'shutdown', lingerMs }`: stop accepting; keep
 * answering requests on open connections for up to `lingerMs`, each answer closing its
 * connection (so clients move to another worker); finish in-flight requests; close every
 * connection; exit 0. To the main thread: `{ type: 'listening' }`
 * or `{ type: 'listen-failed' }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { credentialsOf, rateLimitsOf, type ServerConfig, tlsFilesOf } from '../src/server/config.ts';
import { ConnectionLimiter } from '../src/server/connection-limiter.ts';
import { RateLimiter } from '../src/server/rate-limiter.ts';
import { RefusalCounter } from '../src/server/refusal-counter.ts';
import { ThreadMetrics } from '../src/server/thread-metrics.ts';
import { workerLogger } from '../src/server/log.ts';
import { SlowLogWriter } from '../src/server/slow-log.ts';
import { registerBatchRoutes } from '../src/server/batch-routes.ts';
import { Cors } from '../src/server/cors.ts';
import { registerKvRoutes } from '../src/server/kv-routes.ts';
import type { ServingState } from '../src/server/serving-state.ts';
import { CLOSE_GOING_AWAY, registerWsRoute } from '../src/server/ws-routes.ts';
import { createApp, uws } from '../src/server/uws.ts';
import { listenPlanned } from '../src/server/protected-mode.ts';
import { SharedCache, type SharedCacheHandle } from '../src/shared-cache.ts';
import { startWal } from '../src/persist/cache-persistence.ts';
import { listenResp, type RespListener } from '../src/server/resp-server.ts';
import type { SaveReply, SaveRequest, SaveRequester } from '../src/server/save-messages.ts';

const { handle, config, index, lastSaveSeconds, limitsBuffer, metricsBuffer, slowLogBuffer } = workerData as { handle: SharedCacheHandle; config: ServerConfig; index: number; lastSaveSeconds: number; limitsBuffer: SharedArrayBuffer; metricsBuffer: SharedArrayBuffer; slowLogBuffer: SharedArrayBuffer };
const cache = SharedCache.attach(handle);
// With --wal, this thread logs its changes to its own WAL file (persist/wal-writer.ts).
// This thread's log lines go to the main thread's log as messages (log.ts): never blocking.
const log = workerLogger(parentPort!, config.logLevel, index);
const wal = config.wal ? startWal(cache, config.dataDir, config.fsync, (line, level) => log[level ?? 'info'](line)) : undefined;
const tls = tlsFilesOf(config);
// With users or a token secret, every client authenticates (every port: http-auth.ts,
// resp-acl.ts) and protected mode is off.
const credentials = credentialsOf(config);
const protectedMode = config.protectedMode && !credentials.configured;
// Rate and connection limits: one budget for every thread, in the shared limits buffer the
// main thread made (limit-words.ts). Connections are always counted (stats); rates only when set.
const rateLimits = rateLimitsOf(config);
const rate = rateLimits.perClient > 0 || rateLimits.global > 0 ? new RateLimiter(limitsBuffer, rateLimits) : undefined;
// Times in the rate cells are 32-bit; sweeping keeps past ones from wrapping (rate-limiter.ts).
if (rate !== undefined) setInterval(() => rate.sweep(), 60_000).unref();
const connections = new ConnectionLimiter(limitsBuffer, { maxConnections: config.maxConnections, maxConnectionsPerAddress: config.maxConnectionsPerAddress });
// Requests refused for their credential, every thread (refusal-counter.ts).
const refusals = new RefusalCounter(limitsBuffer);
// This worker's latency histograms: its slot of the metrics buffer (metrics-words.ts); and
// its ring of the slow log (slow-log.ts).
const metrics = new ThreadMetrics(metricsBuffer, index, new SlowLogWriter(slowLogBuffer, index, config.slowlogThresholdUs));
const app = createApp(tls, { auth: credentials.configured ? { credentials, admin: false } : undefined, rate, metrics, refusals });
const state: ServingState = {
  metrics,
  inFlight: 0,
  draining: false,
  protectedMode,
  durableWaits: wal?.fsync === 'always',
  afterDurable: wal ? (fn) => wal.whenDurable(fn) : (fn) => fn(),
};
const cors = new Cors(config.allowedOrigins);
cors.registerPreflight(app, ['/v1/kv/:key', '/v1/kv/:key/:action', '/v1/mget', '/v1/mset', '/v1/keys', '/*']);
registerKvRoutes(app, cache, state, cors);
const closeWebSockets = registerWsRoute(app, cache, state, {
  maxMessageBytes: config.wsMaxMessageBytes,
  maxRequestsPerMessage: config.wsMaxRequests,
  maxBackpressureBytes: config.wsMaxBackpressureBytes,
  idleTimeoutSeconds: config.wsIdleTimeoutSeconds,
  maxResponseBytes: config.maxResponseBytes,
}, cors, { credentials: credentials.configured ? credentials : null, rate, connections, refusals });
registerBatchRoutes(app, cache, state, cors, config.maxResponseBytes);

/** Closes every socket of this thread, then ends it. With open uWS sockets a worker thread
 * cannot end without aborting the process, so this always runs app.close() first. */
function exit(code: number): never {
  app.close();
  listeners?.refuser?.close();
  resp?.closeAll();
  // What is buffered reaches the file and the disk; the file is closed under its last sequence.
  wal?.close();
  cache.close();
  process.exit(code);
}

/** SAVE / BGSAVE / LASTSAVE over RESP: asked of the main thread, which writes snapshots (save-messages.ts). */
const savesWaiting = new Map<number, (reply: SaveReply) => void>();
let nextSaveId = 1;
let lastSave = lastSaveSeconds;
const saves: SaveRequester = {
  save: (mode) => new Promise((resolve) => {
    const request: SaveRequest = { type: 'save', id: nextSaveId++, mode };
    savesWaiting.set(request.id, resolve);
    parentPort!.postMessage(request);
  }),
  lastSaveSeconds: () => lastSave,
};

/** This thread's RESP listener (--resp-port), once listening. */
let resp: RespListener | undefined;

// In protected mode on a non-loopback address, a refusing App takes the other clients
// (protected-mode.ts: the kernel splits them from loopback, no check per request).
const listeners = listenPlanned(app, config.host, config.port, protectedMode, tls);
if (!listeners) {
  parentPort!.postMessage({ type: 'listen-failed', index });
  exit(1);
}
if (!config.respPort) parentPort!.postMessage({ type: 'listening', index });
else {
  // Listening means every data port: /readyz counts a worker only once both listen.
  listenResp(cache, state, saves, config.host, config.respPort, config.maxValueBytes, config.memoryBytes, index, tls, credentials, { rate, connections, metricsBuffer, slowLogBuffer, refusals }).then((listener) => {
    resp = listener;
    if (state.draining) listener.stopListening();
    parentPort!.postMessage({ type: 'listening', index });
  }, (e: Error) => {
    parentPort!.postMessage({ type: 'listen-failed', index, why: `RESP port ${config.respPort}: ${e.message}` });
    exit(1);
  });
}

parentPort!.on('message', (m: { type: string; lingerMs: number }) => {
  if (m.type === 'save-done') {
    const reply = m as unknown as SaveReply;
    savesWaiting.get(reply.id)?.(reply);
    savesWaiting.delete(reply.id);
    return;
  }
  if (m.type === 'lastsave') {
    lastSave = (m as unknown as { unixSeconds: number }).unixSeconds;
    return;
  }
  if (m.type === 'fault' && process.env.SABCACHE_FAULT_INJECTION === '1') {
    // Test-only: an uncaught error outside any handler, to exercise the crash path below.
    setImmediate(() => { throw new Error('injected fault (SABCACHE_FAULT_INJECTION=1)'); });
    return;
  }
  if (m.type !== 'shutdown' || state.draining) return;
  state.draining = true;
  for (const socket of listeners?.sockets ?? []) uws.us_listen_socket_close(socket);
  resp?.stopListening();
  // WebSocket clients are told to reconnect (to another worker, or later).
  closeWebSockets(CLOSE_GOING_AWAY, 'server stopping');
  // Finish in-flight requests (bounded: a client that stalls mid-body loses its request).
  const lingerUntil = Date.now() + m.lingerMs;
  const deadline = Date.now() + Math.max(5000, m.lingerMs);
  const poll = setInterval(() => {
    if ((state.inFlight <= 0 && Date.now() >= lingerUntil) || Date.now() > deadline) {
      clearInterval(poll);
      exit(0);
    }
  }, 5);
});

// A bug must not take the process down: log, close this thread's sockets and end it;
// the main thread repairs what it held and starts a replacement.
process.on('uncaughtException', (e) => {
  log.fatal({ err: e }, `worker ${index} crashed`);
  exit(1);
});
