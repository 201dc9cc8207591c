/**
 * The server's main thread (docs/design.md §1): creates the shared cache (and so runs its
 * maintenance), starts one server worker per `--threads` on the data port, serves the admin
 * port, restarts a worker that dies (after repairing what it held), and shuts down
 * gracefully.
 *
 * @module
 */
import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { ListenError } from '../errors.ts';

export { ListenError };
import { renameSync, statSync } from 'node:fs';
import { loadSnapshotSteps, newestSnapshotHashSeeds, oldestKeptSnapshotSequence } from '../persist/snapshot-files.ts';
import { runStepsAsync } from '../util/steps.ts';
import { Snapshotter } from '../persist/snapshotter.ts';
import { listenPlanned, type PlannedListeners } from './protected-mode.ts';
import { isSaveRequest, type LastSaveNotice, type SaveReply, type SaveRequest } from './save-messages.ts';
import { closeLeftOpenWalFile, listWalFiles, pruneWalFiles } from '../persist/wal-file.ts';
import type { WalWriter } from '../persist/wal-writer.ts';
import { replayWalIntoSteps, startWal, writeCacheSnapshot } from '../persist/cache-persistence.ts';
import { setWalSequence, walSequence as currentWalSequence } from '../commands/persistence.ts';
import { SharedCache } from '../shared-cache.ts';
import { siblingModule, spawnWorker } from '../util/spawn-worker.ts';
import { type Lifecycle, type LimitsStats, readiness, type RecoveryStatus, registerAdminRoutes, type ServerStats, waitingFor } from './admin.ts';
import { registerBatchRoutes } from './batch-routes.ts';
import { Cors } from './cors.ts';
import { registerDashboard } from './dashboard.ts';
import { registerKvRoutes } from './kv-routes.ts';
import type { ServingState } from './serving-state.ts';
import { CLOSE_GOING_AWAY, registerWsRoute } from './ws-routes.ts';
import { credentialsOf, rateLimitsOf, type ServerConfig, tlsFilesOf } from './config.ts';
import { ConnectionLimiter } from './connection-limiter.ts';
import { createLimitsBuffer } from './limit-words.ts';
import { latencySummaries, operationsBySlot } from './latency-stats.ts';
import { createMetricsBuffer } from './metrics-words.ts';
import { createSlowLogBuffer } from './slowlog-words.ts';
import { MetricsEndpoint } from './prometheus.ts';
import type { CacheStats } from '../shared-cache.ts';
import { RateLimiter } from './rate-limiter.ts';
import { RefusalCounter } from './refusal-counter.ts';
import { type App, createApp, uws, type us_listen_socket } from './uws.ts';
import { isLogLine, log as serverLog, writeWorkerLine } from './log.ts';

/**
 * How long a restarting worker keeps answering on its open connections (each answer
 * closing its connection) before it closes the idle rest, in milliseconds.
 */
const RESTART_LINGER_MS = 1000;

/** A worker is restarted at most this often after crashes in a row, in milliseconds. */
const RESTART_BACKOFF_MAX_MS = 5000;

interface Slot {
  worker: Worker;
  threadId: number;
  crashes: number;
  /** Set once the worker listens on the data port; cleared when it stops (readiness). */
  listening: boolean;
}

/**
 * Checks that nothing listens on `host:port`. uWebSockets.js listens with SO_REUSEPORT (so
 * that every worker thread can share the data port), which would also let a second server
 * process share the port silently and take half its connections. An exclusive Node listen
 * socket (no SO_REUSEPORT) fails with EADDRINUSE while anyone else holds the port.
 */
