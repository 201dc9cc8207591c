/**
 * Copies values out of shared memory into memory the reading thread owns, allocating as
 * little as a read allows (docs/design.md §3 "Reads").
 *
 * @module
 */
import { LITTLE_ENDIAN } from '../util/endian.ts';

/**
 * Values up to this size are copied out into a per-thread slab (a 64 KiB ArrayBuffer that
 * many results share, as Node's Buffer pool does): one ArrayBuffer per read costs far more
 * than the read itself (bench:ab, in-process `npm run bench`).
 */
const SLAB_VALUE_MAX_BYTES = 4096;
const SLAB_BYTES = 64 * 1024;
/** Values up to this many bytes are copied word by word (see copyInto); longer ones by memcpy. */
const COPY_BY_VIEW_MAX_BYTES = 192;

/** One thread's value copier: its slab and its cached view of the last destination. */
export class ValueCopier {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private slabUsed = 0;
  /** A DataView over `viewOf`'s memory, kept while callers pass the same array. */
  private view: DataView | null = null;
  private viewOf: Uint8Array | null = null;

  constructor(private readonly u8: Uint8Array, private readonly i32: Int32Array) {}

  /**
   * Copies `len` bytes at `from` into a new Uint8Array this thread owns. Small values are
   * views into the current slab; a full slab is replaced (the old one lives as long as
   * views of it do).
   */
  copyOut(from: number, len: number): Uint8Array {
    let out: Uint8Array;
    if (len > SLAB_VALUE_MAX_BYTES) out = new Uint8Array(len);
    else {
      if (this.slabUsed + len > SLAB_BYTES) {
        this.slab = new ArrayBuffer(SLAB_BYTES);
        this.slabUsed = 0;
      }
      out = new Uint8Array(this.slab, this.slabUsed, len);
      this.slabUsed = (this.slabUsed + len + 7) & ~7;
    }
    out.set(this.u8.subarray(from, from + len));
    return out;
  }

  /**
   * Copies `len` bytes at `from` to `dest` at `to` without allocating: whole words read from
   * the (aligned) shared view and stored through a DataView at any offset, bytes at either
   * end. `set(subarray)` allocates a view per call (about 30 ns against 10 ns for 64 B with
   * this loop on Node 20), so only longer values take `set` (a memcpy), as does a big-endian
   * machine.
   */
  copyInto(from: number, len: number, dest: Uint8Array, to: number): void {
    if (len > COPY_BY_VIEW_MAX_BYTES || !LITTLE_ENDIAN) {
      dest.set(this.u8.subarray(from, from + len), to);
      return;
    }
    // The view is rebuilt only for another destination array (callers reuse theirs); an
    // identity check, since the typed-array getters (.buffer, .byteOffset) are not free.
    if (this.viewOf !== dest) {
      this.view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
      this.viewOf = dest;
    }
    const dv = this.view!;
    const u8 = this.u8;
    const end = from + len;
    while (from < end && (from & 3) !== 0) dest[to++] = u8[from++];
    const i32 = this.i32;
    for (; from + 4 <= end; from += 4, to += 4) dv.setInt32(to, i32[from >>> 2], true);
    while (from < end) dest[to++] = u8[from++];
  }
}
