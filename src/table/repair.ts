/**
 * Repairs what a dead thread left behind (docs/design.md §4): a bucket it held locked, its active
 * segment, a segment it was evicting, and its thread block. Run by the owner thread only
 * after the dead thread's `exit` event (a live thread must never be "repaired").
 *
 * @module
 */
import {
  B_SEQ, B_REFS, REF_STRIDE, B_TAGS, bucketFor, H_BUCKET_COUNT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, entryBytes, makeRef, S_STATE, S_WRITE_OFFSET,
  SEGMENT_FIRST_OFFSET,
  SEG_ACTIVE, SEG_EVICTING, SEG_FREE, SEG_OWNER_SHIFT, SEG_SEALED, SEG_SPAN, SEG_STATE_MASK, S_SPAN_HEAD, T_ACTIVE_MAIN_SEGMENT, T_ACTIVE_SEGMENT,
  T_HELD_BUCKET, T_STATE, T_WATCHING, F_WATCHERS, feedWord, T_WORKER_THREAD_ID, THREAD_ATTACHED, THREAD_BLOCK_COUNT, THREAD_FREE, WAYS,
  bucketWord, refByte, refOffset, refSegment, segmentRowWord, seqOwner, threadBlockWord, KEYLEN_MASK, bytesToSegmentsEnd,
} from './layout.ts';
import { unlockDeadBucket } from './bucket-lock.ts';
import { sealSegment } from './segments.ts';
import type { SharedView } from './shared-view.ts';

/** What {@link repairDeadThread} found and fixed. */
export interface RepairReport {
  /** Thread block index repaired. */
  thread: number;
  /** Bucket index the thread held locked, or -1. */
  repairedBucket: number;
  /** Ways cleared because they did not point at an entry of their key. */
  clearedWays: number;
  /** Segments the thread owned (active or being evicted) that were sealed again. */
  resealedSegments: number;
}

/** The thread block attached by `worker_threads.threadId` `workerThreadId`, or -1. */
export function findThreadBlock(v: SharedView, workerThreadId: number): number {
  for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
    const tw = threadBlockWord(t);
    if (Atomics.load(v.i32, tw + T_STATE) === THREAD_ATTACHED && Atomics.load(v.i32, tw + T_WORKER_THREAD_ID) === workerThreadId) return t;
  }
  return -1;
}

/** Whether way `ref`/`tag` in bucket `b` points at a whole entry whose hash matches. */
function wayIsValid(v: SharedView, b: number, tag: number, ref: number): boolean {
  const g = v.g;
  const seg = refSegment(g, ref);
  if (seg >= g.segmentCount || refOffset(g, ref) + ENTRY_HEADER_BYTES > g.segmentBytes) return false;
  if ((Atomics.load(v.i32, segmentRowWord(g, seg) + S_STATE) & SEG_STATE_MASK) === SEG_FREE) return false;
  const ew = refByte(g, ref) >>> 2;
  const i32 = v.i32;
  const keyLen = i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK;
  const valueLen = i32[ew + E_VALUE_LEN];
  if (keyLen === 0 || valueLen < 0 || refOffset(g, ref) + ENTRY_HEADER_BYTES + keyLen + valueLen > bytesToSegmentsEnd(g, seg)) return false;
  const h = v.hashEntryKey(refByte(g, ref));
  return bucketFor(h[0], Atomics.load(v.i32, H_BUCKET_COUNT)) === b && h[1] === tag;
}

/**
 * Makes the unlinked flags (layout.ts ENTRY_UNLINKED) of bucket `b` (at word `bw`, held by
 * the dead thread `owner`, its ways already fixed) true again, for the snapshot walk: the
 * thread may have died after flagging an entry and before clearing its way (unlinkWayLocked
 * flags first), or after moving its active segment's write offset past a new entry and
 * before linking it (installLocked). The first leaves a linked entry flagged, whose flag is
 * cleared; the second an entry of this bucket's keys in one of its active segments that no
 * way points at, which is flagged.
 */
