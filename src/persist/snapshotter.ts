/**
 * Takes snapshots for the server's main thread (docs/design.md §6): every `intervalSeconds`, on
 * request (`POST /v1/admin/snapshot`) and at shutdown, one at a time, each in a piscina
 * pool thread (snapshot-task.ts) so that the main thread keeps running maintenance and
 * the server threads keep serving. Keeps the figures `/v1/stats` shows.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { SharedCache } from '../shared-cache.ts';
import { piscinaTask, siblingModule } from '../util/spawn-worker.ts';
import type { SnapshotWritten } from './snapshot-files.ts';
import type { SnapshotJob } from './snapshot-task.ts';
import { abandonSnapshotWrite, newSnapshotWriteJob } from './snapshot-write.ts';

/** Snapshot options (validated by config.ts for the server). */
export interface SnapshotterOptions {
  /** The data directory (created if missing). */
  dir: string;
  /** Seconds between snapshots; 0 = none on a timer. */
  intervalSeconds: number;
  /** Snapshot files kept, counting the newest. */
  keep: number;
}

/** Snapshot figures for `/v1/stats`. */
export interface SnapshotStats {
  /** When the last snapshot finished, unix milliseconds (0 = none yet). */
  lastSnapshotAtMs: number;
  /** How long it took, in milliseconds. */
  lastSnapshotDurationMs: number;
  /** Its size, in bytes. */
  lastSnapshotBytes: number;
  /** Entries in it. */
  lastSnapshotEntries: number;
  /** Snapshots written since start. */
  snapshotsWritten: number;
  /** Snapshots that failed since start (each is logged). */
  snapshotFailures: number;
  /** Whether one is being written now. */
  snapshotInProgress: boolean;
  /** The WAL sequence the last snapshot covers (0 = none yet, or no WAL). */
  lastSnapshotWalSequence: number;
}

/** Writes snapshots of one cache into one directory. */
export class Snapshotter {
  private readonly pool: Piscina;
  /**
   * Helper threads a snapshot's walk gets: 1 when this process may run on more than one
   * core (os.availableParallelism() honours the CPU affinity), else 0. A helper sharing
   * the lead's only core copies nothing faster, and it raised GET p99 during snapshots:
   * with the server pinned to one core, 0.64-0.71 ms against 0.43-0.61 ms without a
   * helper (0.33-0.49 ms with no snapshot; a probe of bench:persist's GET part).
   */
  private readonly helpers = availableParallelism() > 1 ? 1 : 0;
  private running: Promise<SnapshotWritten> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly figures: SnapshotStats = {
    lastSnapshotAtMs: 0, lastSnapshotDurationMs: 0, lastSnapshotBytes: 0, lastSnapshotEntries: 0, snapshotsWritten: 0, snapshotFailures: 0, snapshotInProgress: false,
    lastSnapshotWalSequence: 0,
  };

  /**
   * @param onWritten called after each snapshot is written (on the timer, on request, at
   *   shutdown), with the figures then: the server tells its threads the time for LASTSAVE.
   */
  constructor(private readonly cache: SharedCache, private readonly options: SnapshotterOptions, private readonly log: (line: string, level?: 'warn' | 'error') => void, private readonly onWritten: (figures: SnapshotStats) => void = () => {}) {
    mkdirSync(options.dir, { recursive: true });
    const task = piscinaTask(siblingModule('./snapshot-task', import.meta.url));
    // A snapshot's lead and its helper, if any (snapshots never overlap: start() runs one
    // at a time). Each detaches from the cache after each job.
    this.pool = new Piscina({ ...task, minThreads: 0, maxThreads: 1 + this.helpers, idleTimeout: 60_000 });
    if (options.intervalSeconds > 0) {
      this.timer = setInterval(() => {
        this.start().catch(() => {}); // failures are logged and counted by start()
      }, options.intervalSeconds * 1000);
      this.timer.unref();
    }
  }

  /**
   * Writes a snapshot that starts after this call, so it holds every write acknowledged
   * before it (one being written is waited for first, and a call that comes meanwhile
   * shares the new one). Resolves with what was written.
   * @throws the file system's error (also logged and counted in `snapshotFailures`).
   */
  async snapshot(): Promise<SnapshotWritten> {
    const earlier = this.running;
    if (earlier) {
      await earlier.catch(() => {});
      // Another caller may have started the next one while this one waited: share it.
      if (this.running && this.running !== earlier) return this.running;
    }
    return this.start();
  }

  /**
   * Starts a snapshot unless one is being written (Redis BGSAVE): whether it started. Its
   * outcome is logged and counted, as the timer's are.
   */
  startInBackground(): boolean {
    if (this.running) return false;
    this.start().catch(() => {});
    return true;
  }

  /** Starts a snapshot, or joins the one being written (the timer's way). */
  private start(): Promise<SnapshotWritten> {
    this.running ??= (async () => {
      this.figures.snapshotInProgress = true;
      try {
        const write = newSnapshotWriteJob(this.cache.table.v.g, this.helpers);
        const job: SnapshotJob = { role: 'lead', handle: this.cache.handle, dir: this.options.dir, keep: this.options.keep, write };
        // The lead first: it never waits for the helper, so it runs whether or not a second
        // pool thread ever picks the helper up.
        const lead = this.pool.run(job) as Promise<SnapshotWritten>;
        const helper = this.helpers > 0 ? this.pool.run({ ...job, role: 'helper' } satisfies SnapshotJob) : Promise.resolve(null);
        let w: SnapshotWritten;
        try {
          w = await lead;
        } finally {
          // Whatever became of the lead (even a task that failed before its walk began), the
          // helper is told there is nothing more, and waited for (it never throws: its
          // failures are the lead's to raise), so that no job outlives its snapshot.
          abandonSnapshotWrite(write);
          await helper.catch(() => null);
        }
        Object.assign(this.figures, {
          lastSnapshotAtMs: Date.now(), lastSnapshotDurationMs: Math.round(w.durationMs), lastSnapshotBytes: w.bytes, lastSnapshotEntries: w.entries, lastSnapshotWalSequence: w.walSequence,
          snapshotsWritten: this.figures.snapshotsWritten + 1,
        });
        this.onWritten({ ...this.figures });
        return w;
      } catch (e) {
        this.figures.snapshotFailures++;
        this.log(`snapshot failed: ${(e as Error).message}`, 'error');
        throw e;
      } finally {
        this.figures.snapshotInProgress = false;
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** The figures for `/v1/stats`. */
  stats(): SnapshotStats {
    return { ...this.figures };
  }

  /** Stops the timer, waits for a snapshot being written, and ends the pool thread. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => {});
    await this.pool.destroy();
  }
}
