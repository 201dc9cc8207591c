/**
 * One thread's write-ahead log (docs/design.md §6): the buffer and the sync strategy; the
 * file itself (names, creation, preallocation, closing, pruning) is wal-file.ts. Here: the table hands it each mutation with the
 * sequence number taken inside the bucket lock (table.ts WalSink); it encodes them into a
 * buffer and, at the end of the event-loop turn, hands the buffer to an asynchronous write
 * at the end of this thread's file (one write in flight at a time; records that come
 * meanwhile go out with the next).
 *
 * `fsync` decides when records are on disk:
 * - `always`: answers wait for the fdatasync that covers their records
 *   ({@link WalWriter.whenDurable}); one fdatasync covers every record written before it
 *   (group commit). Who runs it depends on how long an fdatasync takes here (an average of
 *   the last ones, {@link INLINE_SYNC_MAX_MICROS}):
 *   - a fast disk: this thread, at the end of a turn, as Redis `appendfsync always` does. A
 *     turn first waits (the event loop still serving) until as many records wait as the
 *     largest batch of the last 100-200 ms, or one fdatasync's time has passed: the writes
 *     of the clients that keep coming back share one fdatasync instead of two or three
 *     (PostgreSQL's `commit_delay` and MySQL's `binlog_group_commit_sync_delay` do the same
 *     with fixed settings).
 *   - a slow disk: this writer's sync thread (wal-sync-worker.ts), while the event loop goes
 *     on serving; the turns that come while one fdatasync runs share the next.
 *   On a fast disk the first answers more SETs/s (bench:persist; the commit that chose it
 *   gives the figures): each fdatasync on the sync thread costs two context switches and an
 *   inter-processor interrupt into the serving thread's core.
 * - `everysec`: an fdatasync every second; answers do not wait (a crash loses at most
 *   about the last second, as Redis `appendfsync everysec`).
 * - `no`: the kernel writes the file back when it likes.
 *
 * Files: `wal-<thread, 2 digits>-<first sequence, 16 digits>.log` while written. When the
 * header's WAL epoch moves (the snapshotter moves it before a snapshot), the writer syncs
 * and closes its file and renames it `…-<last sequence, 16 digits>.log`; a snapshot taken
 * at sequence S makes every closed file whose last sequence is ≤ S unneeded
 * ({@link pruneWalFiles}).
 *
 * @module
 */
import { closeSync, fdatasync, fdatasyncSync, renameSync, write } from 'node:fs';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { H_WAL_EPOCH } from '../table/layout.ts';
import type { SharedView } from '../table/shared-view.ts';
import type { WalSink } from '../table/table.ts';
import { siblingModule, spawnWorker } from '../util/spawn-worker.ts';
import { readJobFailure } from './job-protocol.ts';
import {
  batchAfter, SYNC_CONTROL_BYTES, SYNC_COUNT, SYNC_DONE, SYNC_FAILED, SYNC_FAILURES, SYNC_FILE, SYNC_MESSAGE_BYTES, SYNC_MESSAGE_OFFSET_BYTES, SYNC_MICROS, SYNC_REQUESTED, SYNC_STOP,
} from './wal-sync-control.ts';
import { closedWalPath, closeWalFile, createWalFile, preallocateWalFile, walFilePath, writeAllSync } from './wal-file.ts';
import { encodeWalRecord, WAL_HEADER_BYTES, WAL_OP_DELETE, WAL_OP_EXPIRE, WAL_OP_FLUSH, WAL_OP_SET, walRecordBytes } from './wal-format.ts';

/** When WAL records reach the disk (see the module comment). */
export type FsyncPolicy = 'always' | 'everysec' | 'no';

/**
 * `always`: while fdatasync takes at most this long (microseconds, an average of the last
 * ones), the serving thread runs it itself; above, its sync thread does, until the average
 * falls below half of this. Blocking the event loop for up to this long per batch costs
 * less than handing the batch over; a slower disk would stall reads for too long.
 */
export const INLINE_SYNC_MAX_MICROS = 100;
/** `always`, inline: the window over which the largest batch is kept, in milliseconds. */
const BATCH_WINDOW_MS = 100;

