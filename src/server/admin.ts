/**
 * The admin port, served by the main thread:
 * `GET /healthz` → 200 `{ "status": "ok", … }` while the server serves, 503
 * `{ "status": "starting" | "stopping", … }` before and after (liveness);
 * `GET /readyz` → 200 `{ "status": "ready", … }` only while every server thread listens on
 * the data port and recovery (snapshot, WAL) is done, else 503 (readiness: send traffic
 * only on 200). Both bodies: `{ status, listening, threads, recovery, waitingFor }`
 * (see {@link RecoveryStatus}; `waitingFor` lists in words what is not ready yet);
 * `GET /v1/stats` → the cache's counters as JSON (see {@link CacheStats}),
 * `POST /v1/admin/workers/{index}/restart` → 202, a graceful restart of one server worker,
 * `POST /v1/admin/flush` → `{ "removed": N }`, every key removed,
 * `GET /v1/admin/slowlog?count=N` → `{ "entries": [{ id, atMs, durationUs, protocol, command, client, clientName }], "length" }`,
 * the newest N (default 10; negative: all) of the slow log (slow-log.ts), `DELETE /v1/admin/slowlog` empties it,
 * `POST /v1/admin/snapshot` → `{ "path", "bytes", "entries", "durationMs" }` once a snapshot
 * is on disk (409 without `--data-dir`).
 * Anything else is a JSON 404 / 405. The admin port serves one page, the dashboard
 * (dashboard.ts): a request with an `Origin` header other than the port's own is refused
 * 403 `SABCACHE_ERR_FORBIDDEN_ORIGIN` (a page of any site could otherwise POST a flush to
 * 127.0.0.1 without a preflight).
 *
 * @module
 */
import fastJson from 'fast-json-stringify';
import type { SnapshotStats } from '../persist/snapshotter.ts';
import type { SnapshotWritten } from '../persist/snapshot-files.ts';
import type { CacheStats, SharedCache } from '../shared-cache.ts';
import { ForbiddenOriginError, NotReadyError } from '../errors.ts';
import { httpError, httpErrorFrom, NOT_FOUND_ROUTE, stringifyError } from './http-errors.ts';
import type { LatencySummary } from './latency-stats.ts';
import type { App, HttpRequest, HttpResponse } from './uws-types.ts';
import { PROTOCOLS } from './metrics-words.ts';
import { readSlowLog, resetSlowLog, slowLogLength } from './slow-log.ts';
import { log } from './log.ts';

const num = { type: 'number' } as const;
const stringifyStats = fastJson({
  type: 'object',
  properties: {
    items: num, memoryUsedBytes: num, memoryLimitBytes: num, bufferBytes: num, hits: num, misses: num, sets: num,
    deletes: num, evictions: num, expired: num, evictedSegments: num, promotions: num, reinsertions: num, ghostHits: num,
    ghostInserts: num, ghostMainHits: num, ghostMainInserts: num, compactedSegments: num, compactedItems: num, codeCacheHits: num, codeCacheMisses: num, codeCacheRejected: num, codeCacheStoredBytes: num, liveBytes: num, writtenBytes: num, bucketCount: num,
    segments: { type: 'object', properties: { free: num, active: num, sealed: num, evicting: num, small: num, main: num,  span: num, smallTarget: num, total: num, segmentBytes: num } },
    threads: {
      type: 'array',
      items: {
        type: 'object',
        properties: { thread: num, workerThreadId: num, attached: { type: 'boolean' }, requests: num, hits: num, misses: num, sets: num, deletes: num },
      },
    },
    serverThreads: num,
    uptimeSeconds: num,
    persistence: {
      type: 'object',
      properties: {
        dataDir: { type: 'string' }, lastSnapshotAtMs: num, lastSnapshotDurationMs: num, lastSnapshotBytes: num, lastSnapshotEntries: num,
        snapshotsWritten: num, snapshotFailures: num, snapshotInProgress: { type: 'boolean' },
        lastSnapshotWalSequence: num, walGaps: num, wal: { type: 'boolean' }, fsync: { type: 'string' }, walBytes: num, walSequence: num, walLagRecords: num,
      },
    },
    limits: {
      type: 'object',
      properties: { openConnections: num, openConnectionsWs: num, openConnectionsResp: num, refusedAuth: num, refusedConnections: num, refusedConnectionsPerAddress: num, rateLimited: num, rateLimitedGlobal: num, rateCellsShared: num },
    },
    latency: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: { type: 'object', properties: { count: num, p50Us: num, p99Us: num, p999Us: num } } },
    },
  },
});

