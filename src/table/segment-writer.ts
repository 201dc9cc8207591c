/**
 * One thread's appends to its active segments (docs/design.md §4 "Segments"): reserve room,
 * write the entry, commit it (the write offset moves past it before anything links it), and
 * copy an entry forward for eviction or compaction.
 *
 * A thread has one active segment per queue (small: new writes; main: copies forward and
 * returning keys). Reservations are typed ({@link Reservation}), so a byte offset that was
 * never reserved cannot be committed by mistake; they cost nothing at run time (a branded
 * number).
 *
 * @module
 */
import { OutOfMemoryError } from '../errors.ts';
import {
  E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, EXPIRE_CODE_MASK, EXPIRE_CODE_SHIFT, FLAGS_SHIFT, QUEUE_MAIN, S_LIVE_BYTES, S_QUEUE, S_WRITE_OFFSET, SEGMENT_ROW_WORDS,
  H_FIRST_SEGMENT, QUEUE_SMALL, SEGMENT_FIRST_OFFSET, T_ACTIVE_MAIN_SEGMENT, T_ACTIVE_SEGMENT, makeRef, segmentRowWord,
} from './layout.ts';
import { acquireSegment, sealSegment, type ThreadContext } from './segments.ts';

/**
 * Room for one entry at the write offset of one of this thread's active segments: the
 * entry's byte offset in the buffer, typed so that only {@link SegmentWriter.reserve} and
 * {@link SegmentWriter.reserveCopy} make one. Valid until this thread reserves again.
 */
export type Reservation = number & { readonly __reservation: unique symbol };

/**
 * Free segments a writer leaves alone: an evictor needs one to copy read entries forward
 * into (S3-FIFO), else it would have to drop them whenever a writer has to evict itself.
 */
export const WRITER_RESERVE_SEGMENTS = 1;

/** A thread's writes into its active segments. Not thread-safe itself (one per thread). */
export class SegmentWriter {
  /** Index of the active segment of the small queue (new writes), or -1. */
  private active = -1;
  /** Index of the active segment of the main queue (copies forward, ghost hits), or -1. */
  private activeMain = -1;
  /** Head of the span (an entry larger than a segment) reserved last, not sealed yet, or -1. */
  private spanHead = -1;
  private readonly i32: Int32Array;
  private readonly segRowWord: number;
  private readonly segBase: number;
  private readonly segBytes: number;

  /**
   * @param ctx the thread whose segments these are.
   * @param makeRoom frees one segment, compacting a sparse one or evicting (the policy's
   *   choice, memory/eviction.ts), when no segment is free; `attempt` counts its calls for
   *   one need from 0; returns false when none can be freed.
   */
  constructor(private readonly ctx: ThreadContext, private readonly makeRoom: (attempt: number) => boolean) {
    this.i32 = ctx.v.i32;
    this.segRowWord = segmentRowWord(ctx.v.g, 0);
    this.segBase = ctx.v.g.segmentsOffset;
    this.segBytes = ctx.v.g.segmentBytes;
  }

  /** This thread's active segment of `queue`, or -1. */
  activeOf(queue: number): number {
    return queue === QUEUE_MAIN ? this.activeMain : this.active;
  }

  /**
   * Makes room for `size` bytes in the active segment of `queue` and writes there an entry
   * header (key length, value type and expiry code, value length, expireAt) and the key's first `keyLen`
   * bytes of `key`; the value is the caller's to write. Nothing is visible until
   * {@link commit}. Seals a full segment and claims a free one; when none is free, frees one itself
   * (compacting a sparse segment, else evicting: docs/design.md §5).
   * @throws OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`) when nothing can be evicted.
   */
  reserve(size: number, valueLen: number, type: number, expireAt: number, expireCode: number, queue: number, key: Uint8Array, keyLen: number): Reservation {
    if (this.spanHead >= 0) this.sealSpan();
    let seg = -1;
    if (size + SEGMENT_FIRST_OFFSET <= this.segBytes) {
      for (let attempt = 0; attempt < 64 && seg < 0; attempt++) {
        seg = this.activeWithRoom(size, queue, WRITER_RESERVE_SEGMENTS);
        if (seg < 0 && !this.makeRoom(attempt)) break;
      }
    } else seg = this.claimSpan(size, queue);
    if (seg < 0) throw new OutOfMemoryError('no free segment and none can be evicted (every segment is active in some thread)');
    const i32 = this.i32;
    const e = this.segBase + seg * this.segBytes + i32[this.segRowWord + seg * SEGMENT_ROW_WORDS + S_WRITE_OFFSET];
    const ew = e >>> 2;
    i32[ew + E_KEYLEN_FLAGS] = keyLen | (type << FLAGS_SHIFT) | (expireCode << EXPIRE_CODE_SHIFT);
    i32[ew + E_VALUE_LEN] = valueLen;
    i32[ew + E_EXPIRE_AT] = expireAt;
    const u8 = this.ctx.v.u8;
    const ks = e + ENTRY_HEADER_BYTES;
    if (keyLen <= 64) for (let i = 0; i < keyLen; i++) u8[ks + i] = key[i];
    else u8.set(key.subarray(0, keyLen), ks);
    return e as Reservation;
  }

