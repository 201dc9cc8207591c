/**
 * Snapshot files in a data directory (DESIGN §6): writing one (walk, encode, temp file,
 * fsync, rename, directory fsync), keeping the last K, and loading the newest valid one on
 * start, falling back to older ones when a file fails its checks.
 *
 * Files are named `snapshot-<created-at unix ms, 13 digits>.sabsnap`, so names sort by age;
 * a file being written is `<name>.tmp` and is never loaded (a crash mid-write leaves only
 * a temp file, removed by the next write).
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedCache } from '../shared-cache.ts';
import type { Table } from '../table/table.ts';
import { readDirOrEmpty } from '../util/read-dir.ts';
import { encodeHeader, readSnapshotBlocks, SnapshotCorruptError, SnapshotEncoder } from './snapshot-format.ts';

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
  let bytes = 0;
  let entries = 0;
  try {
    const write = (chunk: Uint8Array) => {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      bytes += chunk.length;
    };
    write(encodeHeader({ createdAtMs, walSequence }));
    const enc = new SnapshotEncoder(write);
    const now = table.clockSeconds();
    const buckets = table.v.g.bucketCount;
    for (let b = 0; b < buckets; b++) {
      table.snapshotBucket(b, now, enc);
      enc.endBucket();
    }
    write(enc.finish());
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
  return { path, bytes, entries, createdAtMs, durationMs, walSequence: Number(walSequence) };
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
}

/**
 * Loads the newest valid snapshot in `dir` into the empty `cache`. A file that fails a
 * check is logged and refused, whatever it had stored is flushed, and the next older file
 * is tried. Entries already expired are skipped; entries that do not fit the cache's
 * memory are evicted by its policy as they would be by writes (logged as a count).
 * @throws the file system's errors other than a failed check (`EACCES` on the directory
 *   or a file, say), as Node raises them.
 */
export function loadSnapshot(cache: SharedCache, dir: string, log: (line: string) => void): SnapshotLoaded {
  const t0 = performance.now();
  const refused: SnapshotLoaded['refused'] = [];
  const table = cache.table;
  for (const path of listSnapshots(dir)) {
    const fd = openSync(path, 'r');
    let stored = 0;
    try {
      let skipped = 0;
      const r = readSnapshotBlocks(fd, (payload, starts, count, padded) => {
        // Keys or values over this cache's limits (started with smaller ones) are skipped.
        const done = table.restoreEntries(payload, starts, count, padded);
        stored += done.stored;
        skipped += done.skipped;
      });
      if (skipped) log(`sabcache: snapshot ${path}: ${skipped} entries skipped: their key or value is over this server's --max-key-bytes / --max-value-bytes, or of an unknown type`);
      const held = cache.stats().items;
      if (held < stored) log(`sabcache: snapshot ${path}: ${stored - held} of ${stored} entries did not fit in memory and were evicted`);
      return { path, entries: r.entries, stored, bytes: r.bytes, walSequence: r.walSequence, refused, durationMs: performance.now() - t0 };
    } catch (e) {
      if (!(e instanceof SnapshotCorruptError)) throw e;
      log(`sabcache: refusing snapshot ${path}: ${e.message}; trying the previous one`);
      refused.push({ path, reason: e.message });
      cache.flush();
    } finally {
      closeSync(fd);
    }
  }
  return { entries: 0, stored: 0, bytes: 0, walSequence: 0n, refused, durationMs: performance.now() - t0 };
}