/** Rate and connection limit figures, every thread (connection-limiter.ts, rate-limiter.ts). */
export interface LimitsStats {
  /** Connections open on the counted ports (RESP, WebSocket). */
  openConnections: number;
  /** WebSocket connections open. */
  openConnectionsWs: number;
  /** RESP connections open. */
  openConnectionsResp: number;
  /** Requests, upgrades and commands refused for their credential (none, bad, or without the role or key pattern). */
  refusedAuth: number;
  /** Connections refused by `--max-connections`. */
  refusedConnections: number;
  /** Connections refused by `--max-connections-per-address`. */
  refusedConnectionsPerAddress: number;
  /** Requests refused by `--rate-limit`. */
  rateLimited: number;
  /** Requests refused by `--rate-limit-global`. */
  rateLimitedGlobal: number;
  /** Rate checks that found no free cell and shared one (rate-limiter.ts). */
  rateCellsShared: number;
}

/**
 * Where recovery is, as `/healthz` and `/readyz` report it: `waiting` (not begun), then with
 * `--data-dir` `loading-snapshot` (with the file's progress), `replaying-wal` (records so
 * far), `writing-snapshot` (of what was replayed), and `done`.
 */
export interface RecoveryStatus {
  phase: 'waiting' | 'loading-snapshot' | 'replaying-wal' | 'writing-snapshot' | 'done';
  /** The snapshot file being (or last) loaded: its size, blocks, and blocks stored or being stored. */
  snapshot?: { path: string; bytes: number; blocks: number; blocksDone: number };
  /** WAL files opened, records read and applied so far. */
  wal?: { files: number; records: number; applied: number };
}

/** The `/healthz` and `/readyz` body: the status, and what is not ready yet. */
function healthBody(status: string, l: Lifecycle): string {
  return JSON.stringify({ status, listening: l.listening, threads: l.threads, recovery: l.recovery, waitingFor: waitingFor(l) });
}

/** Where the server is in its life (AdminActions.lifecycle). */
export type Lifecycle = ReturnType<AdminActions['lifecycle']>;

/** `/readyz`'s status for `l`: ready, degraded (serving, a thread not listening), starting, stopping. */
export function readiness(l: Lifecycle): string {
  return l.phase === 'serving' && l.listening === l.threads ? 'ready' : l.phase === 'serving' ? 'degraded' : l.phase;
}

/** What is not ready yet, in words (empty when ready). */
export function waitingFor(l: Lifecycle): string[] {
  const waitingFor: string[] = [];
  const r = l.recovery;
  if (l.phase === 'stopping') waitingFor.push('nothing: the server is stopping');
  else if (r.phase !== 'done') {
    const s = r.snapshot;
    waitingFor.push(r.phase === 'loading-snapshot' && s ? `snapshot ${s.path}: ${s.blocksDone} of ${s.blocks} blocks (${Math.floor((100 * s.blocksDone) / Math.max(1, s.blocks))}%)`
      : r.phase === 'replaying-wal' && r.wal ? `WAL replay: ${r.wal.records} records read, ${r.wal.applied} applied` : `recovery: ${r.phase}`);
  }
  if (l.phase !== 'stopping' && l.listening < l.threads) waitingFor.push(`server threads listening: ${l.listening} of ${l.threads}`);
  return waitingFor;
}

/** Extra figures the engine adds to the cache's stats. */
export interface ServerStats extends CacheStats {
  /** Server worker threads currently serving. */
  serverThreads: number;
  uptimeSeconds: number;
  /** Snapshot figures; absent without `--data-dir`. */
  persistence?: SnapshotStats & { dataDir: string; /** WAL gaps the last start recovered past (`--recover-past-gaps`). */ walGaps: number; wal: boolean; fsync: string; walBytes: number; walSequence: number; walLagRecords: number };
  /** Rate and connection limits. */
  limits?: LimitsStats;
  /** Operations and their latency quantiles (µs), by protocol then class (latency-stats.ts): `{ http: { read: { count, p50Us, p99Us, p999Us } } }`. */
  latency?: Record<string, Record<string, LatencySummary>>;
}

