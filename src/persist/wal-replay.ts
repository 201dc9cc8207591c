/**
 * Recovery's second half (DESIGN §6): after the newest valid snapshot is loaded, the WAL
 * records numbered after the snapshot's sequence are applied in sequence order, merged
 * across the threads' files. A file's torn or corrupt tail ends that file's part of the
 * replay, with a log line; a file whose header is bad is skipped, with a log line.
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { SabcacheError } from '../errors.ts';
import { type Table, WAL_OP_DELETE, WAL_OP_EXPIRE, WAL_OP_FLUSH, WAL_OP_SET } from '../table/table.ts';
import { WalCorruptError, WalReader } from './wal-format.ts';
import { listWalFiles } from './wal-writer.ts';

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
}

/**
 * Applies to `table` every WAL record in `dir` numbered after `afterSeq`, in sequence
 * order. `table` must have no WAL sink (replayed changes are not logged again).
 * @throws the file system's errors other than a bad file, as Node raises them.
 */
export function replayWal(table: Table, dir: string, afterSeq: number, log: (line: string) => void): WalReplayed {
  const out: WalReplayed = { files: 0, records: 0, applied: 0, skipped: 0, lastSeq: 0, problems: [] };
  const readers: WalReader[] = [];
  const fds: number[] = [];
  try {
    for (const path of listWalFiles(dir)) {
      const fd = openSync(path, 'r');
      fds.push(fd);
      try {
        const r = new WalReader(fd, path);
        out.files++;
        if (r.next()) readers.push(r);
        else if (r.tail) out.problems.push(r.tail);
      } catch (e) {
        if (!(e instanceof WalCorruptError)) throw e;
        out.problems.push(e.message);
      }
    }
    // A k-way merge: each file is in sequence order; there are few files.
    while (readers.length > 0) {
      let min = 0;
      for (let i = 1; i < readers.length; i++) if (readers[i].record.seq < readers[min].record.seq) min = i;
      const reader = readers[min];
      const rec = reader.record;
      out.records++;
      if (rec.seq > out.lastSeq) out.lastSeq = rec.seq;
      if (rec.seq > afterSeq) {
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
        if (reader.tail) out.problems.push(reader.tail);
        readers.splice(min, 1);
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  for (const p of out.problems) log(`sabcache: WAL: ${p}; the records after it in that file are not replayed`);
  if (out.skipped) log(`sabcache: WAL: ${out.skipped} records skipped: their key or value is over this server's --max-key-bytes / --max-value-bytes`);
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