  /**
   * Commits reservation `r`, now a whole entry of `size` bytes: its segment's write offset
   * moves past it. Returns its ref, for the caller to link under the bucket lock, then to
   * account with {@link addLive}.
   */
  commit(r: Reservation, size: number): number {
    const seg = Math.floor((r - this.segBase) / this.segBytes);
    const off = r - this.segBase - seg * this.segBytes;
    // Ordering: the write offset moves past the entry once it is fully written and before
    // any way points at it, so whoever walks the segment up to the write offset (eviction,
    // also after this thread dies; snapshots) sees whole entries, and finds every linked one.
    Atomics.store(this.i32, this.segRowWord + seg * SEGMENT_ROW_WORDS + S_WRITE_OFFSET, off + size);
    return makeRef(this.ctx.v.g, seg, off);
  }

  /** Adds `size` live bytes to the segment of `ref` (a linked entry). */
  addLive(ref: number, size: number): void {
    // Atomic: evictors and other writers subtract from the same segment's live bytes.
    Atomics.add(this.i32, this.segRowWord + (ref >>> this.ctx.v.g.offsetBits) * SEGMENT_ROW_WORDS + S_LIVE_BYTES, size);
  }

  /**
   * Copy-forward, step 1 (eviction and compaction): makes room for an entry of `size` bytes
   * in the active segment of `queue` and copies the entry at byte `from` there. Returns the
   * reservation, or -1 when no segment is free (this never evicts: the caller is evicting
   * already). Nothing is visible until {@link commitCopy}.
   */
  reserveCopy(from: number, size: number, queue: number): Reservation | -1 {
    // An entry larger than a segment is not copied forward: its caller drops it (S3-FIFO's
    // second chance would need a new span, and an evictor must not wait for one).
    if (size + SEGMENT_FIRST_OFFSET > this.segBytes) return -1;
    const s = this.activeWithRoom(size, queue);
    if (s < 0) return -1;
    const e = this.segBase + s * this.segBytes + this.i32[this.segRowWord + s * SEGMENT_ROW_WORDS + S_WRITE_OFFSET];
    this.ctx.v.u8.copyWithin(e, from, from + size);
    return e as Reservation;
  }

  /**
   * Copy-forward, step 2, under the lock of the entry's bucket: commits the copy `r` of the
   * entry at byte `from` (`size` bytes) and returns its ref, for the caller to put in the
   * way that held the original.
   */
  commitCopy(r: Reservation, from: number, size: number): number {
    const i32 = this.i32;
    // The mutable fields, the expiry's second and code: setTtl may have changed them since
    // the copy was taken, and the caller's bucket lock excludes setTtl now.
    i32[(r >>> 2) + E_EXPIRE_AT] = i32[(from >>> 2) + E_EXPIRE_AT];
    // The copy is of a linked entry (the caller found it in its way under this lock), so it
    // must not carry the unlinked flag; cleared in case the entry was flagged while linked
    // when the copy was taken (a thread that died mid-unlink, before repair.ts).
    const codeBits = EXPIRE_CODE_MASK << EXPIRE_CODE_SHIFT;
    i32[(r >>> 2) + E_KEYLEN_FLAGS] = (i32[(r >>> 2) + E_KEYLEN_FLAGS] & ~ENTRY_UNLINKED & ~codeBits) | (i32[(from >>> 2) + E_KEYLEN_FLAGS] & codeBits);
    const ref = this.commit(r, size);
    this.addLive(ref, size);
    return ref;
  }

  /**
   * Claims a free segment of `queue` for a bulk restore (held ACTIVE, not made this thread's
   * active segment; see bulk-restore.ts), leaving `reserve` free. Returns -1 when none is.
   */
  claimFree(queue: number, reserve: number): number {
    return acquireSegment(this.ctx, queue, reserve);
  }

