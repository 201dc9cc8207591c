/**
 * Snapshot files in a data directory (docs/design.md §6): writing one (walk, encode, temp file,
 * fsync, rename, directory fsync), keeping the last K, and loading the newest valid one on
 * start (on several threads: snapshot-load.ts), falling back to older ones when a file
 * fails its checks.
 *
 * Files are named `snapshot-<created-at unix ms, 13 digits>.sabsnap`, so names sort by age;
 * a file being written is `<name>.tmp` and is never loaded (a crash mid-write leaves only
 * a temp file, removed by the next write).
 *
 * @module
 */
import { growIndexFor } from '../table/index-growth.ts';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BadOptionError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import type { Table } from '../table/table.ts';
import { readDirOrEmpty } from '../util/read-dir.ts';
import { readSnapshotHeader, scanSnapshot, SnapshotBlockReader, SnapshotCorruptError, type SnapshotIndex } from './snapshot-format.ts';
import { leadSnapshotWrite, newSnapshotWriteJob, type SnapshotWriteJob, type SnapshotWriteResult } from './snapshot-write.ts';
import { claimedBlocks, finishLoadJob, LoadHelpers, newLoadJob, PARALLEL_LOAD_MIN_BYTES, runLoadJob } from './snapshot-load.ts';
import { runSteps } from '../util/steps.ts';

const NAME = /^snapshot-(\d{13})\.sabsnap$/;

/** What writing one snapshot did. */
export interface SnapshotWritten {
  /** Path of the new snapshot file. */
  path: string;
  /** File size, in bytes. */
  bytes: number;
  /** Entries in the file. */
  entries: number;
  /** When the walk started, unix milliseconds. */
  createdAtMs: number;
  /** Wall time from the walk's start to the directory fsync, in milliseconds. */
  durationMs: number;
  /** The WAL sequence the snapshot covers (every change numbered up to it is in it). */
  walSequence: number;
  /** Entries in the file's tail: written or moved while the walk ran (table/snapshot-walk.ts). */
  tailEntries: number;
  /** Segments a helper thread copied (0: the calling thread walked alone). */
  helperSegments: number;
}

/** Snapshot files in `dir`, newest first (full paths). */
export function listSnapshots(dir: string): string[] {
  return readDirOrEmpty(dir).filter((n) => NAME.test(n)).sort().reverse().map((n) => join(dir, n));
}

/**
 * The WAL sequence the oldest snapshot kept in `dir` covers: WAL records above it are
 * needed should every newer snapshot prove damaged, so WAL files are pruned only up to it.
 * 0 (prune nothing) when a kept snapshot's header cannot be read, or there is none.
 */
