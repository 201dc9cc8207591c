/**
 * Loading a snapshot's blocks on several threads at once (docs/design.md §6).
 *
 * Storing entries (hash, bucket lock, copy into a segment) costs about ten times what
 * reading and checking the file does, so a load is CPU-bound on one thread. The blocks of
 * a file are independent (each is checked by its own CRC, and a key found in two blocks
 * before the tail is also in the tail, stored after them), so threads take them in any order:
 *
 * - the main thread scans the file first (snapshot-format.ts scanSnapshot: header, block
 *   headers, trailer), so a file cut short is refused before anything of it is stored;
 * - a job's control words live in a SharedArrayBuffer of their own; every thread that
 *   works on the job (the main thread and the helpers, `snapshot-load-worker.ts`) claims
 *   block after block with `Atomics.add` on {@link J_NEXT}, reads and checks it, and
 *   stores its entries with Table.restoreEntries, under the bucket locks as any writer;
 * - the main thread then waits until no thread is inside a block ({@link J_ACTIVE}), so
 *   that when loadSnapshot returns (or flushes a refused file) no helper still writes;
 * - the first failure (a block that fails a check, or a file system error) is recorded
 *   once in the control words with its message, and stops further claims.
 *
 * Helpers are worker threads attached to the cache for the load only. They boot while the
 * main thread loads (a thread starts in about 100 ms under tsx), which is why small files
 * are loaded by the main thread alone ({@link PARALLEL_LOAD_MIN_BYTES}).
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { SharedCache } from '../shared-cache.ts';
import type { Table } from '../table/table.ts';
import { siblingModule, spawnWorker } from '../util/spawn-worker.ts';
import { failureError, JOB_MESSAGE_MAX_BYTES, readJobFailure, recordJobFailure, waitWhile } from './job-protocol.ts';
import { type SnapshotBlock, SnapshotBlockReader, SnapshotCorruptError } from './snapshot-format.ts';

/**
 * Files smaller than this many bytes are loaded by the calling thread alone: below it a
 * helper's start-up (about 100 ms) costs more than it saves (the main thread stores about
 * 500 MB/s on this project's reference machine: bench:persist).
 */
export const PARALLEL_LOAD_MIN_BYTES = 64 << 20;

// Control words of one job (Int32Array over the job's SharedArrayBuffer).
/** Index of the next block to claim; `Atomics.add` hands each block to one thread. */
const J_NEXT = 0;
/** Threads that joined the job and have not left it (see runLoadJob for the order). */
const J_ACTIVE = 1;
/** 0, or the first failure: {@link FAIL_CORRUPT} or {@link FAIL_OTHER}. */
const J_FAILED = 2;
/** Entries stored, over all threads. */
const J_STORED = 3;
/** Entries skipped (over this cache's limits, unknown type), over all threads. */
const J_SKIPPED = 4;
/** Blocks loaded by helpers (the rest by the main thread). */
const J_HELPER_BLOCKS = 5;
/** Bytes of the failure's message in the text area. */
const J_MESSAGE_BYTES = 6;
const JOB_WORDS = 8;
/** The failure's message (UTF-8) follows the control words. */
const MESSAGE_OFFSET_BYTES = JOB_WORDS * 4;
const MESSAGE_MAX_BYTES = JOB_MESSAGE_MAX_BYTES;
const FAIL_CORRUPT = 1;
const FAIL_OTHER = 2;

// A helper's life word (Int32Array over a 4-byte SharedArrayBuffer of its own).
/** The helper thread is starting and has not attached yet (the word's initial 0). */
export const LIFE_BOOTING = 0;
/** The helper attached the cache and takes jobs. */
export const LIFE_ATTACHED = 1;
/** The main thread closed the helpers before this one attached: it must not attach. */
export const LIFE_CANCELLED = 2;
/** The helper detached (or failed to attach) and takes no more jobs. */
export const LIFE_GONE = 3;

/** One file's load, as posted to the helpers. */
export interface LoadJob {
  /** The snapshot file. */
  path: string;
  /** Whether its records are padded (snapshot-format.ts SNAPSHOT_FLAG_PADDED). */
  padded: boolean;
  /** Its blocks, from scanSnapshot. */
  blocks: SnapshotBlock[];
  /** The job's control words ({@link JOB_WORDS} i32, then the message text). */
  control: SharedArrayBuffer;
}

