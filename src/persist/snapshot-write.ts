/**
 * Writing one snapshot file on one or two threads at once (docs/design.md §6
 * target). The walk's phases (table/snapshot-walk.ts) are split into units that threads
 * claim: phases 1 (versions) and 3 (tail) by ranges of {@link WALK_BUCKETS_PER_UNIT} buckets,
 * phase 2 (copy) by segment; the trailer, the header and the fsync are the lead's alone.
 *
 * - The lead (the thread that calls writeSnapshot) runs every phase. A helper
 *   (Snapshotter's second pool thread) joins phases 1 and 2 whenever it gets there, and
 *   takes nothing if it comes late: no thread ever waits for the helper to start.
 * - Each thread encodes its own blocks; the lead writes them all: a helper encodes into
 *   {@link HANDOFF_SLOTS} shared slots and hands each finished block over. A block's file
 *   offset is reserved with one `Atomics.add` when it is written, so blocks of both
 *   threads interleave in the file with no gap; the header, written last, says where the
 *   tail starts (its blocks follow all of phase 2's).
 * - The lead moves the phase word on once every unit of the phase is claimed and no
 *   thread is inside one (as a snapshot load's job: snapshot-load.ts). A thread's first
 *   failure is recorded with its message and stops further claims; the lead raises it.
 *
 * @module
 */
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { SnapshotAbandonedError } from '../errors.ts';
import type { Geometry } from '../table/layout.ts';
import { copyChangedBuckets, copySegment, recordSegments, recordVersions, recordWalkStart, SnapshotWalkState } from '../table/snapshot-walk.ts';
import { enterIndexGate, exitIndexGate } from '../table/index-growth.ts';
import type { Table } from '../table/table.ts';
import { failureError, JOB_MESSAGE_MAX_BYTES, readJobFailure, recordJobFailure, waitWhile } from './job-protocol.ts';
import { BLOCK_TARGET_BYTES, type BlockSink, encodeHeader, encodeTrailer, SNAPSHOT_HEADER_BYTES, type SnapshotHeader, SnapshotEncoder } from './snapshot-format.ts';

/** Buckets per unit of phase 1 or 3 a thread claims at a time. */
export const WALK_BUCKETS_PER_UNIT = 4096;

/**
 * Largest write(2) a snapshot makes, in bytes. The snapshot threads run in the SCHED_IDLE
 * class, but a thread inside a system call is not preempted on a kernel built without
 * forced preemption (this machine's: PREEMPT_NONE): a server thread that wakes while it
 * copies a 1 MiB block into the page cache waits for the whole copy, which shows in the GET
 * p99 (bench:persist). 256 KiB makes a quarter of the system calls of 64 KiB writes and
 * writes faster, with a GET p99 during snapshots no worse than 64 KiB's within this
 * machine's noise (bench:persist, run with each size alternately).
 */
export const SNAPSHOT_WRITE_BYTES = 256 * 1024;

/**
 * Bytes of file between the early fdatasyncs the lead starts while the walk goes on
 * (ReservingFileSink.syncEarly). On this project's machine a 461 MB snapshot's final fsync
 * took about 55 ms when the whole file was still dirty.
 */
export const EARLY_SYNC_BYTES = 64 << 20;

// The job's control words (Int32Array over `control`).
/** The phase: {@link PHASE_SETUP}, then each of {@link PHASES} in turn, then {@link PHASE_DONE}. */
const W_PHASE = 0;
/** 0, or 1 once a thread failed (its message follows the path). */
const W_FAILED = 1;
/** Bytes of the failure's message (UTF-8, in the message area). */
const W_MESSAGE_BYTES = 2;
/** Blocks written so far, over all threads. */
const W_BLOCKS = 3;
/** Bytes of the temp file's path (UTF-8, in the path area). */
const W_PATH_BYTES = 4;
/** The walk's clock, unix seconds: one instant decides what counts as expired for all threads. */
const W_NOW = 5;
/** Segments the helper copied (a figure for stats and tests). */
const W_HELPER_SEGMENTS = 6;
/** Per phase p (1, 2, 3): the next unit to claim is word 6 + 2p, the threads inside it word 7 + 2p. */
const nextWord = (phase: number) => 6 + 2 * phase;
const activeWord = (phase: number) => 7 + 2 * phase;
// i64 words (BigInt64Array over the same control words: words 14-15 and 16-17).
/** Next free byte of the file: threads reserve a block's place with Atomics.add. */
const I_OFFSET = 7;
/** Entries written so far, over all threads. */
const I_ENTRIES = 8;
/**
 * Bumped (and notified) when a thread leaves a phase or a helper hands a block over: the
 * lead sleeps on it in waitPhase.
 */
