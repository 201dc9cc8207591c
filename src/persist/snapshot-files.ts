/**
 * Snapshot files in a data directory (DESIGN §6): writing one (walk, encode, temp file,
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
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BadOptionError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import type { Table } from '../table/table.ts';
import { readDirOrEmpty } from '../util/read-dir.ts';
import { type BlockSink, encodeHeader, readSnapshotHeader, scanSnapshot, SnapshotBlockReader, SnapshotCorruptError, SnapshotEncoder, type SnapshotIndex } from './snapshot-format.ts';
import { finishLoadJob, LoadHelpers, newLoadJob, PARALLEL_LOAD_MIN_BYTES, runLoadJob } from './snapshot-load.ts';

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
}

/** Snapshot files in `dir`, newest first (full paths). */
export function listSnapshots(dir: string): string[] {
  return readDirOrEmpty(dir).filter((n) => NAME.test(n)).sort().reverse().map((n) => join(dir, n));
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
 * The walk: every bucket copied into `enc`. A function of its own, so that V8 optimizes it
 * as a whole and keeps that code from one snapshot to the next: as a loop inside
 * writeSnapshot it ran as on-stack-replaced code, which the code after the loop threw away
 * at every snapshot (a deopt), and the compile that followed ran on V8's shared background
 * threads at normal priority, on the server threads' core (bench:persist, GET p99 during a
 * snapshot).
 */
function walkBuckets(table: Table, enc: SnapshotEncoder): void {
  const now = table.clockSeconds();
  const buckets = table.v.g.bucketCount;
  for (let b = 0; b < buckets; b++) {
    table.snapshotBucket(b, now, enc);
    enc.endBucket();
  }
}

/**
 * Largest write(2) a snapshot makes, in bytes. The snapshot thread runs in the SCHED_IDLE
 * class, but a thread inside a system call is not preempted on a kernel built without
 * forced preemption (this machine's: PREEMPT_NONE): a server thread that wakes while it
 * copies a 1 MiB block into the page cache waits for the whole copy. Measured here with a
 * SCHED_IDLE writer beside a GET load on one core: GET p99 289–2,780 µs with 1 MiB writes,
 * 164–246 µs with 64 KiB writes, 215–258 µs with no writer.
 */
export const SNAPSHOT_WRITE_BYTES = 64 * 1024;

/** Writes blocks at the end of an open file, in writes of at most SNAPSHOT_WRITE_BYTES, counting bytes. */
class FileSink implements BlockSink {
  /** Bytes written so far. */
  bytes = 0;

  constructor(private readonly fd: number) {}

  write(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, Math.min(SNAPSHOT_WRITE_BYTES, chunk.length - done));
    this.bytes += chunk.length;
  }
}

/**
 * Writes a snapshot of `table` into `dir` and deletes all but the newest `keep` snapshots
 * (and stale temp files). Walks the index bucket by bucket without stopping readers or
 * writers (Table.snapshotBucket): each bucket is copied as it was at one instant; the
 * file as a whole is not one instant but every entry in it is a value that was really
 * stored, and every key present throughout the walk is in it.
 * @param walSequence the WAL sequence at the start (0 without a WAL)
 * @throws the file system's errors (`ENOSPC`, `EACCES`, …) as Node raises them; the temp
 *   file is removed and older snapshots are left as they were.
 */
export function writeSnapshot(table: Table, dir: string, keep: number, walSequence = 0n): SnapshotWritten {
  const t0 = performance.now();
  let createdAtMs = Date.now();
  const newest = listSnapshots(dir)[0];
  const newestMs = newest ? Number(NAME.exec(newest.slice(dir.length + 1))![1]) : 0;
  if (createdAtMs <= newestMs) createdAtMs = newestMs + 1; // names stay unique and ordered
  const name = `snapshot-${String(createdAtMs).padStart(13, '0')}.sabsnap`;
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  const file = new FileSink(fd);
  let entries = 0;
  try {
    file.write(encodeHeader({ createdAtMs, walSequence, hashSeeds: [table.v.seedA, table.v.seedB] }));
    const enc = new SnapshotEncoder(file);
    walkBuckets(table, enc);
    file.write(enc.finish());
    entries = enc.entries;
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
  return { path, bytes: file.bytes, entries, createdAtMs, durationMs, walSequence: Number(walSequence) };
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
 * helper has detached.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) when `threads` is not a positive integer.
 * @throws the file system's errors other than a failed check (`EACCES` on the directory
 *   or a file, say), as Node raises them (from a helper: an Error with the same message and `code`).
 */
export function loadSnapshot(cache: SharedCache, dir: string, log: (line: string) => void, options: LoadSnapshotOptions = {}): SnapshotLoaded {
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
        if (!helpers && threads > 1 && index.bytes >= minBytes && index.blocks.length > 1) {
          helpers = new LoadHelpers(cache, Math.min(threads - 1, index.blocks.length - 1));
        }
        const job = newLoadJob(path, index.padded, index.blocks);
        helpers?.post(job);
        if (!helpers || options.callerLoads !== false) runLoadJob(table, job, reader, false);
        // Blocks no helper will claim (none could attach) are stored here after all.
        const done = finishLoadJob(job, () => { if (helpers?.allGone()) runLoadJob(table, job, reader, false); });
        if (done.skipped) log(`sabcache: snapshot ${path}: ${done.skipped} entries skipped: their key or value is over this server's --max-key-bytes / --max-value-bytes, or of an unknown type`);
        const held = cache.stats().items;
        if (held < done.stored) log(`sabcache: snapshot ${path}: ${done.stored - held} of ${done.stored} entries did not fit in memory and were evicted`);
        return {
          path, entries: index.entries, stored: done.stored, bytes: index.bytes, walSequence: index.walSequence, refused,
          durationMs: performance.now() - t0, helperThreads: helpers?.count ?? 0, helperBlocks: done.helperBlocks,
        };
      } catch (e) {
        if (!(e instanceof SnapshotCorruptError)) throw e;
        log(`sabcache: refusing snapshot ${path}: ${e.message}; trying the previous one`);
        refused.push({ path, reason: e.message });
        cache.flush();
      }
    }
    return { entries: 0, stored: 0, bytes: 0, walSequence: 0n, refused, durationMs: performance.now() - t0, helperThreads: helpers?.count ?? 0, helperBlocks: 0 };
  } finally {
    helpers?.close();
  }
}