async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(`cannot listen on ${what} ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)));
    probe.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise((resolve) => probe.close(resolve));
}

/**
 * WAL figures for `/v1/stats`: on or off, the fsync policy, bytes on disk, the sequence,
 * and the lag: changes logged since the sequence the last snapshot covers (what a restart
 * would replay).
 */
function walStats(config: ServerConfig, cache: SharedCache, coveredSeq: number): { wal: boolean; fsync: string; walBytes: number; walSequence: number; walLagRecords: number } {
  let walBytes = 0;
  for (const f of listWalFiles(config.dataDir)) {
    try {
      walBytes += statSync(f).size;
    } catch {
      // renamed or deleted meanwhile (rotation, pruning)
    }
  }
  const walSequence = currentWalSequence(cache.commands);
  return { wal: config.wal, fsync: config.fsync, walBytes, walSequence, walLagRecords: walSequence - coveredSeq };
}

/** A running sabcache server. */
export class Server {
  readonly cache: SharedCache;
  private readonly slots: (Slot | undefined)[] = [];
  private readonly admin: App;
  private adminListeners: PlannedListeners | null = null;
  /** Protected mode on the admin port: on unless turned off or credentials are configured. */
  private readonly adminProtected: boolean;
  private stopping: Promise<void> | undefined;
  /** Set once recovery is done and every worker listened for the first time. */
  private started = false;
  /** Where recovery is (`/readyz`): its phase and progress. */
  private readonly recovery: RecoveryStatus = { phase: 'waiting' };
  private readonly startedAt = Date.now();
  private snapshotter: Snapshotter | undefined;
  /** The last snapshot's time (the start's before any), unix seconds: LASTSAVE. */
  private lastSaveSeconds = Math.floor(Date.now() / 1000);
  /** The WAL sequence recovery ended at (covered by the snapshot it wrote, or the one it loaded). */
  private recoveredSeq = 0;
  /** WAL gaps recovery accepted (`--recover-past-gaps`); 0 otherwise. */
  private walGaps = 0;
  /** The main thread's WAL (admin flush), with `--wal`. */
  private mainWal: WalWriter | undefined;
  /** Rate and connection limits every worker enforces (limit-words.ts); kept across worker restarts. */
  private readonly limitsBuffer = createLimitsBuffer();
  /** Views of the limits buffer for its counts (the main thread enforces nothing). */
  private readonly connectionCounts: ConnectionLimiter;
  private readonly rateCounts: RateLimiter;
  private readonly refusalCounts: RefusalCounter;
  /** Every worker's latency histograms (metrics-words.ts), a slot each; kept across worker restarts. */
  private readonly metricsBuffer: SharedArrayBuffer;
  /** Every worker's slow log ring (slowlog-words.ts); kept across worker restarts. */
  private readonly slowLogBuffer: SharedArrayBuffer;
  /** The admin port's own origins: its dashboard's requests carry one (admin.ts). */
  private readonly ownOrigins: string[];
  /** Ends the dashboard's live streams (dashboard.ts). */
  private endStreams: () => void = () => {};
  /** Closes the WebSockets of the admin port's data routes, once registered. */
  private closeAdminWebSockets: ((code: number, reason: string) => void) | undefined;
  /** `/metrics` (prometheus.ts). */
  private readonly metricsEndpoint: MetricsEndpoint;

  private constructor(readonly config: ServerConfig, private readonly log: (line: string, level?: 'warn' | 'error') => void) {
    this.metricsBuffer = createMetricsBuffer(config.threads);
    const scheme = config.tlsCertFile ? 'https' : 'http';
    const adminHostName = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
    this.ownOrigins = [...new Set(['127.0.0.1', 'localhost', '[::1]', ...(config.adminHost === '0.0.0.0' || config.adminHost === '::' ? [] : [adminHostName])])].map((h) => `${scheme}://${h}:${config.adminPort}`);
    this.slowLogBuffer = createSlowLogBuffer(config.threads, config.slowlogMaxLen);
    this.connectionCounts = new ConnectionLimiter(this.limitsBuffer, { maxConnections: config.maxConnections, maxConnectionsPerAddress: config.maxConnectionsPerAddress });
    this.rateCounts = new RateLimiter(this.limitsBuffer, rateLimitsOf(config));
    this.refusalCounts = new RefusalCounter(this.limitsBuffer);
    const sources = { stats: (): ServerStats => ({ ...this.cache.stats(), ...this.extraStats(false) }), metricsBuffer: this.metricsBuffer };
    this.metricsEndpoint = new MetricsEndpoint(sources);
    this.cache = SharedCache.create({
      memoryBytes: config.memoryBytes, maxKeyBytes: config.maxKeyBytes, maxValueBytes: config.maxValueBytes,
      // The seeds of the snapshot recover() will load: it then fills the index in order.
      hashSeeds: config.dataDir ? newestSnapshotHashSeeds(config.dataDir) : undefined,
    });
    // The admin port needs the admin role when credentials are configured (http-auth.ts).
    const credentials = credentialsOf(config);
    this.adminProtected = config.protectedMode && !credentials.configured;
    this.admin = createApp(tlsFilesOf(config), { auth: credentials.configured ? { credentials, admin: true } : undefined });
    registerAdminRoutes(this.admin, this.cache, {
      extraStats: () => this.extraStats(),
      metrics: (openMetrics) => this.metricsEndpoint.scrape(openMetrics),
      slowLog: this.slowLogBuffer,
      ownOrigins: this.ownOrigins,
      snapshot: () => this.snapshotter?.snapshot(),
      afterDurable: (fn) => (this.mainWal ? this.mainWal.whenDurable(fn) : fn()),
      restartWorker: (index) => this.restartWorker(index),
      lifecycle: () => this.lifecycle(),
      injectFault: process.env.SABCACHE_FAULT_INJECTION === '1' ? (index) => this.injectFault(index) : undefined,
    });
    this.endStreams = registerDashboard(this.admin, {
      metricsBuffer: this.metricsBuffer,
      commands: this.cache.commands,
      figures: () => {
        const s = this.cache.stats();
        const l = this.lifecycle();
        return {
          items: s.items, memoryUsedBytes: s.memoryUsedBytes, memoryLimitBytes: s.memoryLimitBytes, hits: s.hits, misses: s.misses, sets: s.sets, deletes: s.deletes,
          evictions: s.evictions, expired: s.expired, threads: operationsBySlot(this.metricsBuffer).map((requests, thread) => ({ thread, requests })),
          connections: this.connectionCounts.openByProtocol(), status: readiness(l), waitingFor: waitingFor(l),
        };
      },
    });
  }

  /** Where the server is in its life (admin.ts Lifecycle). */
  private lifecycle(): Lifecycle {
    return {
      phase: this.stopping ? 'stopping' : this.started ? 'serving' : 'starting',
      listening: this.slots.filter((slot) => slot?.listening).length,
      threads: this.config.threads,
      recovery: this.recovery,
    };
  }

  /**
   * The data API on the admin port, for the dashboard (same origin, the admin role): the
   * key, batch and WebSocket routes of the data port, run by the main thread. Registered
   * once recovery is done (before, those paths answer 404).
   */
  private registerAdminDataRoutes(): void {
    const cors = new Cors(this.ownOrigins);
    const state: ServingState = {
      inFlight: 0,
      draining: false,
      protectedMode: this.adminProtected,
      durableWaits: this.config.wal && this.config.fsync === 'always',
      afterDurable: (fn) => (this.mainWal ? this.mainWal.whenDurable(fn) : fn()),
    };
    registerKvRoutes(this.admin, this.cache, state, cors);
    this.closeAdminWebSockets = registerWsRoute(this.admin, this.cache, state, {
      maxMessageBytes: this.config.wsMaxMessageBytes,
      maxRequestsPerMessage: this.config.wsMaxRequests,
      maxBackpressureBytes: this.config.wsMaxBackpressureBytes,
      idleTimeoutSeconds: this.config.wsIdleTimeoutSeconds,
      maxResponseBytes: this.config.maxResponseBytes,
    }, cors);
    registerBatchRoutes(this.admin, this.cache, state, cors, this.config.maxResponseBytes, false);
  }

  /**
   * What the server adds to the cache's stats: `/v1/stats` with the latency quantiles,
   * `/metrics` without them (it reads the histograms themselves).
   */
  private extraStats(withLatency = true): Omit<ServerStats, keyof CacheStats> {
    return {
      serverThreads: this.slots.filter(Boolean).length,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      persistence: this.persistenceStats(),
      limits: this.limitsStats(),
      ...(withLatency ? { latency: latencySummaries(this.metricsBuffer) } : {}),
    };
  }

  /** Figures of the rate and connection limits for `/v1/stats`, every thread. */
  private limitsStats(): LimitsStats {
    const rate = this.rateCounts.counts();
    const refused = this.connectionCounts.refused();
    const open = this.connectionCounts.openByProtocol();
    return {
      openConnections: this.connectionCounts.openConnections(),
      openConnectionsWs: open.ws,
      openConnectionsResp: open.resp,
      refusedAuth: this.refusalCounts.authRefused(),
      refusedConnections: refused.total,
      refusedConnectionsPerAddress: refused.perAddress,
      rateLimited: rate.refusedPerClient,
      rateLimitedGlobal: rate.refusedGlobal,
      rateCellsShared: rate.cellsShared,
    };
  }

  /**
   * Starts the server and resolves once every worker and the admin port listen.
   * @throws ListenError (`SABCACHE_ERR_LISTEN`) when a port is taken or an address is wrong.
   */
  static async start(config: ServerConfig, log: (line: string, level?: 'warn' | 'error') => void = (line, level) => serverLog[level ?? 'info'](line)): Promise<Server> {
    await assertPortFree(config.adminHost, config.adminPort, 'admin port');
    await assertPortFree(config.host, config.port, 'data port');
    if (config.respPort) await assertPortFree(config.host, config.respPort, 'RESP port');
    const server = new Server(config, log);
    try {
      // The admin port first, so that /healthz and /readyz tell how recovery goes. As the
      // data port: in protected mode off loopback, a refusing App takes the others.
      server.adminListeners = listenPlanned(server.admin, config.adminHost, config.adminPort, server.adminProtected, tlsFilesOf(config));
      if (!server.adminListeners) throw new ListenError(`cannot listen on admin port ${config.adminHost}:${config.adminPort}`);
      if (config.dataDir) {
        // Before any worker serves: the cache holds the data when the port opens.
        server.snapshotter = new Snapshotter(server.cache, { dir: config.dataDir, intervalSeconds: config.snapshotIntervalSeconds, keep: config.snapshotKeep }, log, (figures) => server.noticeLastSave(figures.lastSnapshotAtMs));
        await server.recover(config.dataDir);
        if (config.wal) {
          server.mainWal = startWal(server.cache, config.dataDir, config.fsync, log);
        }
      }
      server.recovery.phase = 'done';
      server.registerAdminDataRoutes();
      await Promise.all(Array.from({ length: config.threads }, (_, i) => server.startWorker(i)));
      server.started = true;
    } catch (e) {
      await server.stop();
      throw e;
    }
    log(`serving http://${config.host}:${config.port}/v1/kv/{key} with ${config.threads} threads, ` +
      `${config.memoryBytes} bytes of memory; ${config.respPort ? `Redis protocol on ${config.host}:${config.respPort}; ` : ''}admin on http://${config.adminHost}:${config.adminPort}`);
    return server;
  }

  /**
   * Recovery (docs/design.md §6): the newest valid snapshot, then the WAL records numbered after
   * it, in sequence order. A gap in the WAL that no crash explains stops the start with
   * `SABCACHE_ERR_WAL_GAP` unless `--recover-past-gaps` (wal-replay.ts). When there were WAL
   * files, a snapshot of the result is written at once; then damaged WAL files are renamed
   * `*.damaged` (kept for manual recovery), files a crash left open get their closed name,
   * and closed files are pruned up to the oldest snapshot kept (so a fallback to it can be
   * brought forward). WAL files are replayed even when this run has no `--wal` (a restart
   * without it must not lose what the last run logged).
   * @throws WalGapError (`SABCACHE_ERR_WAL_GAP`) as above.
   */
  private async recover(dir: string): Promise<void> {
    const r = this.recovery;
    r.phase = 'loading-snapshot';
    // A block (1 MiB) at a time between event-loop turns: the admin port answers meanwhile.
    const loaded = await runStepsAsync(loadSnapshotSteps(this.cache, dir, this.log), (p) => { r.snapshot = p; });
    if (r.snapshot) r.snapshot.blocksDone = r.snapshot.blocks;
    this.log(loaded.path
      // Items, not records stored: a key changed while the snapshot was written is in the file twice (its tail).
      ? `loaded ${this.cache.stats().items} entries (${loaded.bytes} bytes) from ${loaded.path} in ${Math.round(loaded.durationMs)} ms` +
        (loaded.helperThreads > 0 ? ` (main thread and ${loaded.helperThreads} helper thread${loaded.helperThreads === 1 ? '' : 's'}, which stored ${loaded.helperBlocks} blocks)` : '')
      : `no snapshot to load in ${dir}${loaded.refused.length ? ` (${loaded.refused.length} refused)` : ''}; starting empty`);
    let seq = Number(loaded.walSequence);
    if (listWalFiles(dir).length === 0) {
      setWalSequence(this.cache.commands, seq);
      this.recoveredSeq = seq;
      return;
    }
    const t0 = performance.now();
    r.phase = 'replaying-wal';
    r.wal = { files: 0, records: 0, applied: 0 };
    const replayed = await runStepsAsync(replayWalIntoSteps(this.cache, dir, seq, this.log, this.config.recoverPastGaps), (p) => { r.wal = p; });
    r.wal = { files: replayed.files, records: replayed.records, applied: replayed.applied };
    this.walGaps = replayed.gaps.length;
    seq = Math.max(seq, replayed.lastSeq);
    this.log(`replayed ${replayed.applied} of ${replayed.records} WAL records from ${replayed.files} files in ${Math.round(performance.now() - t0)} ms`);
    // New records are numbered after every one the files held.
    setWalSequence(this.cache.commands, seq);
    this.recoveredSeq = seq;
    // Files a clean stop kept (the oldest kept snapshot's) hold nothing newer than the
    // snapshot loaded: then there is nothing to write and nothing to set aside.
    if (replayed.applied === 0 && replayed.gaps.length === 0 && !replayed.fileStates.some((f) => f.open || f.damaged)) return;
    r.phase = 'writing-snapshot';
    const w = writeCacheSnapshot(this.cache, dir, this.config.snapshotKeep, BigInt(seq));
    for (const f of replayed.fileStates) {
      if (f.damaged) {
        renameSync(f.path, `${f.path}.damaged`);
        this.log(`WAL file ${f.path} is damaged; renamed it to ${f.path}.damaged (its records up to the damage were replayed)`, 'error');
      } else if (f.open) closeLeftOpenWalFile(f.path, f.lastSeq);
    }
    const pruned = pruneWalFiles(dir, Number(oldestKeptSnapshotSequence(dir)));
    this.log(`wrote ${w.entries} recovered entries to ${w.path}; ${pruned} WAL files it and every older snapshot kept cover were deleted`);
  }

  /** The `persistence` figures of `/v1/stats`; undefined without a data dir. */
  private persistenceStats(): ServerStats['persistence'] {
    if (!this.snapshotter) return undefined;
    const snap = this.snapshotter.stats();
    // The lag counts from what is on disk: the last snapshot, or what recovery covered.
    return { dataDir: this.config.dataDir, walGaps: this.walGaps, ...snap, ...walStats(this.config, this.cache, Math.max(snap.lastSnapshotWalSequence, this.recoveredSeq)) };
  }

  /** Tells every worker the time of the snapshot just written (LASTSAVE). */
  private noticeLastSave(atMs: number): void {
    this.lastSaveSeconds = Math.floor(atMs / 1000);
    const notice: LastSaveNotice = { type: 'lastsave', unixSeconds: this.lastSaveSeconds };
    for (const slot of this.slots) slot?.worker.postMessage(notice);
  }

  /** Answers a worker's SAVE / BGSAVE (save-messages.ts). */
  private async save(worker: Worker, request: SaveRequest): Promise<void> {
    const reply = (status: SaveReply['status'], message?: string): void => {
      const m: SaveReply = { type: 'save-done', id: request.id, status, message };
      worker.postMessage(m);
    };
    const snapshotter = this.snapshotter;
    if (!snapshotter) return reply('no-data-dir');
    if (request.mode !== 'wait') {
      if (snapshotter.startInBackground()) return reply('started');
      if (request.mode === 'background') return reply('in-progress');
      snapshotter.snapshot().catch(() => {}); // logged and counted by the snapshotter
      return reply('scheduled');
    }
    try {
      await snapshotter.snapshot();
      reply('written');
    } catch (e) {
      reply('failed', (e as Error).message);
    }
  }

  /** Starts worker `index` and resolves when it listens. */
  private startWorker(index: number): Promise<void> {
    const entry = siblingModule('../../workers/server-worker', import.meta.url);
    const worker = spawnWorker(entry, { workerData: { handle: this.cache.handle, config: this.config, index, lastSaveSeconds: this.lastSaveSeconds, limitsBuffer: this.limitsBuffer, metricsBuffer: this.metricsBuffer, slowLogBuffer: this.slowLogBuffer } });
    const slot: Slot = { worker, threadId: worker.threadId, crashes: this.slots[index]?.crashes ?? 0, listening: false };
    this.slots[index] = slot;
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      worker.on('message', (m: { type: string }) => {
        if (isLogLine(m)) {
          writeWorkerLine(m.line);
        } else if (isSaveRequest(m)) {
          this.save(worker, m).catch((e) => this.log(`SAVE request failed: ${e.message}`, 'error'));
        } else if (m.type === 'listening') {
          listening = true;
          slot.listening = true;
          resolve();
        } else if (m.type === 'listen-failed') {
          reject(new ListenError(`cannot listen on data port ${this.config.host}:${this.config.port}${(m as { why?: string }).why ? ` (${(m as { why?: string }).why})` : ''}`));
        }
      });
      worker.on('error', (e) => this.log(`worker ${index} error: ${e.stack ?? e}`, 'error'));
      worker.on('exit', (code) => {
        slot.listening = false;
        // The thread is gone: repair a bucket it may have held, seal its segment, free its block.
        const report = this.cache.repairThread(slot.threadId);
        if (report && report.repairedBucket >= 0) this.log(`repaired bucket ${report.repairedBucket} left locked by worker ${index}`, 'warn');
        if (this.slots[index] === slot) this.slots[index] = undefined;
        if (!listening) return reject(new ListenError(`worker ${index} exited with code ${code} before listening`));
        if (this.stopping) return;
        slot.crashes = code === 0 ? 0 : slot.crashes + 1;
        const delay = Math.min(RESTART_BACKOFF_MAX_MS, slot.crashes <= 1 ? 0 : 100 * 2 ** slot.crashes);
        this.log(`worker ${index} exited with code ${code}; restarting${delay ? ` in ${delay} ms` : ''}`, code === 0 ? undefined : 'error');
        setTimeout(() => {
          if (!this.stopping) this.startWorker(index).catch((e) => this.log(`restart of worker ${index} failed: ${e.message}`, 'error'));
        }, delay);
      });
    });
  }

  /**
   * Gracefully restarts worker `index`: it stops accepting, finishes its requests and exits,
   * and a new one takes its place. The other workers serve throughout.
   */
  restartWorker(index: number): boolean {
    const slot = this.slots[index];
    if (!slot || this.stopping) return false;
    slot.listening = false; // it closes its listen socket first
    slot.worker.postMessage({ type: 'shutdown', lingerMs: RESTART_LINGER_MS });
    return true;
  }

  /**
   * Test-only (with SABCACHE_FAULT_INJECTION=1): makes worker `index` throw an uncaught
   * error, which must end in a repaired, restarted worker and not a dead process.
   */
  injectFault(index: number): boolean {
    const slot = this.slots[index];
    if (!slot || this.stopping) return false;
    slot.worker.postMessage({ type: 'fault' });
    return true;
  }

  /**
   * Stops listening, lets in-flight requests finish, stops the workers, then (with a data
   * dir) writes a last snapshot, so a graceful restart loses nothing. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const socket of this.adminListeners?.sockets ?? []) uws.us_listen_socket_close(socket);
      this.endStreams();
      this.closeAdminWebSockets?.(CLOSE_GOING_AWAY, 'server stopping');
      this.adminListeners?.refuser?.close();
      await Promise.all(this.slots.map((slot) => slot && new Promise<void>((resolve) => {
        slot.worker.once('exit', () => resolve());
        slot.worker.postMessage({ type: 'shutdown', lingerMs: 0 });
      })));
      // The main thread's log (admin flush) is closed too: every WAL file is then closed.
      this.mainWal?.close();
      if (this.snapshotter) {
        // No worker writes any more: this snapshot holds every acknowledged write.
        try {
          const w = await this.snapshotter.snapshot();
          const tail = w.tailEntries > 0 ? `, ${w.tailEntries} of them in its tail: written or moved while it was taken` : '';
          this.log(`wrote ${w.entries} entries (${w.bytes} bytes${tail}) to ${w.path} in ${Math.round(w.durationMs)} ms`);
        } catch {
          // logged by the snapshotter; the process still stops
        }
        await this.snapshotter.close();
      }
      this.admin.close();
      this.cache.close();
    })();
    return this.stopping;
  }
}