const W_BELL = 18;
/**
 * Per hand-off slot k: word W_SLOTS + 2k is the length of the block the helper put there
 * (0: the slot is the helper's to fill), word W_SLOTS + 2k + 1 where it starts in the slot.
 */
const W_SLOTS = 19;
/**
 * Slots through which a helper hands its blocks to the lead, which alone writes the file.
 * Two threads writing one file contend in the kernel (ext4 takes the inode's lock for a
 * buffered write): on this project's machine each thread's writes then took as long as one
 * thread's writes of the whole file, where the lead writing them all lets the helper go on
 * encoding meanwhile.
 */
export const HANDOFF_SLOTS = 4;
const JOB_WORDS = W_SLOTS + 2 * HANDOFF_SLOTS + 1; // even: the i64 view covers whole words
const PATH_OFFSET_BYTES = JOB_WORDS * 4;
const PATH_MAX_BYTES = 4096;
const MESSAGE_OFFSET_BYTES = PATH_OFFSET_BYTES + PATH_MAX_BYTES;
const MESSAGE_MAX_BYTES = JOB_MESSAGE_MAX_BYTES;

/** A claim counter past any unit count: claims from then on get nothing. */
const CLAIMS_CLOSED = 0x3fffffff;

const PHASE_SETUP = 0;
/** Phase 1 of the walk: record the buckets' versions, by bucket ranges. */
const PHASE_VERSIONS = 1;
/** Phase 2: copy the segments, one unit each. */
const PHASE_COPY = 2;
/** Phase 3: the tail, by bucket ranges. */
const PHASE_TAIL = 3;
const PHASES = [PHASE_VERSIONS, PHASE_COPY, PHASE_TAIL];
const PHASE_DONE = 4;

/** One snapshot's shared state, as posted to a helper. */
export interface SnapshotWriteJob {
  /** Control words, then the temp file's path, then a failure's message. */
  control: SharedArrayBuffer;
  /** What the walk records for its phases (table/snapshot-walk.ts SnapshotWalkState). */
  walkState: SharedArrayBuffer;
  /** Threads that walk: 1 + helpers (0 or 1). */
  threads: number;
  /** {@link HANDOFF_SLOTS} slots of `slotBytes` each (empty without a helper). */
  slots: SharedArrayBuffer;
  /** Bytes of one hand-off slot: the largest block phase 2 makes, plus slack (a multiple of 8). */
  slotBytes: number;
}

/**
 * A job for a table of geometry `g`, with room for `helpers` (0 or 1) helper threads. Its
 * walk state takes 4 bytes per bucket and 20 per segment (1.5 MiB for 512 MiB); with a helper,
 * its hand-off slots take {@link HANDOFF_SLOTS} × (1 MiB + a segment + 64 KiB)
 * (8.25 MiB with 1 MiB segments).
 */
export function newSnapshotWriteJob(g: Geometry, helpers: number): SnapshotWriteJob {
  const threads = 1 + Math.min(1, Math.max(0, helpers));
  // Phase 2 closes a block once it reaches BLOCK_TARGET_BYTES, after a segment: a block is
  // then at most that plus one segment's entries (and its header). A bigger one (a tail
  // bucket of large entries) moves to the helper's own buffer and is written by the helper.
  const slotBytes = BLOCK_TARGET_BYTES + g.segmentBytes + (1 << 16);
  return {
    control: new SharedArrayBuffer(MESSAGE_OFFSET_BYTES + MESSAGE_MAX_BYTES),
    walkState: new SharedArrayBuffer(SnapshotWalkState.bytesFor(g)),
    threads,
    slots: new SharedArrayBuffer(threads > 1 ? HANDOFF_SLOTS * slotBytes : 0),
    slotBytes,
  };
}

/**
 * Writes whole blocks at offsets reserved in the job, in writes of at most
 * SNAPSHOT_WRITE_BYTES. Opens the file at the first block when made with a path (a helper
 * that comes late and gets no segment never touches the file). The lead's sink also starts
 * the file's writeback early ({@link EARLY_SYNC_BYTES}).
 */
