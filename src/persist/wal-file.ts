/**
 * A WAL file on disk (docs/design.md §6): its names, creation with its header, appends,
 * preallocation with zeros, closing under its final name, and pruning once a snapshot
 * covers it. The record format is wal-format.ts; when to write and sync is wal-writer.ts.
 *
 * Names: `wal-<thread, 2 digits>-<first sequence, 16 digits>.log` while written, then
 * `…-<last sequence, 16 digits>.log` once closed.
 *
 * @module
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readDirOrEmpty } from '../util/read-dir.ts';
import { encodeWalHeader } from './wal-format.ts';

const OPEN_NAME = /^wal-(\d{2})-(\d{16})\.log$/;
const CLOSED_NAME = /^wal-(\d{2})-(\d{16})-(\d{16})\.log$/;
const seqText = (n: number) => String(n).padStart(16, '0');

/**
 * `always`: a file is written ahead with zeros in steps of this many bytes, and records
 * overwrite the zeros. An fdatasync after an append must also make the file's new size
 * durable (an inode write; on a journalled ext4, a journal commit); after an overwrite of
 * blocks already on disk it only flushes the data, which costs less CPU and time per
 * fdatasync (bench:persist). One fdatasync per step carries the zeros and the new size. The zeros end the file's
 * records for a reader (docs/wal-format.md); closing a file cuts them off.
 */
export const WAL_PREALLOCATE_BYTES = 256 * 1024;
const ZEROS = new Uint8Array(WAL_PREALLOCATE_BYTES);

/** The path of thread `thread`'s WAL file whose first record is `firstSeq`, in `dir`. */
export function walFilePath(dir: string, thread: number, firstSeq: number): string {
  return join(dir, `wal-${String(thread).padStart(2, '0')}-${seqText(firstSeq)}.log`);
}

/** The closed name of the open WAL file `path` whose last record is `lastSeq`. */
export function closedWalPath(path: string, lastSeq: number): string {
  return path.replace(/\.log$/, `-${seqText(lastSeq)}.log`);
}

/** Creates (or empties) the WAL file `path` of thread `thread` with its header; returns its descriptor. */
export function createWalFile(path: string, thread: number): number {
  const fd = openSync(path, 'w');
  const head = encodeWalHeader(thread, Date.now());
  writeSync(fd, head, 0, head.length, 0);
  return fd;
}

/** Writes the first `length` bytes of `data` at file position `at`, synchronously and whole. */
export function writeAllSync(fd: number, data: Uint8Array, length: number, at: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, data, done, length - done, at + done);
}

/**
 * Writes zeros from `allocEnd` (the file's end) to past `end`, in whole
 * WAL_PREALLOCATE_BYTES steps, and returns the new end. Only the writing thread writes to
 * the file, and synchronously, so the zeros can never land on records.
 */
export function preallocateWalFile(fd: number, allocEnd: number, end: number): number {
  const to = Math.ceil(end / WAL_PREALLOCATE_BYTES) * WAL_PREALLOCATE_BYTES;
  while (allocEnd < to) allocEnd += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, to - allocEnd), allocEnd);
  return allocEnd;
}

/**
 * Closes the WAL file `path` (descriptor `fd`) whose records end at byte `end`: cuts off
 * the zeros written ahead (a closed file ends with its last record), syncs it, closes it and
 * renames it `closedPath`, durable before it is named closed (pruning trusts the name).
 */
export function closeWalFile(fd: number, end: number, path: string, closedPath: string): void {
  ftruncateSync(fd, end);
  fdatasyncSync(fd);
  closeSync(fd);
  renameSync(path, closedPath);
}

/** WAL files in `dir` (full paths), written or closed, in no particular order. */
export function listWalFiles(dir: string): string[] {
  return readDirOrEmpty(dir).filter((n) => OPEN_NAME.test(n) || CLOSED_NAME.test(n)).map((n) => join(dir, n));
}

/**
 * Gives a WAL file a crashed run left under its open name (`wal-TT-FIRST.log`) its closed
 * name (`wal-TT-FIRST-LAST.log`), so that pruning can tell when a snapshot covers it; one
 * with no record (`lastSeq` 0) holds nothing and is deleted.
 */
export function closeLeftOpenWalFile(path: string, lastSeq: number): void {
  if (lastSeq === 0) return rmSync(path, { force: true });
  renameSync(path, path.replace(/\.log$/, `-${seqText(lastSeq)}.log`));
}

/**
 * Deletes the closed WAL files in `dir` whose records all have sequence ≤ `coveredSeq`
 * (a durable snapshot taken at that sequence holds their effects). Returns how many.
 */
export function pruneWalFiles(dir: string, coveredSeq: number): number {
  let removed = 0;
  for (const n of readdirSync(dir)) {
    const m = CLOSED_NAME.exec(n);
    if (m && Number(m[3]) <= coveredSeq) {
      rmSync(join(dir, n), { force: true });
      removed++;
    }
  }
  return removed;
}