  /**
   * Makes segment `seg` (ACTIVE, owned by this thread, a restore's last) this thread's
   * active segment of its queue if that has none; else seals it.
   */
  adoptOrSeal(seg: number): void {
    const main = this.i32[this.segRowWord + seg * SEGMENT_ROW_WORDS + S_QUEUE] === QUEUE_MAIN;
    if ((main ? this.activeMain : this.active) >= 0) return sealSegment(this.ctx.v, seg);
    if (main) this.activeMain = seg;
    else this.active = seg;
    // Published for observers, as activeWithRoom does; ownership is the state word's.
    Atomics.store(this.i32, this.ctx.threadWord + (main ? T_ACTIVE_MAIN_SEGMENT : T_ACTIVE_SEGMENT), seg + 1);
  }

  /**
   * The active segment of `queue` if `size` more bytes fit in it; else seals it and claims
   * a free one, leaving `reserve` free. Returns -1 when it cannot (never evicts).
   */
  private activeWithRoom(size: number, queue: number, reserve = 0): number {
    const i32 = this.i32;
    const slot = queue === QUEUE_MAIN ? T_ACTIVE_MAIN_SEGMENT : T_ACTIVE_SEGMENT;
    let s = queue === QUEUE_MAIN ? this.activeMain : this.active;
    if (s >= 0) {
      // A segment the index is growing over is given up (sealed) at this thread's next write
      // to it (index-growth.ts waits for it).
      if (i32[this.segRowWord + s * SEGMENT_ROW_WORDS + S_WRITE_OFFSET] + size <= this.segBytes && s >= i32[H_FIRST_SEGMENT]) return s;
      sealSegment(this.ctx.v, s);
      s = -1;
      // The T_ACTIVE_… words are published for observers (tools, tests); ownership itself is
      // the owner field of the segment's state word, which repair reads.
      Atomics.store(i32, this.ctx.threadWord + slot, 0);
    }
    s = acquireSegment(this.ctx, queue, reserve);
    if (s >= 0) Atomics.store(i32, this.ctx.threadWord + slot, s + 1);
    if (queue === QUEUE_MAIN) this.activeMain = s;
    else this.active = s;
    return s;
  }

  /**
   * Claims a span for one entry of `size` bytes, larger than a segment: a run of adjacent
   * free segments, the first held ACTIVE by this thread (its entry starts there and its
   * write offset will reach past the segment's end), the others SEG_SPAN (segments.ts).
   * Frees segments by the policy (compacting sparse ones, evicting in its order) until such
   * a run is free; gives up when none more can be freed. The head stays ACTIVE (never
   * evicted) until this thread's next reserve or close seals it, after the caller has
   * committed and linked the entry, as an active segment does. Returns the head, or -1.
   */
  private claimSpan(size: number, queue: number): number {
    const span = Math.ceil((size + SEGMENT_FIRST_OFFSET) / this.segBytes);
    const n = this.ctx.v.g.segmentCount;
    // Every segment may have to be evicted once before a run is free (they are freed in FIFO
    // order, not by address), after the policy's first few compactions.
    for (let attempt = 0; attempt < 64 + n; attempt++) {
      const s = acquireSegment(this.ctx, queue, WRITER_RESERVE_SEGMENTS, span);
      if (s >= 0) {
        this.spanHead = s;
        return s;
      }
      if (!this.makeRoom(attempt)) break;
    }
    return -1;
  }

  /** Seals the head of the span this thread wrote last (its entry committed and linked, or given up). */
  private sealSpan(): void {
    sealSegment(this.ctx.v, this.spanHead);
    this.spanHead = -1;
  }

  /** Seals this thread's active segments (and span head) below segment `limit` (index growth). */
  sealBelow(limit: number): void {
    if (this.spanHead >= 0 && this.spanHead < limit) this.sealSpan();
    for (const queue of [QUEUE_SMALL, QUEUE_MAIN]) {
      const s = queue === QUEUE_MAIN ? this.activeMain : this.active;
      if (s < 0 || s >= limit) continue;
      sealSegment(this.ctx.v, s);
      if (queue === QUEUE_MAIN) this.activeMain = -1;
      else this.active = -1;
      Atomics.store(this.i32, this.ctx.threadWord + (queue === QUEUE_MAIN ? T_ACTIVE_MAIN_SEGMENT : T_ACTIVE_SEGMENT), 0);
    }
  }

  /** Seals both active segments (a closing thread's, before it gives its block back). */
  sealAll(): void {
    if (this.spanHead >= 0) this.sealSpan();
    if (this.active >= 0) sealSegment(this.ctx.v, this.active);
    if (this.activeMain >= 0) sealSegment(this.ctx.v, this.activeMain);
    this.active = -1;
    this.activeMain = -1;
    Atomics.store(this.i32, this.ctx.threadWord + T_ACTIVE_SEGMENT, 0);
    Atomics.store(this.i32, this.ctx.threadWord + T_ACTIVE_MAIN_SEGMENT, 0);
  }
}