function json(res: HttpResponse, status: string, body: string): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json').writeHeader('Cache-Control', 'no-store').end(body);
  });
}

/** What the admin port can ask of the engine. */
export interface AdminActions {
  /** Figures the engine adds to the stats. */
  extraStats(): { serverThreads: number; uptimeSeconds: number; persistence?: ServerStats['persistence']; limits?: LimitsStats; latency?: ServerStats['latency'] };
  /** The `/metrics` text: Prometheus's exposition format, or OpenMetrics (prometheus.ts); undefined: no such route. */
  metrics?: (openMetrics: boolean) => Promise<string>;
  /**
   * The admin port's own origins (`http://127.0.0.1:7071`, …): requests from the dashboard's
   * page carry one; any other `Origin` is refused. Only loopback names and `--admin-host`,
   * never a name a DNS answer could point elsewhere (DNS rebinding).
   */
  ownOrigins: readonly string[];
  /** Every worker's slow log (slow-log.ts); none: no slow log routes. */
  slowLog?: SharedArrayBuffer;
  /** Writes a snapshot now; undefined without a data dir. */
  snapshot(): Promise<SnapshotWritten> | undefined;
  /** Runs `fn` once the main thread's changes are as durable as `--fsync` promises. */
  afterDurable(fn: () => void): void;
  /**
   * Where the server is in its life: `starting` (recovering, workers not all listening yet),
   * `serving`, `stopping`; and how many of its `threads` server threads listen now.
   */
  lifecycle(): { phase: 'starting' | 'serving' | 'stopping'; listening: number; threads: number; recovery: RecoveryStatus };
  /** Gracefully restarts server worker `index`; false if there is no such worker. */
  restartWorker(index: number): boolean;
  /**
   * Test-only, present when SABCACHE_FAULT_INJECTION=1: makes worker `index` crash
   * (`POST /v1/admin/workers/{index}/fault`).
   */
  injectFault?: (index: number) => boolean;
}