class ReservingFileSink implements BlockSink {
  /** The file offset past which the next early fdatasync starts; Infinity: none (a helper's sink). */
  private nextSyncAt: number;
  /** A descriptor of its own for the early fdatasyncs, or -1 before the first. */
  private syncFd = -1;
  /** Early fdatasyncs not yet called back (its descriptor is closed after the last). */
  private syncsInFlight = 0;

  /** Whether this sink opens (and closes) the file itself. */
  private readonly ownsFd: boolean;

  constructor(private fd: number, private readonly path: string, private readonly i64: BigInt64Array, earlySync: boolean) {
    this.ownsFd = fd < 0;
    this.nextSyncAt = earlySync ? EARLY_SYNC_BYTES : Infinity;
  }

  write(chunk: Uint8Array): void {
    if (this.fd < 0) this.fd = openSync(this.path, 'r+');
    // Atomic: both threads reserve from the same word; each block gets its own bytes.
    const pos = Number(Atomics.add(this.i64, I_OFFSET, BigInt(chunk.length)));
    for (let done = 0; done < chunk.length;) {
      done += writeSync(this.fd, chunk, done, Math.min(SNAPSHOT_WRITE_BYTES, chunk.length - done), pos + done);
    }
    if (pos + chunk.length >= this.nextSyncAt) this.syncEarly(pos + chunk.length);
  }

  /**
   * Starts an fdatasync of what is written so far on a libuv pool thread, and goes on: the
   * disk writes the file's first part back while the walk copies the rest, so the final
   * fsync waits only for the last part. The fdatasync waits on the disk almost all the time
   * (a 461 MB file: 35 ms, 6 ms of it on a CPU), so the walk loses next to nothing to it.
   * Its own descriptor (opened read-only, which fdatasync accepts), closed when the last
   * one is called back: the walk's descriptor is closed before these may have run.
   */
  private syncEarly(offset: number): void {
    while (this.nextSyncAt <= offset) this.nextSyncAt += EARLY_SYNC_BYTES;
    if (this.syncFd < 0) this.syncFd = openSync(this.path, 'r');
    const fd = this.syncFd;
    this.syncsInFlight++;
    // Errors are not lost: the final fsync reports any write-back failure on the file.
    fdatasync(fd, () => {
      if (--this.syncsInFlight === 0) {
        closeSync(fd);
        if (this.syncFd === fd) this.syncFd = -1;
      }
    });
  }

