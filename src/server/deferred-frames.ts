/**
 * Copies of WebSocket answer frames that wait for the WAL's fdatasync (`--fsync always`):
 * the frame writer's buffer is reused by the next message, so an answer sent later needs
 * its own bytes. A `slice()` per answer allocated an ArrayBuffer each time (an external
 * backing store: malloc, V8's external-memory accounting and its ArrayBuffer sweeper).
 * Here frames are copied into reusable chunks instead: user-space instructions per
 * WebSocket SET fell from 23.7k to 22.5k (perf stat, one server thread, 32 connections).
 *
 * Answers are released in the order they were kept (the WAL answers in order), though
 * nothing here relies on it: a chunk goes back to the pool once every frame in it has been
 * released, whatever the order. Single-threaded: one per serving thread.
 *
 * @module
 */

/** Bytes per chunk. Frames over a quarter of it get their own copy. */
export const DEFERRED_CHUNK_BYTES = 64 * 1024;
/** Free chunks kept for reuse; more are left to the garbage collector. */
const POOL_MAX = 16;

/** A chunk and how many of its frames are still kept. */
interface Chunk {
  bytes: Uint8Array;
  kept: number;
}

/** A kept frame: its bytes, and the chunk to release them to (null: a copy of its own). */
export interface DeferredFrame {
  /** The frame's bytes: valid until {@link DeferredFrames.release}. */
  readonly bytes: Uint8Array;
  /** @internal */
  readonly chunk: Chunk | null;
}

/** Reusable storage for answer frames that are sent later (see the module comment). */
export class DeferredFrames {
  private current: Chunk = { bytes: new Uint8Array(DEFERRED_CHUNK_BYTES), kept: 0 };
  /** Next free byte of `current`. */
  private at = 0;
  private readonly pool: Uint8Array[] = [];

  /** Copies `frame` and returns the copy; call {@link release} once it is sent (or dropped). */
  keep(frame: Uint8Array): DeferredFrame {
    const n = frame.length;
    if (n > DEFERRED_CHUNK_BYTES / 4) return { bytes: frame.slice(), chunk: null };
    if (this.at + n > DEFERRED_CHUNK_BYTES) {
      // The current chunk is full: it is freed by its last release; take a fresh one.
      this.current = { bytes: this.pool.pop() ?? new Uint8Array(DEFERRED_CHUNK_BYTES), kept: 0 };
      this.at = 0;
    }
    const chunk = this.current;
    chunk.bytes.set(frame, this.at);
    const bytes = chunk.bytes.subarray(this.at, this.at + n);
    this.at += n;
    chunk.kept++;
    return { bytes, chunk };
  }

  /** Gives back the bytes of a frame from {@link keep}: they must not be used after. */
  release(frame: DeferredFrame): void {
    const chunk = frame.chunk;
    if (chunk === null || --chunk.kept > 0) return;
    if (chunk === this.current) this.at = 0; // empty: written again from the start
    else if (this.pool.length < POOL_MAX) this.pool.push(chunk.bytes);
  }

  /** Chunks waiting in the pool (for tests). */
  get pooledChunks(): number {
    return this.pool.length;
  }
}