/** A fresh job for `path`. */
export function newLoadJob(path: string, padded: boolean, blocks: SnapshotBlock[]): LoadJob {
  return { path, padded, blocks, control: new SharedArrayBuffer(MESSAGE_OFFSET_BYTES + MESSAGE_MAX_BYTES) };
}

/** Records the job's first failure (later ones are dropped) and stops further claims. */
function fail(job: LoadJob, ctl: Int32Array, e: unknown): void {
  const kind = e instanceof SnapshotCorruptError ? FAIL_CORRUPT : FAIL_OTHER;
  // The main thread reads it only after every thread left the job (J_ACTIVE 0).
  recordJobFailure(ctl, J_FAILED, kind, J_MESSAGE_BYTES, new Uint8Array(job.control, MESSAGE_OFFSET_BYTES, MESSAGE_MAX_BYTES), e);
  // Claims from here on get an index ≥ the block count: the others stop after their block.
  Atomics.store(ctl, J_NEXT, job.blocks.length);
}

/**
 * Works on `job` from this thread until no block is left to claim: claims, reads, checks
 * and stores block after block into `table`. Never throws: a failure is recorded in the job
 * ({@link finishLoadJob} raises it on the main thread).
 * @param reader this thread's reader (its buffers are reused from job to job)
 * @param helper whether this is a helper thread (counted in J_HELPER_BLOCKS)
 * @param maxBlocks stop after storing this many (the main thread stores a block at a time
 *   between event-loop turns while the server starts)
 * @returns whether blocks may be left to claim
 */
export function runLoadJob(table: Table, job: LoadJob, reader: SnapshotBlockReader, helper: boolean, maxBlocks = Infinity): boolean {
  const ctl = new Int32Array(job.control, 0, JOB_WORDS);
  const n = job.blocks.length;
  // Ordering: join (J_ACTIVE + 1) before the first claim and leave only after the last
  // block is stored. A thread holding a block therefore always counts in J_ACTIVE, and one
  // that joins after the main thread saw J_NEXT ≥ n and J_ACTIVE = 0 can only claim an
  // index ≥ n (its claim comes later in the total order of these seq_cst operations).
  Atomics.add(ctl, J_ACTIVE, 1);
  let fd = -1;
  let more = true;
  try {
    fd = openSync(job.path, 'r');
    for (let stored = 0; stored < maxBlocks; stored++) {
      const i = Atomics.add(ctl, J_NEXT, 1);
      if (i >= n) {
        more = false;
        break;
      }
      reader.read(fd, job.blocks[i], job.padded, (payload, starts, count, padded) => {
        // Linked later, in batches that span blocks (table.ts restoreEntries).
        const done = table.restoreEntries(payload, starts, count, padded, true);
        // Atomic adds: several threads count into the same words; the main thread reads
        // them only after every thread left the job (J_ACTIVE 0), so it sees every add.
        Atomics.add(ctl, J_STORED, done.stored);
        Atomics.add(ctl, J_SKIPPED, done.skipped);
      });
      if (helper) Atomics.add(ctl, J_HELPER_BLOCKS, 1);
    }
    // Inside the job (before leaving J_ACTIVE): when the main thread sees the job finished,
    // every entry stored is linked.
    table.linkRestored();
  } catch (e) {
    more = false;
    fail(job, ctl, e);
    try {
      table.linkRestored(); // what the blocks before the failure stored (a refused file is flushed)
    } catch {
      // the first failure is the one recorded
    }
  } finally {
    if (fd >= 0) closeSync(fd);
    Atomics.sub(ctl, J_ACTIVE, 1);
    Atomics.notify(ctl, J_ACTIVE);
  }
  return more;
}

/** Blocks of `job` claimed so far (stored, or being stored), for progress reports. */
export function claimedBlocks(job: LoadJob): number {
  return Math.min(job.blocks.length, Atomics.load(new Int32Array(job.control, 0, JOB_WORDS), J_NEXT));
}

/** What a finished job stored. */
export interface LoadJobResult {
  /** Entries stored. */
  stored: number;
  /** Entries skipped (over this cache's limits, or of an unknown type). */
  skipped: number;
  /** Blocks the helper threads loaded. */
  helperBlocks: number;
}