/** Options of a {@link WalWriter} beyond the policy (tests). */
export interface WalWriterOptions {
  /**
   * `always`: the fdatasync time (microseconds, average) up to which the serving thread
   * syncs itself; 0: the sync thread runs every fdatasync; Infinity: never.
   * @default INLINE_SYNC_MAX_MICROS
   */
  inlineSyncMaxMicros?: number;
  /**
   * `always`, inline: how long (microseconds) records wait for more before their fdatasync.
   * @default the average fdatasync time
   */
  maxWaitMicros?: number;
  /**
   * `always`, inline: the window (milliseconds) over which the largest batch is kept.
   * @default BATCH_WINDOW_MS (100)
   */
  batchWindowMs?: number;
}

/** Records, bytes and syncs of one writer, for stats. */
export interface WalWriterStats {
  /** Records logged. */
  records: number;
  /** Bytes of records written to files. */
  bytes: number;
  /** fdatasyncs completed. */
  syncs: number;
}

const EMPTY_KEY = new Uint8Array(0);

/**
 * The failure the sync thread recorded in control block `ctl` (wal-sync-control.ts), as
 * `code: message`, and frees the slot for the next one. Call it only after SYNC_FAILURES
 * moved: the sync thread records the failure before it moves the count.
 */
export function syncFailure(ctl: Int32Array): string {
  if (Atomics.load(ctl, SYNC_FAILED) === 0) return 'again';
  const area = new Uint8Array(ctl.buffer, SYNC_MESSAGE_OFFSET_BYTES);
  const { code, message } = readJobFailure(ctl, SYNC_MESSAGE_BYTES, area);
  // Ordering: read, then free the slot: the sync thread writes a message only after it won
  // the slot with a CAS from 0.
  Atomics.store(ctl, SYNC_MESSAGE_BYTES, 0);
  Atomics.store(ctl, SYNC_FAILED, 0);
  return code === undefined ? message : `${code}: ${message}`;
}

