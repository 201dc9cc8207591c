/**
 * Recovery's second half (docs/design.md §6): after the newest valid snapshot is loaded, the WAL
 * records numbered after the snapshot's sequence are applied in sequence order, merged
 * across the threads' files. A file's torn or corrupt tail ends that file's part of the
 * replay, with a log line; a file whose header is bad is skipped, with a log line.
 *
 * Gaps: the applied records must continue the snapshot's sequence without a hole. A hole
 * that a crash explains is accepted: a file left open by a crashed run (it still has its
 * open name, `wal-TT-FIRST.log`) may have lost the records after its last readable one, so
 * a missing number above that file's last record is a write that was never made durable.
 * Any other hole (a closed file missing, a snapshot that fell back past deleted files) means
 * records that were written and acknowledged are gone: {@link replayWal} then throws
 * {@link WalGapError}, unless the caller accepts gaps (`--recover-past-gaps`), in which case
 * they are returned, logged and counted.
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { SabcacheError, WalGapError } from '../errors.ts';
import { basename } from 'node:path';
import type { Table } from '../table/table.ts';
import { WAL_OP_DELETE, WAL_OP_EXPIRE, WAL_OP_FLUSH, WAL_OP_SET, WalCorruptError, WalReader } from './wal-format.ts';
import { listWalFiles } from './wal-file.ts';
import { runSteps } from '../util/steps.ts';

/** What a replay did. */
export interface WalReplayed {
  /** WAL files read. */
  files: number;
  /** Records read (all files). */
  records: number;
  /** Records applied (numbered after the snapshot). */
  applied: number;
  /** Records skipped: a key or value over this server's limits. */
  skipped: number;
  /** The highest sequence read (0 when none). */
  lastSeq: number;
  /** Why files ended early (torn or corrupt tails, bad headers). */
  problems: string[];
  /** Every file read, with what recovery needs to keep or set aside. */
  fileStates: WalFileState[];
  /** Holes in the sequence no crash explains (each `[from, to]`, inclusive); empty unless gaps were accepted. */
  gaps: [number, number][];
}

/** One WAL file as the replay found it. */
export interface WalFileState {
  path: string;
  /** Still under its open name (`wal-TT-FIRST.log`): its writer never closed it (a crash). */
  open: boolean;
  /** The sequence of its last readable record; 0 when it has none. */
  lastSeq: number;
  /** Its header was bad, or reading stopped at a torn or corrupt record: set it aside, never delete it. */
  damaged: boolean;
}

const OPEN_FILE = /^wal-\d{2}-\d{16}\.log$/;
/** Most gaps listed in one replay (the rest are counted in the last one's range). */
const MAX_GAPS = 100;

/**
 * Applies to `table` every WAL record in `dir` numbered after `afterSeq`, in sequence
 * order. `table` must have no WAL sink (replayed changes are not logged again).
 * @param acceptGaps - apply past a gap no crash explains (logged loudly, returned in `gaps`)
 *   instead of throwing. @default false
 * @throws WalGapError (`SABCACHE_ERR_WAL_GAP`) naming the first missing range, unless
 *   `acceptGaps`; the file system's errors other than a bad file, as Node raises them.
 */
export function replayWal(table: Table, dir: string, afterSeq: number, log: (line: string, level?: 'warn' | 'error') => void, acceptGaps = false): WalReplayed {
  return runSteps(replayWalSteps(table, dir, afterSeq, log, acceptGaps));
}

/** How far a WAL replay has come. */
export interface WalReplayProgress {
  /** WAL files opened. */
  files: number;
  /** Records read so far, and applied. */
  records: number;
  applied: number;
}

/** Records between two steps of {@link replayWalSteps}. */
const RECORDS_PER_STEP = 20_000;

/**
 * {@link replayWal} as steps (util/steps.ts): yields its progress every 20,000 records,
 * so that a caller running it with runStepsAsync answers requests meanwhile.
 */