/** Registers the admin routes on `app`. */
export function registerAdminRoutes(app: App, cache: SharedCache, actions: AdminActions): void {
  // Every admin route refuses requests from other sites' pages first (see the module
  // comment); the dashboard's own requests carry one of the port's own origins.
  const forbidden = httpErrorFrom(new ForbiddenOriginError());
  const own = new Set(actions.ownOrigins);
  for (const method of ['get', 'post', 'put', 'patch', 'del', 'head', 'options', 'any'] as const) {
    const register = app[method].bind(app);
    (app as unknown as Record<string, unknown>)[method] = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => register(pattern, (res, req) => {
      const origin = req.getHeader('origin');
      if (origin !== '' && !own.has(origin)) return json(res, forbidden.status, forbidden.body);
      handler(res, req);
    });
  }
  app.get('/healthz', (res) => {
    const l = actions.lifecycle();
    json(res, l.phase === 'serving' ? '200 OK' : '503 Service Unavailable', healthBody(l.phase === 'serving' ? 'ok' : l.phase, l));
  });
  app.get('/readyz', (res) => {
    const l = actions.lifecycle();
    const status = readiness(l);
    json(res, status === 'ready' ? '200 OK' : '503 Service Unavailable', healthBody(status, l));
  });
  // The actions below change the cache or its threads: only while the server serves.
  const notReady = httpErrorFrom(new NotReadyError());
  const serving = (res: HttpResponse): boolean => {
    if (actions.lifecycle().phase === 'serving') return true;
    json(res, notReady.status, notReady.body);
    return false;
  };
  app.post('/v1/admin/workers/:index/restart', (res, req) => {
    if (!serving(res)) return;
    const text = req.getParameter(0);
    if (/^\d{1,3}$/.test(text) && actions.restartWorker(Number(text))) return json(res, '202 Accepted', '{"status":"restarting"}');
    const e = httpError('SABCACHE_ERR_NOT_FOUND', `no server worker ${JSON.stringify(text.slice(0, 20))}`);
    json(res, e.status, e.body);
  });
  if (actions.injectFault) {
    const inject = actions.injectFault;
    app.post('/v1/admin/workers/:index/fault', (res, req) => {
      const text = req.getParameter(0);
      if (/^\d{1,3}$/.test(text) && inject(Number(text))) return json(res, '202 Accepted', '{"status":"crashing"}');
      const e = httpError('SABCACHE_ERR_NOT_FOUND', 'no such server worker');
      json(res, e.status, e.body);
    });
  }
  app.post('/v1/admin/flush', (res) => {
    if (!serving(res)) return;
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    const removed = cache.flush();
    actions.afterDurable(() => { if (!aborted) json(res, '200 OK', `{"removed":${removed}}`); });
  });
  app.post('/v1/admin/snapshot', (res) => {
    if (!serving(res)) return;
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    const running = actions.snapshot();
    if (!running) {
      const e = httpError('SABCACHE_ERR_NO_DATA_DIR', 'this server has no --data-dir: nothing to snapshot to');
      return json(res, e.status, e.body);
    }
    running.then(
      (w) => { if (!aborted) json(res, '200 OK', JSON.stringify({ path: w.path, bytes: w.bytes, entries: w.entries, durationMs: Math.round(w.durationMs) })); },
      (err: Error) => {
        if (aborted) return;
        const e = httpError('SABCACHE_ERR_SNAPSHOT_FAILED', `snapshot failed: ${err.message}`);
        json(res, e.status, e.body);
      },
    );
  });
  if (actions.metrics) {
    const metrics = actions.metrics;
    app.get('/metrics', (res, req) => {
      // OpenMetrics when the scraper asks for it (Prometheus sends it first in Accept).
      const openMetrics = req.getHeader('accept').includes('application/openmetrics-text');
      let aborted = false;
      res.onAborted(() => { aborted = true; });
      metrics(openMetrics).then((text) => {
        if (aborted) return;
        res.cork(() => res.writeStatus('200 OK')
          .writeHeader('Content-Type', openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8')
          .writeHeader('Cache-Control', 'no-store').end(text));
      }, (e: Error) => {
        log.error({ err: e }, '/metrics failed');
        if (!aborted) json(res, '500 Internal Server Error', stringifyError({ error: { code: 'SABCACHE_ERR_INTERNAL', message: 'metrics failed' } }));
      });
    });
  }
  if (actions.slowLog) {
    const slowLog = actions.slowLog;
    app.get('/v1/admin/slowlog', (res, req) => {
      const text = req.getQuery('count') ?? '';
      if (text !== '' && !/^-?\d{1,9}$/.test(text)) {
        const e = httpError('SABCACHE_ERR_BAD_REQUEST', `count must be a whole number (negative: every entry), got ${JSON.stringify(text.slice(0, 20))}`);
        return json(res, e.status, e.body);
      }
      const entries = readSlowLog(slowLog, text === '' ? 10 : Number(text)).map((e) => ({
        id: e.id, atMs: e.atMs, durationUs: e.durationUs, protocol: PROTOCOLS[e.protocol] ?? 'unknown',
        command: e.args.map((a) => a.toString('utf8')), client: e.client, clientName: e.clientName,
      }));
      json(res, '200 OK', JSON.stringify({ entries, length: slowLogLength(slowLog) }));
    });
    app.del('/v1/admin/slowlog', (res) => {
      resetSlowLog(slowLog);
      json(res, '200 OK', '{"status":"reset"}');
    });
  }
  app.get('/v1/stats', (res) => {
    const stats: ServerStats = { ...cache.stats(), ...actions.extraStats() };
    json(res, '200 OK', stringifyStats(stats));
  });
  for (const path of ['/healthz', '/readyz', '/v1/stats', '/metrics']) {
    app.any(path, (res) => {
      const e = httpError('SABCACHE_ERR_METHOD_NOT_ALLOWED', 'allowed methods: GET');
      res.cork(() => res.writeStatus(e.status).writeHeader('Allow', 'GET').writeHeader('Content-Type', 'application/json').end(e.body));
    });
  }
  app.any('/*', (res) => json(res, NOT_FOUND_ROUTE.status, NOT_FOUND_ROUTE.body));
}
