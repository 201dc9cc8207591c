/**
 * Persistence for a whole SharedCache, as the server drives it (docs/design.md §6): start
 * this thread's WAL, replay the WAL into the cache, write a snapshot of it. Front ends call
 * these and never reach the table behind the cache.
 *
 * @module
 */
import type { SharedCache } from '../shared-cache.ts';
import { type SnapshotWritten, writeSnapshot } from './snapshot-files.ts';
import { replayWal, replayWalSteps, type WalReplayed, type WalReplayProgress } from './wal-replay.ts';
import { type FsyncPolicy, WalWriter, type WalWriterOptions } from './wal-writer.ts';

/**
 * Opens a WAL file for this thread's attachment to `cache` in `dir` and logs every change
 * this thread makes from now on to it, synced per `fsync`.
 */
export function startWal(cache: SharedCache, dir: string, fsync: FsyncPolicy, log: (line: string, level?: 'warn' | 'error') => void, options?: WalWriterOptions): WalWriter {
  const wal = new WalWriter(dir, cache.table.owner, fsync, cache.table.v, log, options);
  cache.table.walSink = wal;
  return wal;
}

/** Replays the WAL files of `dir` into `cache`: replayWal (wal-replay.ts) over its table. */
export function replayWalInto(cache: SharedCache, dir: string, afterSeq: number, log: (line: string, level?: 'warn' | 'error') => void, acceptGaps = false): WalReplayed {
  return replayWal(cache.table, dir, afterSeq, log, acceptGaps);
}

/** {@link replayWalInto} as steps (wal-replay.ts replayWalSteps). */
export function replayWalIntoSteps(cache: SharedCache, dir: string, afterSeq: number, log: (line: string, level?: 'warn' | 'error') => void, acceptGaps = false): Generator<WalReplayProgress, WalReplayed> {
  return replayWalSteps(cache.table, dir, afterSeq, log, acceptGaps);
}

/** Writes a snapshot of `cache` into `dir`: writeSnapshot (snapshot-files.ts) over its table. */
export function writeCacheSnapshot(cache: SharedCache, dir: string, keep: number, walSequence: bigint): SnapshotWritten {
  return writeSnapshot(cache.table, dir, keep, walSequence);
}