/** One thread's WAL (see the module comment). */
export class WalWriter implements WalSink {
  private buf = new Uint8Array(256 * 1024);
  private dv = new DataView(this.buf.buffer);
  /** `buf` as a Buffer, for UTF-8 string values. */
  private text = Buffer.from(this.buf.buffer);
  private used = 0;
  private fd = -1;
  private path = '';
  private firstSeq = 0;
  private lastSeq = 0;
  private epoch: number;
  private flushScheduled = false;
  /** Records appended (a counter; a record's number is its generation). */
  private appended = 0;
  /** Generation written to the file. */
  private written = 0;
  /** Generation known to be on disk. */
  private durable = 0;
  private syncing = false;
  /** The write in flight: its bytes and file position (close() may write them again). */
  private writing: { data: Uint8Array; at: number } | null = null;
  /** File position of the next write. */
  private pos = 0;
  /** `always`: the file's length, written ahead with zeros past `pos` (WAL_PREALLOCATE_BYTES). */
  private allocEnd = 0;
  private waiters: { gen: number; fn: () => void }[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** `always`: the sync thread, its control block (wal-sync-control.ts) and path port; null once it failed. */
  private syncThread: Worker | null = null;
  private ctl: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private pathPort: MessagePort | null = null;
  /** Number of the last batch requested from the sync thread (wraps). */
  private batch = 0;
  /** Batches requested and not yet covered: [batch number, generation written] pairs. */
  private pending: number[] = [];
  /** Whether an Atomics.waitAsync on SYNC_DONE is outstanding. */
  private watching = false;
  private failuresSeen = 0;
  /** fdatasyncs run on this thread (everysec, rotation, close, and `always` inline). */
  private ownSyncs = 0;
  /** `always`: whether the sync thread runs the fdatasyncs now (see INLINE_SYNC_MAX_MICROS). */
  private threadSyncs: boolean;
  /** `always`: the sync thread failed; this thread syncs from then on. */
  private threadFailed = false;
  /** `always`: average fdatasync time in microseconds (exponential, 1/8 on the newest), 0 before the first. */
  private syncMicros = 0;
  /** See {@link WalWriterOptions.inlineSyncMaxMicros}; read at every batch (tests change it). */
  inlineSyncMaxMicros: number;
  private readonly maxWaitMicros: number | undefined;
  private readonly batchWindowMs: number;
  /** `always`, inline: the largest batch (records) of this window and of the one before, and this window's start (ms). */
  private batchMax = 0;
  private lastBatchMax = 0;
  private batchWindowStart = 0;
  /** `always`, inline: since when (ms) the records waiting now have waited for more, or 0. */
  private waitingSince = 0;
  /** Figures since start (`syncs`: this thread's fdatasyncs plus its sync thread's). */
  readonly stats: WalWriterStats = ((w: WalWriter) => ({
    records: 0,
    bytes: 0,
    get syncs() {
      return w.ownSyncs + (w.ctl.length > 0 ? Atomics.load(w.ctl, SYNC_COUNT) : 0);
    },
  }))(this);

  /**
   * @param dir the data directory
   * @param thread this thread's index (its thread block), in the file name
   * @param fsync when records reach the disk
   * @param view the shared buffer (for the WAL epoch)
   * @param log where an fdatasync failure is reported
   * @param options see {@link WalWriterOptions}
   */
  constructor(
    private readonly dir: string,
    private readonly thread: number,
    readonly fsync: FsyncPolicy,
    private readonly view: SharedView,
    private readonly log: (line: string, level?: 'warn' | 'error') => void,
    options: WalWriterOptions = {},
  ) {
    // No ordering needed: the epoch is only compared for a change (rotationAsked), and a
    // snapshot that moves it before this load finds no file of this writer to rotate.
    this.epoch = Atomics.load(view.i32, H_WAL_EPOCH);
    this.inlineSyncMaxMicros = options.inlineSyncMaxMicros ?? INLINE_SYNC_MAX_MICROS;
    this.maxWaitMicros = options.maxWaitMicros;
    this.batchWindowMs = options.batchWindowMs ?? BATCH_WINDOW_MS;
    // Inline until an fdatasync has been timed; the sync thread starts when first needed.
    this.threadSyncs = this.inlineSyncMaxMicros <= 0;
    // Once a second: everysec's fdatasync, and a file rotation asked for while this thread
    // had nothing to write.
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Starts the sync thread (`always`). */
  private startSyncThread(): void {
    this.ctl = new Int32Array(new SharedArrayBuffer(SYNC_CONTROL_BYTES));
    const { port1, port2 } = new MessageChannel();
    this.pathPort = port1;
    const worker = spawnWorker(siblingModule('./wal-sync-worker', import.meta.url), { workerData: { control: this.ctl.buffer, port: port2 }, transferList: [port2] });
    worker.unref();
    const lost = (why: string) => {
      if (this.closed || this.syncThread !== worker) return;
      // Without it this thread syncs itself, as Redis does: slower, never less durable.
      this.log(`WAL sync thread ${why}; fdatasync runs on the serving thread from now on`, 'warn');
      this.syncThread = null;
      this.threadFailed = true;
      this.pending = [];
      this.pathPort?.close();
      this.pathPort = null;
      // Everything written so far, pending batches included, is covered by this sync.
      if (this.durable < this.written && this.fd >= 0) this.syncHere();
    };
    worker.on('error', (e) => lost(`failed (${e.message})`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    this.syncThread = worker;
    if (this.fd >= 0) {
      // Ordering: as in open(): the path, then the file epoch, then (in flush) a request.
      this.pathPort.postMessage(this.path);
      Atomics.add(this.ctl, SYNC_FILE, 1);
    }
  }

  /** WalSink: the key now holds `value`. */
  logSet(seq: number, key: Uint8Array, keyLength: number, value: string | Uint8Array, type: number, expireAt: number): void {
    this.record(seq, WAL_OP_SET, key, keyLength, value, type, expireAt);
  }

  /** WalSink: the key was deleted. */
  logDelete(seq: number, key: Uint8Array, keyLength: number): void {
    this.record(seq, WAL_OP_DELETE, key, keyLength, null, 0, 0);
  }

  /** WalSink: the key's expiry changed. */
  logExpire(seq: number, key: Uint8Array, keyLength: number, expireAt: number): void {
    this.record(seq, WAL_OP_EXPIRE, key, keyLength, null, 0, expireAt);
  }

  /** WalSink: every key was removed. */
  logFlush(seq: number): void {
    this.record(seq, WAL_OP_FLUSH, EMPTY_KEY, 0, null, 0, 0);
  }

  /** Appends one record (wal-format.ts encodeWalRecord) to the buffer and schedules a flush. */
  private record(seq: number, op: number, key: Uint8Array, keyLength: number, value: string | Uint8Array | null, type: number, expireAt: number): void {
    if (this.closed) return;
    const valueBytes = value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    const n = walRecordBytes(keyLength, valueBytes);
    if (this.used + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.used + n));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
      this.text = Buffer.from(grown.buffer);
    }
    encodeWalRecord(this.buf, this.dv, this.text, this.used, seq, op, key, keyLength, value, valueBytes, type, expireAt);
    this.used += n;
    if (this.firstSeq === 0) this.firstSeq = seq; // the first record of the next file
    this.lastSeq = seq;
    this.appended++;
    this.stats.records++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** {@link flush}, for setImmediate (one function, not one per turn). */
  private readonly flushLater = (): void => this.flush();

  /**
   * Runs `fn` once every record appended so far is as durable as `fsync` promises: with
   * `always`, after the fdatasync that covers them; otherwise at once.
   */
  whenDurable(fn: () => void): void {
    if (this.fsync !== 'always' || this.durable >= this.appended) return fn();
    this.waiters.push({ gen: this.appended, fn });
  }

  /**
   * Hands the buffered records to the file. With `no` and `everysec`: one asynchronous
   * write at a time, on libuv's thread pool, so a write that waits for the file system (a
   * journal commit forced by an fdatasync) never stalls this thread's event loop. With
   * `always`: written here, then synced here (after waiting for more records, see
   * {@link waitForMoreRecords}) or by the sync thread (see the module comment); the
   * records' answers go once that fdatasync returned.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.writing !== null) return; // the write in flight calls flush again
    if (this.rotateIfAsked()) return;
    if (this.used === 0) return;
    if (this.fsync === 'always') {
      if (!this.useSyncThread()) {
        if (this.waitForMoreRecords()) return;
        this.writeBufferedSync();
        return this.syncHere();
      }
      // The write only reaches the page cache (a few microseconds); the sync thread runs the
      // fdatasync. Measured faster than the write and fdatasync both on the thread pool (two
      // round trips). useSyncThread() started the thread if it was not running.
      this.writeBufferedSync();
      const thread = this.syncThread!;
      this.batch = (this.batch + 1) | 0;
      // While answers wait, the sync thread keeps the process alive (Atomics.waitAsync alone
      // does not hold the event loop open).
      if (this.pending.length === 0) thread.ref();
      this.pending.push(this.batch, this.written);
      // Ordering: stored after writeSync returned, so the fdatasync the sync thread starts
      // once it sees this number covers these records.
      Atomics.store(this.ctl, SYNC_REQUESTED, this.batch);
      Atomics.notify(this.ctl, SYNC_REQUESTED);
      this.collect();
      return;
    }
    if (this.fd < 0) this.open();
    const data = this.buf.slice(0, this.used);
    this.used = 0;
    const gen = this.appended;
    const at = this.pos;
    this.pos += data.length;
    this.writing = { data, at };
    this.writeFrom(data, 0, at, () => {
      this.writing = null;
      this.stats.bytes += data.length;
      this.written = Math.max(this.written, gen);
      if (this.used > 0 || this.rotationAsked()) this.flush();
    });
  }

  /** Writes `data` from `off` at file position `at`, to the end, then calls `done`. */
  private writeFrom(data: Uint8Array, off: number, at: number, done: () => void): void {
    const fd = this.fd;
    write(fd, data, off, data.length - off, at + off, (err, n) => {
      if (this.closed) {
        // close() wrote this data again itself and left the descriptor to this callback, so
        // that no later open() can be handed the same number while this write was queued.
        closeSync(fd);
        return;
      }
      if (err) {
        this.log(`WAL write failed (${err.message}); retrying in 100 ms`, 'error');
        setTimeout(() => this.writeFrom(data, off, at, done), 100);
        return;
      }
      if (off + n < data.length) return this.writeFrom(data, off + n, at, done);
      done();
    });
  }

  /**
   * Whether the sync thread runs this batch's fdatasync (`always`): while the average
   * fdatasync takes more than inlineSyncMaxMicros, and until it takes less than half that.
   * Starts the thread the first time.
   */
  private useSyncThread(): boolean {
    if (this.threadFailed) return false;
    if (!this.threadSyncs && this.syncMicros > this.inlineSyncMaxMicros) this.threadSyncs = true;
    else if (this.threadSyncs && this.syncMicros < this.inlineSyncMaxMicros / 2) this.threadSyncs = false;
    if (this.threadSyncs && this.syncThread === null) this.startSyncThread();
    return this.threadSyncs;
  }

  /**
   * Inline `always`, before an fdatasync: while fewer records wait than the largest batch
   * of the last BATCH_WINDOW_MS to 2×BATCH_WINDOW_MS, and for at most one average
   * fdatasync's time, the sync waits for the next turn (setImmediate: the event loop polls
   * for requests without blocking and serves them meanwhile). The clients whose writes made
   * the last batch then share the next fdatasync instead of splitting into two or three
   * (about twice the records per fdatasync with 32 connections, and more SETs/s:
   * bench:persist). A lone client's batches are of one record, so it never
   * waits. Returns whether it rescheduled the flush. (The option maxWaitMicros, when
   * given, bounds the wait instead of the average fdatasync time.)
   */
  private waitForMoreRecords(): boolean {
    const now = performance.now();
    if (now - this.batchWindowStart >= this.batchWindowMs) {
      this.lastBatchMax = this.batchMax;
      this.batchMax = 0;
      this.batchWindowStart = now;
    }
    const waiting = this.appended - this.durable;
    if (waiting < Math.max(this.batchMax, this.lastBatchMax)) {
      if (this.waitingSince === 0) this.waitingSince = now;
      if ((now - this.waitingSince) * 1000 < (this.maxWaitMicros ?? this.syncMicros)) {
        this.flushScheduled = true;
        setImmediate(this.flushLater);
        return true;
      }
    }
    this.waitingSince = 0;
    if (waiting > this.batchMax) this.batchMax = waiting;
    return false;
  }

  /** Adds one fdatasync's time (microseconds) to the average. */
  private noteSyncMicros(micros: number): void {
    this.syncMicros = this.syncMicros === 0 ? micros : this.syncMicros + (micros - this.syncMicros) / 8;
  }

  /** fdatasync on this thread of everything written, then the answers (`always` inline, or without its sync thread). */
  private syncHere(): void {
    const t0 = performance.now();
    fdatasyncSync(this.fd);
    this.noteSyncMicros((performance.now() - t0) * 1000);
    this.ownSyncs++;
    this.settle(this.written);
    // Batches handed to the sync thread before are covered too: nothing to wait for.
    if (this.pending.length > 0) {
      this.pending = [];
      this.syncThread?.unref();
    }
  }

  /**
   * Answers the requests of the batches the sync thread has covered, and while some are
   * left, waits (without blocking) for it to cover more.
   */
  private collect(): void {
    if (this.closed || this.syncThread === null) return;
    // Ordering: SYNC_DONE is stored after the fdatasync returned (wal-sync-worker.ts).
    const done = Atomics.load(this.ctl, SYNC_DONE);
    // Only for the log line: a failure seen one round late delays the line, not an answer.
    const failures = Atomics.load(this.ctl, SYNC_FAILURES);
    if (failures !== this.failuresSeen) {
      this.failuresSeen = failures;
      this.log(`WAL fdatasync failed (${syncFailure(this.ctl)}); answers wait for the next one`, 'error');
    }
    let covered = -1;
    let n = 0;
    while (n < this.pending.length && !batchAfter(this.pending[n], done)) {
      covered = this.pending[n + 1];
      n += 2;
    }
    if (n > 0) {
      // A figure for the choice of who syncs: no ordering needed.
      this.noteSyncMicros(Atomics.load(this.ctl, SYNC_MICROS));
      this.pending.splice(0, n);
      if (this.pending.length === 0) this.syncThread.unref();
      this.settle(covered);
    }
    if (this.pending.length === 0 || this.watching) return;
    this.watching = true;
    const wait = Atomics.waitAsync(this.ctl, SYNC_DONE, done);
    if (wait.async) void wait.value.then(this.collectAgain);
    else queueMicrotask(this.collectAgain); // it moved since the load above
  }

  /** {@link collect} once the wait it started has ended (one function, not one per wait). */
  private readonly collectAgain = (): void => {
    this.watching = false;
    this.collect();
  };

  /** Marks generation `gen` durable and runs the answers that waited for it. */
  private settle(gen: number): void {
    this.durable = Math.max(this.durable, gen);
    // Waiters are in the order they came, so their generations never go down: the ready
    // ones are a prefix.
    const all = this.waiters;
    let k = 0;
    while (k < all.length && all[k].gen <= this.durable) k++;
    if (k === 0) return;
    // Replaced before the answers run: an answer may add a waiter.
    this.waiters = k === all.length ? [] : all.slice(k);
    for (let i = 0; i < k; i++) all[i].fn();
  }

  private tick(): void {
    if (this.closed) return;
    this.flush();
    if (this.fsync === 'everysec' && this.fd >= 0 && !this.syncing && this.durable < this.written) {
      this.syncing = true;
      const gen = this.written;
      fdatasync(this.fd, (err) => {
        this.syncing = false;
        if (this.closed) return;
        if (err) this.log(`WAL fdatasync failed (${err.message})`, 'error');
        else {
          this.ownSyncs++;
          this.settle(gen);
        }
      });
    }
  }

  private open(): void {
    this.path = walFilePath(this.dir, this.thread, this.firstSeq);
    this.fd = createWalFile(this.path, this.thread);
    this.pos = WAL_HEADER_BYTES;
    this.allocEnd = WAL_HEADER_BYTES;
    if (this.syncThread !== null && this.pathPort !== null) {
      // Ordering: the path is on the port, then the epoch moves, then (in flush) the first
      // batch of this file is requested: the sync thread reads the epoch after the request.
      this.pathPort.postMessage(this.path);
      Atomics.add(this.ctl, SYNC_FILE, 1);
    }
  }

  private rotationAsked(): boolean {
    // No ordering needed: a rotation seen one turn late only keeps a file open longer.
    return Atomics.load(this.view.i32, H_WAL_EPOCH) !== this.epoch;
  }

  /**
   * When the snapshotter moved the epoch and no write is in flight: writes what is
   * buffered to the old file (those records may be numbered before the snapshot's
   * sequence), syncs, closes and renames it. Returns whether it rotated.
   */
  private rotateIfAsked(): boolean {
    if (!this.rotationAsked()) return false;
    this.epoch = Atomics.load(this.view.i32, H_WAL_EPOCH);
    this.writeBufferedSync();
    this.closeFile();
    return true;
  }

  /** Writes the buffered records at the end of the file, synchronously (rotation, close). */
  private writeBufferedSync(): void {
    if (this.used === 0) return;
    if (this.fd < 0) this.open();
    if (this.fsync === 'always' && this.pos + this.used > this.allocEnd) this.preallocate(this.pos + this.used);
    writeAllSync(this.fd, this.buf, this.used, this.pos);
    this.pos += this.used;
    this.stats.bytes += this.used;
    this.used = 0;
    this.written = this.appended;
  }

  /** Writes zeros ahead of the records to past `end` (`always`; wal-file.ts preallocateWalFile). */
  private preallocate(end: number): void {
    this.allocEnd = preallocateWalFile(this.fd, this.allocEnd, end);
  }

  /** The open file's name once closed: its last sequence added. */
  private closedPath(): string {
    return closedWalPath(this.path, this.lastSeq);
  }

  /** Syncs, closes and renames the open file with its last sequence. */
  private closeFile(): void {
    if (this.fd < 0) return;
    closeWalFile(this.fd, this.pos, this.path, this.closedPath());
    this.allocEnd = this.pos;
    this.ownSyncs++;
    this.fd = -1;
    this.firstSeq = 0;
    this.settle(this.written);
  }

  /**
   * Writes and syncs everything, closes the file and stops (a stopping thread). Synchronous:
   * a write still in flight is written again at its own place (the same bytes), and its
   * descriptor is left for that write's callback to close.
   */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    if (this.syncThread !== null) {
      // The writes below are synced here; the sync thread closes its descriptor and ends.
      this.syncThread.unref();
      this.syncThread = null;
      this.pending = [];
      Atomics.store(this.ctl, SYNC_STOP, 1);
      Atomics.notify(this.ctl, SYNC_REQUESTED);
      Atomics.notify(this.ctl, SYNC_STOP);
      this.pathPort?.close();
    }
    if (this.writing !== null) {
      const { data, at } = this.writing;
      writeAllSync(this.fd, data, data.length, at);
      this.writeBufferedSync();
      fdatasyncSync(this.fd);
      renameSync(this.path, this.closedPath());
      this.fd = -1;
      this.closed = true; // from here the in-flight write's callback closes the descriptor
      this.settle(this.appended);
      return;
    }
    this.writeBufferedSync();
    this.closeFile();
    this.closed = true;
  }
}