/**
 * On the main thread, after its own {@link runLoadJob} (or instead of it): waits until every
 * block is claimed and no thread is inside one, then returns the totals.
 * @param onWait called after each 50 ms without progress (loadSnapshot: if every helper is
 *   gone, the main thread takes the blocks left itself)
 * @throws SnapshotCorruptError (`SABCACHE_ERR_SNAPSHOT_CORRUPT`) when a thread found a block
 *   that fails a check; for a file system error in any thread, an Error with that message
 *   and its `code` (`EIO`, …).
 */
export function finishLoadJob(job: LoadJob, onWait?: () => void): LoadJobResult {
  const ctl = new Int32Array(job.control, 0, JOB_WORDS);
  const n = job.blocks.length;
  for (;;) {
    // Ordering: J_NEXT first, then J_ACTIVE (see runLoadJob). The wait is bounded so that a
    // job no thread has joined yet (only helpers work on it) is looked at again.
    const active = Atomics.load(ctl, J_ACTIVE);
    if (Atomics.load(ctl, J_NEXT) >= n && Atomics.load(ctl, J_ACTIVE) === 0) break;
    if (Atomics.wait(ctl, J_ACTIVE, active, 50) === 'timed-out') onWait?.();
  }
  const failed = Atomics.load(ctl, J_FAILED);
  if (failed !== 0) {
    const { code, message } = readJobFailure(ctl, J_MESSAGE_BYTES, new Uint8Array(job.control, MESSAGE_OFFSET_BYTES, MESSAGE_MAX_BYTES));
    if (failed === FAIL_CORRUPT) throw new SnapshotCorruptError(message);
    throw failureError(code, message);
  }
  return { stored: Atomics.load(ctl, J_STORED), skipped: Atomics.load(ctl, J_SKIPPED), helperBlocks: Atomics.load(ctl, J_HELPER_BLOCKS) };
}

/** A helper thread and its life word. */
interface Helper {
  worker: Worker;
  life: Int32Array;
}

/**
 * Helper threads for one loadSnapshot call: started once, given each file's job, closed at
 * the end (each detaches from the cache before {@link LoadHelpers.close} returns).
 */
export class LoadHelpers {
  private readonly helpers: Helper[] = [];

  /** Starts `count` helper threads attached to `cache` (they attach as they boot). */
  constructor(cache: SharedCache, count: number) {
    const entry = siblingModule('./snapshot-load-worker', import.meta.url);
    for (let i = 0; i < count; i++) {
      const life = new Int32Array(new SharedArrayBuffer(4));
      const worker = spawnWorker(entry, { workerData: { handle: cache.handle, life: life.buffer } });
      // A helper's failure is recorded in the job it ran; nothing else comes from it.
      worker.on('error', () => {});
      this.helpers.push({ worker, life });
    }
  }

  /** How many helper threads were started. */
  get count(): number {
    return this.helpers.length;
  }

  /**
   * Whether every helper is gone (failed to attach, or detached): a job nobody else claims
   * is then left to the calling thread. A helper thread that dies without running its own
   * code (the process is going down anyway) still reads as attached.
   */
  allGone(): boolean {
    return this.helpers.every((h) => Atomics.load(h.life, 0) === LIFE_GONE);
  }

  /** Hands `job` to every helper (a helper still booting takes it once it has attached). */
  post(job: LoadJob): void {
    for (const h of this.helpers) h.worker.postMessage({ type: 'job', job });
  }

  /**
   * Stops the helpers: one still booting is told not to attach; an attached one is told to
   * detach, and this waits until it has (so the cache's thread blocks are free again).
   */
  close(): void {
    for (const h of this.helpers) {
      // Ordering: the CAS decides between this thread and the helper's own CAS at boot
      // (LIFE_BOOTING → LIFE_ATTACHED): exactly one of them wins, so a helper either never
      // attaches or is waited for here.
      if (Atomics.compareExchange(h.life, 0, LIFE_BOOTING, LIFE_CANCELLED) === LIFE_BOOTING) continue;
      h.worker.postMessage({ type: 'close' });
      waitWhile(h.life, 0, LIFE_ATTACHED);
    }
    for (const h of this.helpers) h.worker.unref();
  }
}