  /** Closes the file if this sink opened it. */
  close(): void {
    if (this.fd >= 0 && this.ownsFd) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * A helper's sink: each block the encoder finishes in a hand-off slot is handed to the lead
 * (which writes it, see Walker.drainHandoff), and the encoder goes on in the next slot once
 * the lead has emptied it. A block that is not in a slot (one that outgrew it) is written
 * by the helper itself.
 */
class HandoffSink implements BlockSink {
  /** The slot the encoder fills. */
  private slot = 0;

  constructor(private readonly job: SnapshotWriteJob, private readonly ctl: Int32Array, private readonly direct: ReservingFileSink) {}

  /** The buffer of slot `k`. */
  slotBuffer(k: number): Uint8Array {
    return new Uint8Array(this.job.slots, k * this.job.slotBytes, this.job.slotBytes);
  }

  write(block: Uint8Array): Uint8Array {
    const { ctl, job } = this;
    const base = this.slot * job.slotBytes;
    if (block.buffer !== job.slots || block.byteOffset < base || block.byteOffset + block.length > base + job.slotBytes) {
      this.direct.write(block);
      return this.slotBuffer(this.slot);
    }
    const lengthWord = W_SLOTS + 2 * this.slot;
    ctl[lengthWord + 1] = block.byteOffset - base;
    // Ordering: the block's bytes and its start (plain stores) before the seq_cst store of
    // its length, which hands the slot over: the lead reads the length first (drainHandoff).
    Atomics.store(ctl, lengthWord, block.length);
    Atomics.add(ctl, W_BELL, 1);
    Atomics.notify(ctl, W_BELL);
    this.slot = (this.slot + 1) % HANDOFF_SLOTS;
    const next = W_SLOTS + 2 * this.slot;
    // The next slot is ours again once the lead has written its block (it stores 0 after
    // the write returned). Bounded waits: the lead ends the job however it ends.
    for (let v = Atomics.load(ctl, next); v !== 0; v = Atomics.load(ctl, next)) {
      if (Atomics.load(ctl, W_PHASE) === PHASE_DONE) throw new SnapshotAbandonedError();
      Atomics.wait(ctl, next, v, 50);
    }
    return this.slotBuffer(this.slot);
  }
}

/** Records the job's first failure (later ones are dropped) and stops further claims. */
function fail(job: SnapshotWriteJob, ctl: Int32Array, e: unknown): void {
  // The lead reads it only after every thread left the phase (raiseFailure after waitPhase).
  recordJobFailure(ctl, W_FAILED, 1, W_MESSAGE_BYTES, new Uint8Array(job.control, MESSAGE_OFFSET_BYTES, MESSAGE_MAX_BYTES), e);
  for (const phase of PHASES) Atomics.store(ctl, nextWord(phase), CLAIMS_CLOSED);
}

/** Units of work in `phase` for a table of geometry `g` whose walk covers `buckets` buckets. */
function unitsOf(g: Geometry, buckets: number, phase: number): number {
  return phase === PHASE_COPY ? g.segmentCount : Math.ceil(buckets / WALK_BUCKETS_PER_UNIT);
}

/**
 * One thread's share of the walk: its index (0: the lead), and an encoder over the file (opened at
 * its first block when the thread is a helper) used for phase 2 and then phase 3.
 */
class Walker {
  readonly state: SnapshotWalkState;
  private readonly sink: ReservingFileSink;
  private readonly enc: SnapshotEncoder;
  /** The lead's: the hand-off slot whose block it writes next. */
  private handoffNext = 0;
  /** Segments this walker copied. */
  segments = 0;

  constructor(private readonly table: Table, private readonly job: SnapshotWriteJob, private readonly ctl: Int32Array, private readonly i64: BigInt64Array, private readonly index: number, fd: number) {
    this.state = new SnapshotWalkState(table.v.g, job.walkState);
    const path = new TextDecoder().decode(new Uint8Array(job.control, PATH_OFFSET_BYTES, ctl[W_PATH_BYTES]));
    // The lead's sink (it has the file open already) starts the early fdatasyncs.
    this.sink = new ReservingFileSink(fd, path, i64, fd >= 0);
    if (index === 0) {
      this.enc = new SnapshotEncoder(this.sink);
    } else {
      const handoff = new HandoffSink(job, ctl, this.sink);
      this.enc = new SnapshotEncoder(handoff);
      this.enc.useBuffer(handoff.slotBuffer(0));
    }
  }

  /**
   * The lead's: writes the blocks the helper handed over, in the order it handed them, and
   * gives each slot back. Called between units and while the lead waits for a phase to end.
   */
  drainHandoff(): void {
    const { ctl, job } = this;
    for (;;) {
      const k = this.handoffNext;
      const lengthWord = W_SLOTS + 2 * k;
      // Ordering: the length (seq_cst) first; the helper stored the block and its start before it.
      const length = Atomics.load(ctl, lengthWord);
      if (length === 0) return;
      this.sink.write(new Uint8Array(job.slots, k * job.slotBytes + ctl[lengthWord + 1], length));
      // Ordering: after the write returned (the bytes are copied into the page cache): the
      // helper may fill the slot again as soon as it reads 0.
      Atomics.store(ctl, lengthWord, 0);
      Atomics.notify(ctl, lengthWord);
      this.handoffNext = (k + 1) % HANDOFF_SLOTS;
    }
  }

  /**
   * Works on `phase` until no unit is left to claim (see inPhase), then writes its last
   * block of the phase and adds its counts. A failure is recorded in the job.
   */
  run(phase: number): void {
    const { table, state, ctl, enc } = this;
    const g = table.v.g;
    const units = unitsOf(g, state.buckets, phase);
    const next = nextWord(phase);
    const now = ctl[W_NOW];
    inPhase(this.job, ctl, activeWord(phase), () => {
      const blocks = enc.blocks;
      const entries = enc.entries;
      for (;;) {
        const u = Atomics.add(ctl, next, 1);
        if (u >= units) break;
        if (phase === PHASE_COPY) {
          copySegment(table, state, u, now, enc);
          enc.endGroup();
          this.segments++;
          if (this.index === 0) this.drainHandoff();
          continue;
        }
        const from = u * WALK_BUCKETS_PER_UNIT;
        const to = Math.min(state.buckets, from + WALK_BUCKETS_PER_UNIT);
        if (phase === PHASE_VERSIONS) recordVersions(table, state, from, to);
        else {
          copyChangedBuckets(table, state, from, to, now, enc);
          if (this.index === 0) this.drainHandoff();
        }
      }
      enc.flush();
      // Inside the phase (before leaving its active count), so that the lead, which reads
      // the counts after waitPhase, sees every add.
      if (phase === PHASE_COPY && this.index !== 0) Atomics.add(ctl, W_HELPER_SEGMENTS, this.segments);
      Atomics.add(ctl, W_BLOCKS, enc.blocks - blocks);
      Atomics.add(this.i64, I_ENTRIES, BigInt(enc.entries - entries));
    });
  }

  /** Writes `chunk` at the next free place in the file. */
  write(chunk: Uint8Array): void {
    this.sink.write(chunk);
  }

  /** Closes the file if this walker opened it. */
  close(): void {
    this.sink.close();
  }
}

/**
 * Runs `work` as one thread of the phase whose threads-inside word is `active`: joins
 * before the first claim and leaves after the last unit is done. A thread inside a unit
 * therefore always counts in `active`, and one that joins after the lead saw every unit
 * claimed and `active` at 0 can only claim past the end (its claim comes later in the total
 * order of these seq_cst operations). A failure is recorded in the job, not thrown.
 */
function inPhase(job: SnapshotWriteJob, ctl: Int32Array, active: number, work: () => void): void {
  Atomics.add(ctl, active, 1);
  try {
    work();
  } catch (e) {
    fail(job, ctl, e);
  } finally {
    Atomics.sub(ctl, active, 1);
    Atomics.add(ctl, W_BELL, 1);
    Atomics.notify(ctl, W_BELL);
  }
}

/**
 * On the lead: waits until every unit of `phase` is claimed and no thread is inside one,
 * writing the blocks the helper hands over meanwhile, and the last ones after.
 */
function waitPhase(ctl: Int32Array, phase: number, units: number, walker: Walker): void {
  const next = nextWord(phase);
  const active = activeWord(phase);
  for (;;) {
    // Ordering: the bell before the drain and the checks, so that a hand-over or a thread
    // leaving after them changes the bell and the wait returns at once.
    const bell = Atomics.load(ctl, W_BELL);
    walker.drainHandoff();
    // Ordering: the claim word first, then the active count (see inPhase). A helper hands
    // its last block over before it leaves the phase, so the drain after reading 0 gets it.
    if (Atomics.load(ctl, next) >= units && Atomics.load(ctl, active) === 0) {
      walker.drainHandoff();
      return;
    }
    Atomics.wait(ctl, W_BELL, bell, 50);
  }
}

/** Moves the phase word on and wakes a helper waiting for it. */
function setPhase(ctl: Int32Array, phase: number): void {
  Atomics.store(ctl, W_PHASE, phase);
  Atomics.notify(ctl, W_PHASE);
}

/** Throws the failure a thread recorded, if any. */
function raiseFailure(job: SnapshotWriteJob, ctl: Int32Array): void {
  if (Atomics.load(ctl, W_FAILED) === 0) return;
  const { code, message } = readJobFailure(ctl, W_MESSAGE_BYTES, new Uint8Array(job.control, MESSAGE_OFFSET_BYTES, MESSAGE_MAX_BYTES));
  throw failureError(code, message);
}

/** What the lead wrote. */
export interface SnapshotWriteResult {
  /** File size, in bytes. */
  bytes: number;
  /** Entries in the file. */
  entries: number;
  /** Blocks in the file. */
  blocks: number;
  /** Index of the first tail block (phase 3's). */
  tailBlock: number;
  /** Entries in the tail. */
  tailEntries: number;
  /** Segments the helper copied (0 without one). */
  helperSegments: number;
}

/**
 * The lead's part: walks `table` into the temp file open as `fd` (at `path`, empty) with
 * whatever helper joins `job`, writes the trailer and then the header (`header` plus where
 * the tail starts). Does not fsync. On return or throw, no helper takes more work.
 * @throws the file system's error a thread met (`ENOSPC`, …), with its `code`.
 */
export function leadSnapshotWrite(table: Table, job: SnapshotWriteJob, fd: number, path: string, header: SnapshotHeader): SnapshotWriteResult {
  const ctl = new Int32Array(job.control, 0, JOB_WORDS);
  const i64 = new BigInt64Array(job.control, 0, JOB_WORDS / 2);
  const g = table.v.g;
  let gated = false;
  try {
    const { written } = new TextEncoder().encodeInto(path, new Uint8Array(job.control, PATH_OFFSET_BYTES, PATH_MAX_BYTES));
    ctl[W_PATH_BYTES] = written;
    ctl[W_NOW] = table.clockSeconds();
    i64[I_OFFSET] = BigInt(SNAPSHOT_HEADER_BYTES); // the header goes in last, at 0
    const walker = new Walker(table, job, ctl, i64, 0, fd);
    // Ordering: the segments at the walk's start are recorded before any bucket's version
    // (snapshot-walk.ts recordWalkStart); the seq_cst store of the phase word publishes
    // them, the path and the clock to a helper, whose load of the phase word reads them.
    // The index must not grow during the walk (phases 1 and 3 cover the buckets of its start).
    enterIndexGate(table.v.i32, table.threadWord);
    gated = true;
    recordWalkStart(table, walker.state);
    let tailBlock = 0;
    let bodyEntries = 0;
    for (const phase of PHASES) {
      if (phase === PHASE_TAIL) {
        tailBlock = Atomics.load(ctl, W_BLOCKS);
        bodyEntries = Number(Atomics.load(i64, I_ENTRIES));
      }
      // Ordering: each phase starts after every thread left the one before (a seq_cst sub
      // of its active count after its last plain store): the segments are recorded after
      // every bucket's version (snapshot-walk.ts recordSegments), phase 2 reads them, and
      // the tail's blocks take file offsets after all of phase 2's.
      if (phase === PHASE_COPY) recordSegments(table, walker.state);
      setPhase(ctl, phase);
      walker.run(phase);
      waitPhase(ctl, phase, unitsOf(g, walker.state.buckets, phase), walker);
      raiseFailure(job, ctl);
    }
    setPhase(ctl, PHASE_DONE);
    const blocks = Atomics.load(ctl, W_BLOCKS);
    const entries = Number(Atomics.load(i64, I_ENTRIES));
    walker.write(encodeTrailer(blocks, entries));
    const head = encodeHeader({ ...header, tailBlock });
    writeSync(fd, head, 0, head.length, 0);
    return { bytes: Number(Atomics.load(i64, I_OFFSET)), entries, blocks, tailBlock, tailEntries: entries - bodyEntries, helperSegments: Atomics.load(ctl, W_HELPER_SEGMENTS) };
  } finally {
    abandonSnapshotWrite(job);
    if (gated) exitIndexGate(table.v.i32);
  }
}

/**
 * Tells a helper of `job` that there is nothing more to do: it stops claiming, and one still
 * waiting for a phase (or yet to start) returns. Called by the lead when it is done or has
 * failed, and by Snapshotter when the lead's task has settled, however it did.
 */
export function abandonSnapshotWrite(job: SnapshotWriteJob): void {
  const ctl = new Int32Array(job.control, 0, JOB_WORDS);
  for (const phase of PHASES) Atomics.store(ctl, nextWord(phase), CLAIMS_CLOSED);
  setPhase(ctl, PHASE_DONE);
}

/**
 * A helper's part (Snapshotter's second pool thread): joins each phase of `job` on `table`
 * (attached to the same cache as the lead's) that is not over yet, and returns when there
 * is nothing left for it. Never throws: a failure is recorded in the job.
 */
export function helpSnapshotWrite(table: Table, job: SnapshotWriteJob): void {
  if (job.threads < 2) return;
  const ctl = new Int32Array(job.control, 0, JOB_WORDS);
  const i64 = new BigInt64Array(job.control, 0, JOB_WORDS / 2);
  // Bounded waits throughout: the lead sets PHASE_DONE however it ends.
  waitWhile(ctl, W_PHASE, PHASE_SETUP);
  if (Atomics.load(ctl, W_PHASE) === PHASE_DONE) return;
  const walker = new Walker(table, job, ctl, i64, 1, -1);
  try {
    for (let phase = Atomics.load(ctl, W_PHASE); phase !== PHASE_DONE; phase = Atomics.load(ctl, W_PHASE)) {
      walker.run(phase);
      // Until the lead moves the phase on (or ends the job).
      waitWhile(ctl, W_PHASE, phase);
    }
  } finally {
    walker.close();
  }
}