function fixUnlinkedFlagsLocked(v: SharedView, b: number, bw: number, owner: number): void {
  const i32 = v.i32;
  const g = v.g;
  for (let w = 0; w < WAYS; w++) {
    const ref = i32[bw + B_REFS + w * REF_STRIDE];
    if (ref !== 0) i32[(refByte(g, ref) >>> 2) + E_KEYLEN_FLAGS] &= ~ENTRY_UNLINKED;
  }
  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    const st = Atomics.load(i32, row + S_STATE);
    if (st >>> SEG_OWNER_SHIFT !== owner || (st & SEG_STATE_MASK) !== SEG_ACTIVE) continue;
    const end = Math.min(Atomics.load(i32, row + S_WRITE_OFFSET), bytesToSegmentsEnd(g, s));
    const base = g.segmentsOffset + s * g.segmentBytes;
    for (let off = SEGMENT_FIRST_OFFSET; off + ENTRY_HEADER_BYTES <= end;) {
      const ew = (base + off) >>> 2;
      const kf = i32[ew + E_KEYLEN_FLAGS];
      const size = entryBytes(kf & KEYLEN_MASK, i32[ew + E_VALUE_LEN]);
      if ((kf & KEYLEN_MASK) === 0 || size <= 0 || off + size > end) break; // cannot be: entries below the offset are whole
      if ((kf & ENTRY_UNLINKED) === 0 && bucketFor(v.hashEntryKey(base + off)[0], Atomics.load(i32, H_BUCKET_COUNT)) === b && !bucketHolds(i32, bw, makeRef(g, s, off))) {
        i32[ew + E_KEYLEN_FLAGS] = kf | ENTRY_UNLINKED;
      }
      off += size;
    }
  }
}

/** Whether a way of the bucket at word `bw` holds `ref`. */
function bucketHolds(i32: Int32Array, bw: number, ref: number): boolean {
  for (let w = 0; w < WAYS; w++) if (i32[bw + B_REFS + w * REF_STRIDE] === ref) return true;
  return false;
}

/**
 * Repairs thread block `t`, whose thread is dead. Safe to call for a block whose thread
 * closed cleanly (nothing to do). Never call it for a live thread.
 */
export function repairDeadThread(v: SharedView, t: number): RepairReport {
  const i32 = v.i32;
  const g = v.g;
  const tw = threadBlockWord(t);
  const owner = t + 1;
  const report: RepairReport = { thread: t, repairedBucket: -1, clearedWays: 0, resealedSegments: 0 };

  // heldBucket is written with plain stores (bucket-lock.ts); this thread joined the dead
  // one (its `exit` event came first), so every store it made is visible here.
  const held = i32[tw + T_HELD_BUCKET];
  if (held > 0 && held <= Atomics.load(i32, H_BUCKET_COUNT)) {
    const b = held - 1;
    const bw = bucketWord(g, b);
    // The locked seq word names its owner, so this is the dead thread's lock and nobody
    // else's (a live thread that holds it is named instead; an unlocked bucket is even).
    const seq = Atomics.load(i32, bw + B_SEQ);
    if (seqOwner(seq) === owner) {
      report.repairedBucket = b;
      // It may have died mid-change: keep only ways that point at an entry of their own key.
      for (let w = 0; w < WAYS; w++) {
        const tag = i32[bw + B_TAGS + w];
        const ref = i32[bw + B_REFS + w * REF_STRIDE];
        if (ref === 0 && tag === 0) continue;
        if (ref === 0 || !wayIsValid(v, b, tag, ref)) {
          i32[bw + B_REFS + w * REF_STRIDE] = 0;
          i32[bw + B_TAGS + w] = 0;
          report.clearedWays++;
        }
      }
      fixUnlinkedFlagsLocked(v, b, bw, owner);
      // After the ways and flags are fixed: the release publishes them.
      unlockDeadBucket(i32, bw, seq);
    }
  }

  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    const st = Atomics.load(i32, row + S_STATE);
    if (st >>> SEG_OWNER_SHIFT !== owner) continue;
    const kind = st & SEG_STATE_MASK;
    if (kind === SEG_ACTIVE) sealSegment(v, s);
    // A half-evicted segment goes back to SEALED with its old (oldest) FIFO place;
    // eviction is idempotent, so the next evictor finishes the job.
    else if (kind === SEG_EVICTING) Atomics.store(i32, row + S_STATE, SEG_SEALED);
    else if (kind === SEG_SPAN) {
      // The thread may have died between claiming this span segment and naming its head
      // (segments.ts claimSpanTail): a span is one run, so its head is the nearest segment
      // before it that is not one of this thread's span segments.
      let head = s - 1;
      while (head > 0 && Atomics.load(i32, segmentRowWord(g, head) + S_STATE) === st) head--;
      Atomics.store(i32, row + S_SPAN_HEAD, head);
      continue;
    } else continue;
    report.resealedSegments++;
  }

  // A dead watcher stops counting (writers stop publishing when nobody watches).
  if (Atomics.compareExchange(i32, tw + T_WATCHING, 1, 0) === 1) Atomics.sub(i32, feedWord(g, F_WATCHERS), 1);
  Atomics.store(i32, tw + T_ACTIVE_SEGMENT, 0);
  Atomics.store(i32, tw + T_ACTIVE_MAIN_SEGMENT, 0);
  i32[tw + T_HELD_BUCKET] = 0;
  Atomics.store(i32, tw + T_STATE, THREAD_FREE);
  return report;
}