export function oldestKeptSnapshotSequence(dir: string): bigint {
  let oldest: bigint | undefined;
  for (const path of listSnapshots(dir)) {
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      const seq = readSnapshotHeader(fd).walSequence;
      if (oldest === undefined || seq < oldest) oldest = seq;
    } catch {
      return 0n;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  return oldest ?? 0n;
}

/**
 * The hash seeds recorded in the newest snapshot in `dir` whose header passes its checks,
 * or undefined (no snapshot, or none records them). A cache created with them
 * (SharedCacheOptions.hashSeeds) before {@link loadSnapshot} stores the file's entries in
 * the order of its own index: the file is in the old index's bucket order, and a bucket is
 * picked by a range of the seeded hash (layout.ts rangeOf), so with the same seeds the
 * order carries over at any bucket count and the index is written front to back instead
 * of at random (bench:persist: 1.32× the load speed with the server's threads). Only the header
 * is checked: if the file then fails its other checks and an older one loads, that load
 * is merely slower.
 */
export function newestSnapshotHashSeeds(dir: string): readonly [number, number] | undefined {
  for (const path of listSnapshots(dir)) {
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      const header = readSnapshotHeader(fd);
      if (header.hashSeeds) return header.hashSeeds;
    } catch {
      // Unreadable or corrupt: loadSnapshot will say why; look at the next one.
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  return undefined;
}

/** Flushes `dir`'s entries (a rename) to disk. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a snapshot of `table` into `dir` and deletes all but the newest `keep` snapshots
 * (and stale temp files). Walks the table without stopping readers or writers
 * (table/snapshot-walk.ts: record the buckets' versions, copy the segments in memory
 * order, then copy the buckets that changed meanwhile as the file's tail), on this thread and, when `job` was made with
 * room for a helper, on the helper that joins it (snapshot-write.ts). The file as a whole
 * is not one instant, but every entry in it is a value that was really stored, and every
 * key present throughout the walk is in it.
 * @param walSequence the WAL sequence at the start (0 without a WAL)
 * @param job the job a helper joins (Snapshotter); by default one for this thread alone
 * @throws the file system's errors (`ENOSPC`, `EACCES`, …) as Node raises them (from a
 *   helper: an Error with the same message and `code`); the temp file is removed and older
 *   snapshots are left as they were.
 */
export function writeSnapshot(table: Table, dir: string, keep: number, walSequence = 0n, job?: SnapshotWriteJob): SnapshotWritten {
  const t0 = performance.now();
  let createdAtMs = Date.now();
  const newest = listSnapshots(dir)[0];
  const newestMs = newest ? Number(NAME.exec(newest.slice(dir.length + 1))![1]) : 0;
  if (createdAtMs <= newestMs) createdAtMs = newestMs + 1; // names stay unique and ordered
  const name = `snapshot-${String(createdAtMs).padStart(13, '0')}.sabsnap`;
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let written: SnapshotWriteResult;
  try {
    written = leadSnapshotWrite(table, job ?? newSnapshotWriteJob(table.v.g, 0), fd, tmp, { createdAtMs, walSequence, hashSeeds: [table.v.seedA, table.v.seedB] });
    // Durable before visible: the data reaches the disk before the rename makes it the
    // newest snapshot, and the rename itself is made durable by the directory fsync.
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dir);
  const durationMs = performance.now() - t0;
  for (const old of listSnapshots(dir).slice(keep)) rmSync(old, { force: true });
  for (const n of readdirSync(dir)) if (n.endsWith('.sabsnap.tmp') && join(dir, n) !== tmp) rmSync(join(dir, n), { force: true });
  return {
    path, bytes: written.bytes, entries: written.entries, createdAtMs, durationMs, walSequence: Number(walSequence), tailEntries: written.tailEntries,
    helperSegments: written.helperSegments,
  };
}

/** What loading on start found. */
export interface SnapshotLoaded {
  /** The file loaded, or undefined when none was valid (or none existed). */
  path?: string;
  /** Entries in that file. */
  entries: number;
  /** Entries stored (the rest had expired, or did not fit and were evicted). */
  stored: number;
  /** File size, in bytes. */
  bytes: number;
  /** The WAL sequence the snapshot was taken at (0n without one). */
  walSequence: bigint;
  /** Files refused, with the reason (newest first). */
  refused: { path: string; reason: string }[];
  /** Time to load, in milliseconds. */
  durationMs: number;
  /** Helper threads started for the load (0: the calling thread loaded alone). */
  helperThreads: number;
  /** Blocks of the loaded file that helper threads stored (the rest, the calling thread). */
  helperBlocks: number;
}

/** How {@link loadSnapshot} spreads the work over threads. */
export interface LoadSnapshotOptions {
  /**
   * Threads that store entries, the calling one included: the others are helper worker
   * threads attached to the cache for the load (snapshot-load.ts).
   * @default os.availableParallelism()
   */
  threads?: number;
  /**
   * Files smaller than this many bytes are loaded by the calling thread alone.
   * @default PARALLEL_LOAD_MIN_BYTES (64 MiB)
   */
  parallelMinBytes?: number;
  /**
   * Whether the calling thread stores blocks too; false leaves them all to the helpers
   * (tests use it to make the helpers do the work). Ignored without helpers.
   * @default true
   */
  callerLoads?: boolean;
}

/**
 * Loads the newest valid snapshot in `dir` into the empty `cache`. A file that fails a
 * check is logged and refused, whatever it had stored is flushed, and the next older file
 * is tried. Entries already expired are skipped; entries that do not fit the cache's
 * memory are evicted by its policy as they would be by writes (logged as a count).
 *
 * Each file is scanned first (header, block headers, trailer: snapshot-format.ts
 * scanSnapshot); its blocks are then checked and stored by this thread and, for files of
 * at least `parallelMinBytes`, by `threads - 1` helper threads at once (snapshot-load.ts).
 * Synchronous: the helpers boot while this thread loads, and it returns once every
 * helper has detached. {@link loadSnapshotSteps} is the same work a block at a time.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) when `threads` is not a positive integer.
 * @throws the file system's errors other than a failed check (`EACCES` on the directory
 *   or a file, say), as Node raises them (from a helper: an Error with the same message and `code`).
 */
export function loadSnapshot(cache: SharedCache, dir: string, log: (line: string, level?: 'warn' | 'error') => void, options: LoadSnapshotOptions = {}): SnapshotLoaded {
  return runSteps(loadSnapshotSteps(cache, dir, log, options));
}

/** How far a snapshot load has come: the file being loaded, its blocks and how many are claimed. */
export interface SnapshotLoadProgress {
  path: string;
  /** The file's size. */
  bytes: number;
  blocks: number;
  /** Blocks claimed by a thread (stored or being stored). */
  blocksDone: number;
}

/**
 * {@link loadSnapshot} as steps (util/steps.ts): yields its progress after each block this
 * thread stores, so that a caller running it with runStepsAsync answers requests between
 * blocks (the server's `/readyz` while it starts). The helpers work on between steps.
 */
export function* loadSnapshotSteps(cache: SharedCache, dir: string, log: (line: string, level?: 'warn' | 'error') => void, options: LoadSnapshotOptions = {}): Generator<SnapshotLoadProgress, SnapshotLoaded> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new BadOptionError('threads', `must be a positive integer, got ${threads}`);
  const minBytes = options.parallelMinBytes ?? PARALLEL_LOAD_MIN_BYTES;
  const t0 = performance.now();
  const refused: SnapshotLoaded['refused'] = [];
  const table = cache.table;
  const reader = new SnapshotBlockReader();
  let helpers: LoadHelpers | undefined;
  try {
    for (const path of listSnapshots(dir)) {
      try {
        const fd = openSync(path, 'r');
        let index: SnapshotIndex;
        try {
          index = scanSnapshot(fd);
        } finally {
          closeSync(fd);
        }
        // Room in the index first: the load links entries faster than maintenance grows it.
        growIndexFor(table, index.entries);
        if (!helpers && threads > 1 && index.bytes >= minBytes && index.blocks.length > 1) {
          helpers = new LoadHelpers(cache, Math.min(threads - 1, index.blocks.length - 1));
        }
        // The tail (the entries the walk copied last) is stored after every other block:
        // a key in both holds the tail's value, the later one (snapshot-format.ts
        // SNAPSHOT_FLAG_TAIL). A key found twice before the tail is also in the tail.
        const tail = index.tailBlock ?? index.blocks.length;
        const evictedBefore = cache.stats().evictions;
        const done = { stored: 0, skipped: 0, helperBlocks: 0 };
        for (const [first, blocks] of [[0, index.blocks.slice(0, tail)], [tail, index.blocks.slice(tail)]] as const) {
          if (blocks.length === 0) continue;
          const job = newLoadJob(path, index.padded, blocks);
          helpers?.post(job);
          if (!helpers || options.callerLoads !== false) {
            while (runLoadJob(table, job, reader, false, 1)) yield { path, bytes: index.bytes, blocks: index.blocks.length, blocksDone: first + claimedBlocks(job) };
          }
          // Blocks no helper will claim (none could attach) are stored here after all.
          const stage = finishLoadJob(job, () => { if (helpers?.allGone()) runLoadJob(table, job, reader, false); });
          done.stored += stage.stored;
          done.skipped += stage.skipped;
          done.helperBlocks += stage.helperBlocks;
        }
        if (done.skipped) log(`snapshot ${path}: ${done.skipped} entries skipped: their key or value is over this server's --max-key-bytes / --max-value-bytes, or of an unknown type`, 'warn');
        const evicted = cache.stats().evictions - evictedBefore;
        if (evicted > 0) log(`snapshot ${path}: ${evicted} of ${done.stored} entries did not fit in memory and were evicted`);
        return {
          path, entries: index.entries, stored: done.stored, bytes: index.bytes, walSequence: index.walSequence, refused,
          durationMs: performance.now() - t0, helperThreads: helpers?.count ?? 0, helperBlocks: done.helperBlocks,
        };
      } catch (e) {
        if (!(e instanceof SnapshotCorruptError)) throw e;
        // Set aside, never deleted: it is left for manual recovery, and no longer counts
        // as a kept snapshot (so it cannot push a good one out).
        const aside = `${path}.damaged`;
        renameSync(path, aside);
        log(`refusing snapshot ${path}: ${e.message}; renamed it to ${aside}; trying the previous one`, 'error');
        refused.push({ path: aside, reason: e.message });
        cache.flush();
      }
    }
    return { entries: 0, stored: 0, bytes: 0, walSequence: 0n, refused, durationMs: performance.now() - t0, helperThreads: helpers?.count ?? 0, helperBlocks: 0 };
  } finally {
    helpers?.close();
  }
}