export function* replayWalSteps(table: Table, dir: string, afterSeq: number, log: (line: string, level?: 'warn' | 'error') => void, acceptGaps = false): Generator<WalReplayProgress, WalReplayed> {
  const out: WalReplayed = { files: 0, records: 0, applied: 0, skipped: 0, lastSeq: 0, problems: [], fileStates: [], gaps: [] };
  const readers: WalReader[] = [];
  const states = new Map<WalReader, WalFileState>();
  const fds: number[] = [];
  /** Holes found in the merged order, checked against the crashed files at the end. */
  const holes: [number, number][] = [];
  let expected = afterSeq + 1;
  try {
    for (const path of listWalFiles(dir)) {
      const fd = openSync(path, 'r');
      fds.push(fd);
      const state: WalFileState = { path, open: OPEN_FILE.test(basename(path)), lastSeq: 0, damaged: false };
      out.fileStates.push(state);
      try {
        const r = new WalReader(fd, path);
        out.files++;
        if (r.next()) {
          readers.push(r);
          states.set(r, state);
        } else if (r.tail) {
          out.problems.push(r.tail);
          state.damaged = true;
        }
      } catch (e) {
        if (!(e instanceof WalCorruptError)) throw e;
        out.problems.push(e.message);
        state.damaged = true;
      }
    }
    // A k-way merge: each file is in sequence order; there are few files.
    while (readers.length > 0) {
      let min = 0;
      for (let i = 1; i < readers.length; i++) if (readers[i].record.seq < readers[min].record.seq) min = i;
      const reader = readers[min];
      const rec = reader.record;
      if (++out.records % RECORDS_PER_STEP === 0) yield { files: out.files, records: out.records, applied: out.applied };
      states.get(reader)!.lastSeq = rec.seq;
      if (rec.seq > out.lastSeq) out.lastSeq = rec.seq;
      if (rec.seq > afterSeq) {
        if (rec.seq > expected && holes.length < MAX_GAPS) holes.push([expected, rec.seq - 1]);
        else if (rec.seq > expected) holes[holes.length - 1][1] = rec.seq - 1;
        if (rec.seq >= expected) expected = rec.seq + 1;
        try {
          apply(table, rec.op, rec.key, rec.value, rec.type, rec.expireAt);
          out.applied++;
        } catch (e) {
          // A key or value over this server's limits (started with smaller ones): skipped.
          if (!(e instanceof SabcacheError)) throw e;
          out.skipped++;
        }
      }
      if (!reader.next()) {
        if (reader.tail) {
          out.problems.push(reader.tail);
          states.get(reader)!.damaged = true;
        }
        readers.splice(min, 1);
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  // A hole is explained when a file a crash left open (or cut short) ended below it: its
  // lost tail may have held those numbers, which were then never durable.
  const cutShort = out.fileStates.filter((f) => f.open || f.damaged).map((f) => f.lastSeq);
  for (const [from, to] of holes) {
    if (cutShort.some((last) => last < from)) continue;
    if (!acceptGaps) throw new WalGapError(BigInt(from), BigInt(to), `the snapshot covers up to ${afterSeq}; the WAL in ${dir} goes on at ${to + 1}`);
    out.gaps.push([from, to]);
    log(`WAL GAP: records ${from} to ${to} are missing and were not replayed (--recover-past-gaps): acknowledged writes in that range are lost`, 'error');
  }
  for (const p of out.problems) log(`WAL: ${p}; the records after it in that file are not replayed`, 'warn');
  if (out.skipped) log(`WAL: ${out.skipped} records skipped: their key or value is over this server's --max-key-bytes / --max-value-bytes`, 'warn');
  return out;
}

function apply(table: Table, op: number, key: Uint8Array, value: Uint8Array, type: number, expireAt: number): void {
  switch (op) {
    case WAL_OP_SET:
      // Already expired: the key is gone now, whatever an older record or the snapshot held.
      if (!table.restore(key, value, type, expireAt)) table.delete(key);
      return;
    case WAL_OP_DELETE:
      table.delete(key);
      return;
    case WAL_OP_EXPIRE: {
      const now = table.clockSeconds();
      if (expireAt === 0) table.setTtl(key, 0);
      else if (expireAt <= now) table.delete(key);
      else table.setTtl(key, expireAt - now);
      return;
    }
    case WAL_OP_FLUSH:
      table.flush();
      return;
  }
}
