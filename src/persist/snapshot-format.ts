/**
 * The snapshot file format (docs/snapshot-format.md), as an encoder that collects entries
 * into checksummed blocks and a reader that checks and decodes a file block by block.
 * Independent of the table's geometry: a snapshot holds entries (key, value, value type,
 * expiry), not the buffer, so it loads into any `--memory`.
 *
 * ```
 * header (64 B)  "SABCSNAP" | u32 version | u32 header bytes | f64 created-at (unix ms)
 *                | u64 WAL sequence | u32 flags (1: records padded, 2: hash seeds, 4: tail)
 *                | u32 hash seed A | u32 hash seed B | u32 first tail block | 12 B reserved
 *                | u32 CRC-32 of bytes 0..59
 * block …        u32 payload bytes (> 0) | u32 entries | u32 CRC-32 of the payload | payload
 *   entry        u16 key bytes | u16 flags (value type) | u32 value bytes | u32 expireAt
 *                (unix s, 0 = never) | key | value | zeros to a multiple of 8 bytes
 * trailer (24 B) u32 0 (no more blocks) | u32 blocks | u64 entries | u32 CRC-32 of trailer
 *                bytes 0..15 | "SEND"
 * ```
 * All integers little-endian. CRC-32 is zlib's (ISO-HDLC), `zlib.crc32`.
 *
 * @module
 */
import { LITTLE_ENDIAN } from '../util/endian.ts';
import { fstatSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { SnapshotCorruptError } from '../errors.ts';

export { SnapshotCorruptError };
import { ENTRY_HEADER_BYTES, KEYLEN_MASK, TYPE_MASK } from '../table/layout.ts';
import type { SnapshotSink } from '../table/snapshot-walk.ts';

/** File magic, the first 8 bytes. */
export const SNAPSHOT_MAGIC = 'SABCSNAP';
/** Format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;
/** Header size, in bytes. */
export const SNAPSHOT_HEADER_BYTES = 64;
/** Block header size (payload bytes, entries, CRC), in bytes. */
export const BLOCK_HEADER_BYTES = 12;
/** Entry header size (key length, flags, value length, expireAt), in bytes. */
export const ENTRY_RECORD_HEADER_BYTES = 12;
/** Trailer size, in bytes. */
export const SNAPSHOT_TRAILER_BYTES = 24;
/**
 * Header flag: each entry record is followed by zero bytes up to a multiple of 8 bytes, so
 * that a run of records is laid out exactly as a run of entries in a segment (layout.ts)
 * and loads with one copy. This writer always sets it; files without it load too.
 */
export const SNAPSHOT_FLAG_PADDED = 1;
/**
 * Header flag: bytes 36..43 hold the hash seeds of the cache that wrote the file, so that
 * a cache made to load it can take the same seeds and visit its index in the file's order
 * (snapshot-files.ts newestSnapshotHashSeeds). This writer always sets it.
 */
export const SNAPSHOT_FLAG_HASH_SEEDS = 2;
/**
 * Header flag: bytes 44..47 hold the index of the first block of the file's tail, the
 * entries the walk copied last (table/snapshot-walk.ts phase 3). A key may occur once before
 * the tail and once in it; the tail's is the later value, so a load stores the tail after
 * every other block. Without the flag no key occurs twice. This writer always sets it.
 */
export const SNAPSHOT_FLAG_TAIL = 4;
const KNOWN_FLAGS = SNAPSHOT_FLAG_PADDED | SNAPSHOT_FLAG_HASH_SEEDS | SNAPSHOT_FLAG_TAIL;
/** Trailer magic, its last 4 bytes. */
export const TRAILER_MAGIC = 'SEND';
/** Entries up to this many key + value bytes are copied whole, word by word; longer ones by memcpy. */
const COPY_BY_WORDS_MAX_BYTES = 256;
/**
 * Where a block's payload starts in the encoder's buffer: 16, so that its records (8-byte
 * multiples) sit on 8-byte boundaries as entries do in the shared buffer, with the block
 * header in the 12 bytes before it. Copies out of a SharedArrayBuffer (`TypedArray.set`)
 * run at memory speed only between equally 8-byte-aligned ends: with the payload at 12,
 * copying a 461 MB cache's segments took 106 ms instead of 15 (V8 copies shared memory
 * with relaxed atomics, word by word only when source and target are aligned alike).
 */
const PAYLOAD_AT = 16;
/** The format's part of an entry's first word: key length (16 bits) and value type (4 bits). */
const HEADER_WORD_MASK = KEYLEN_MASK | (TYPE_MASK << 16);
/** A block is closed once its payload reaches this many bytes (between buckets), in bytes. */
export const BLOCK_TARGET_BYTES = 1 << 20;

/** What a snapshot header records. */
export interface SnapshotHeader {
  /** When the snapshot started, unix milliseconds. */
  createdAtMs: number;
  /** The WAL sequence when the snapshot started (0 without a WAL): replay resumes after it. */
  walSequence: bigint;
  /**
   * The hash seeds (two int32) of the cache the snapshot was taken from; absent in files
   * written before they were recorded.
   */
  hashSeeds?: readonly [number, number];
  /**
   * Index of the first block of the tail ({@link SNAPSHOT_FLAG_TAIL}); absent in files
   * written before the tail existed, where no key occurs twice.
   */
  tailBlock?: number;
}

/** The 64-byte header for `h`. */
export function encodeHeader(h: SnapshotHeader): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = SNAPSHOT_MAGIC.charCodeAt(i);
  dv.setUint32(8, SNAPSHOT_VERSION, true);
  dv.setUint32(12, SNAPSHOT_HEADER_BYTES, true);
  dv.setFloat64(16, h.createdAtMs, true);
  dv.setBigUint64(24, h.walSequence, true);
  dv.setUint32(32, SNAPSHOT_FLAG_PADDED | (h.hashSeeds ? SNAPSHOT_FLAG_HASH_SEEDS : 0) | (h.tailBlock !== undefined ? SNAPSHOT_FLAG_TAIL : 0), true);
  if (h.hashSeeds) {
    dv.setInt32(36, h.hashSeeds[0], true);
    dv.setInt32(40, h.hashSeeds[1], true);
  }
  if (h.tailBlock !== undefined) dv.setUint32(44, h.tailBlock, true);
  dv.setUint32(60, crc32(out.subarray(0, 60)), true);
  return out;
}

/** Where a {@link SnapshotEncoder} hands its finished blocks (the snapshot file). */
export interface BlockSink {
  /**
   * Takes one block (header and payload): copies or writes it before returning, or keeps
   * it (when it lies in a buffer the sink gave) and returns another buffer for the encoder
   * to fill next ({@link SnapshotEncoder.useBuffer}'s terms); returns nothing to let the
   * encoder reuse its buffer.
   */
  write(block: Uint8Array): Uint8Array | void;
}

/** The 24-byte trailer of a file of `blocks` blocks holding `entries` entries. */
export function encodeTrailer(blocks: number, entries: number): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0, true);
  dv.setUint32(4, blocks, true);
  dv.setBigUint64(8, BigInt(entries), true);
  dv.setUint32(16, crc32(out.subarray(0, 16)), true);
  for (let i = 0; i < 4; i++) out[20 + i] = TRAILER_MAGIC.charCodeAt(i);
  return out;
}

/**
 * Collects entries into blocks. Entries go into a growing buffer; {@link endGroup} closes
 * the block once it holds {@link BLOCK_TARGET_BYTES}, so a block never splits a bucket or a
 * segment's copy, and {@link rewind} (a bucket or segment copied again, or dropped) only
 * ever touches the open block.
 */
export class SnapshotEncoder implements SnapshotSink {
  private buf: Uint8Array = new Uint8Array(BLOCK_TARGET_BYTES + (1 << 16));
  private buf32: Int32Array = new Int32Array(this.buf.buffer);
  private dv: DataView = new DataView(this.buf.buffer);
  private at = PAYLOAD_AT;
  private count = 0;
  private markAt = PAYLOAD_AT;
  private markCount = 0;
  /** Blocks emitted so far. */
  blocks = 0;
  /** Entries emitted so far (in closed blocks). */
  entries = 0;

  /**
   * @param out takes each finished block. An object with a method rather than a closure:
   *   the walk's optimized code then calls the same function for every snapshot, where a
   *   new closure per snapshot made V8 throw that code away at each one ("wrong call
   *   target") and compile it again on its shared background threads, which run at normal
   *   priority and took the server threads' core (bench:persist, GET p99 during a snapshot).
   */
  constructor(private readonly out: BlockSink) {}

  /**
   * Encodes the next blocks into `buf` (from its byte 0; its length a multiple of 8, its
   * byteOffset too), for instance a slot of shared memory that another thread writes out:
   * a block then lies at `buf.byteOffset + 4`. Call only between blocks (no entry added
   * since the last flush). A block that outgrows `buf` moves to a buffer of the encoder's
   * own; the sink then gets a block that is not in `buf`.
   */
  useBuffer(buf: Uint8Array): void {
    this.buf = buf;
    this.buf32 = new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Remembers the position of the open block (see SnapshotSink.mark). */
  mark(): void {
    this.markAt = this.at;
    this.markCount = this.count;
  }

  /** Drops the entries added since {@link mark} (a bucket that moved under the walk). */
  rewind(): void {
    this.at = this.markAt;
    this.count = this.markCount;
  }

  /** Makes room for `n` more bytes in the open block. */
  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
    this.buf32 = new Int32Array(grown.buffer);
    this.dv = new DataView(grown.buffer);
  }

  /**
   * Appends `count` entries that lie back to back in `u8` from byte `from`, `bytes` in all
   * (see SnapshotSink.run): one copy, then each record's header word is cut to the format's
   * fields and its padding zeroed. The sizes are read back from the copy: a torn copy (a
   * segment freed under it, which its caller then drops) only stops the fix-ups early.
   */
  run(u8: Uint8Array, i32: Int32Array, from: number, bytes: number, count: number): void {
    this.ensure(bytes);
    const at = this.at;
    const buf = this.buf;
    if (bytes <= COPY_BY_WORDS_MAX_BYTES && LITTLE_ENDIAN) {
      // Both ends are 4-byte aligned (entries start on 8 bytes, records at 12 + a multiple
      // of 8 in the block): word for word, with no view allocated.
      const d32 = this.buf32;
      const to = at >>> 2;
      const src = from >>> 2;
      for (let i = 0; i < bytes >>> 2; i++) d32[to + i] = i32[src + i];
    } else {
      buf.set(u8.subarray(from, from + bytes), at);
    }
    const end = at + bytes;
    const b32 = this.buf32;
    for (let p = at; p + ENTRY_RECORD_HEADER_BYTES <= end;) {
      const w = p >>> 2;
      const kf = b32[w];
      const used = ENTRY_RECORD_HEADER_BYTES + (kf & KEYLEN_MASK) + b32[w + 1];
      const size = (used + 7) & ~7;
      if (p + size > end || used < ENTRY_RECORD_HEADER_BYTES) break;
      // The header as the format gives it (the entry's first word may hold other flags).
      b32[w] = kf & HEADER_WORD_MASK;
      for (let q = p + used; q < p + size; q++) buf[q] = 0;
      p += size;
    }
    this.at = end;
    this.count += count;
  }

  /** Appends one entry record (see SnapshotSink.entry for the arguments); grows the block as needed. */
  entry(u8: Uint8Array, i32: Int32Array, from: number, keyLength: number, valueLength: number, type: number, expireAt: number): void {
    const bytes = keyLength + valueLength;
    // Padded to 8 bytes (SNAPSHOT_FLAG_PADDED): a record is then the size of its entry.
    const n = (ENTRY_RECORD_HEADER_BYTES + bytes + 7) & ~7;
    this.ensure(n);
    const at = this.at;
    if (bytes <= COPY_BY_WORDS_MAX_BYTES && LITTLE_ENDIAN) {
      // The record is the entry (its header, key, value; padded to 8 bytes as entries are;
      // the header sizes are equal by design, layout.ts): copy it whole, word for word. Both
      // ends are 4-byte aligned: entries start on 8 bytes, and records at 12 + a multiple
      // of 8 in the block. No view is allocated.
      const d32 = this.buf32;
      const to = at >>> 2;
      const src = (from - ENTRY_HEADER_BYTES) >>> 2;
      const words = n >>> 2;
      for (let i = 3; i < words; i++) d32[to + i] = i32[src + i];
      // The header as the format gives it (the entry's first word may hold other flags).
      d32[to] = keyLength | (type << 16);
      d32[to + 1] = valueLength;
      d32[to + 2] = expireAt;
    } else {
      const dv = this.dv;
      dv.setUint32(at, keyLength | (type << 16), true); // u16 key length, u16 flags
      dv.setUint32(at + 4, valueLength, true);
      dv.setUint32(at + 8, expireAt, true);
      this.buf.set(u8.subarray(from, from + bytes), at + ENTRY_RECORD_HEADER_BYTES);
    }
    // The padding is zero: written either way, over whatever the entry's padding held (whole
    // copy) or the reused block buffer held (the other path).
    for (let p = at + ENTRY_RECORD_HEADER_BYTES + bytes; p < at + n; p++) this.buf[p] = 0;
    this.at += n;
    this.count++;
  }

  /** Call between buckets or segments: closes the block if it is full enough. */
  endGroup(): void {
    if (this.at - PAYLOAD_AT >= BLOCK_TARGET_BYTES) this.flush();
  }

  /** Closes the open block, if it has entries: every entry added so far is then written. */
  flush(): void {
    const payload = this.at - PAYLOAD_AT;
    if (payload === 0) return;
    const h = PAYLOAD_AT - BLOCK_HEADER_BYTES;
    this.dv.setUint32(h, payload, true);
    this.dv.setUint32(h + 4, this.count, true);
    this.dv.setUint32(h + 8, crc32(this.buf.subarray(PAYLOAD_AT, this.at)), true);
    const next = this.out.write(this.buf.subarray(h, this.at));
    if (next) this.useBuffer(next);
    this.blocks++;
    this.entries += this.count;
    this.at = PAYLOAD_AT;
    this.count = 0;
  }
}

/** One decoded entry (views into the reader's buffer, valid during the callback). */
export interface SnapshotEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** Value type (layout.ts TYPE_*). */
  type: number;
  /** Unix seconds, 0 = never. */
  expireAt: number;
}

/**
 * Reads the snapshot open as `fd`: checks the header, every block header, the trailer (its
 * CRC, and that the block and entry counts match the blocks') and that nothing follows it
 * ({@link scanSnapshot}); then checks each block's CRC and record bounds before decoding it,
 * and calls `each` per entry. Entries of blocks before a bad one have been handed out when
 * it throws: a caller that needs all or nothing undoes them.
 * @throws SnapshotCorruptError (`SABCACHE_ERR_SNAPSHOT_CORRUPT`) at the first failed check.
 */
export function readSnapshot(fd: number, each: (e: SnapshotEntry) => void): SnapshotHeader & { entries: number; bytes: number } {
  const entry: SnapshotEntry = { key: new Uint8Array(0), value: new Uint8Array(0), type: 0, expireAt: 0 };
  const index = scanSnapshot(fd);
  const reader = new SnapshotBlockReader();
  for (const block of index.blocks) reader.read(fd, block, index.padded, (payload, starts, count) => {
    const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (let i = 0; i < count; i++) {
      const at = starts[i];
      const keyLength = pv.getUint16(at, true);
      entry.type = pv.getUint16(at + 2, true);
      const valueLength = pv.getUint32(at + 4, true);
      entry.expireAt = pv.getUint32(at + 8, true);
      const ks = at + ENTRY_RECORD_HEADER_BYTES;
      entry.key = payload.subarray(ks, ks + keyLength);
      entry.value = payload.subarray(ks + keyLength, ks + keyLength + valueLength);
      each(entry);
    }
  });
  return { createdAtMs: index.createdAtMs, walSequence: index.walSequence, entries: index.entries, bytes: index.bytes };
}

/** Where one block sits in a snapshot file, as {@link scanSnapshot} found it. */
export interface SnapshotBlock {
  /** Byte offset of the block header in the file. */
  at: number;
  /** Payload size, in bytes. */
  payloadBytes: number;
  /** Entries in the payload. */
  count: number;
  /** The CRC-32 its header gives for the payload. */
  crc: number;
}

/** A snapshot file's header, block list and totals: what loading needs before any entry. */
export interface SnapshotIndex extends SnapshotHeaderRead {
  /** The blocks, in file order. */
  blocks: SnapshotBlock[];
  /** Entries in all blocks (the trailer's count, checked against the blocks'). */
  entries: number;
  /** File size, in bytes. */
  bytes: number;
}

/**
 * Reads `len` bytes at `pos` of `fd` into `buf` (which must hold them).
 * @throws SnapshotCorruptError "truncated" when the file ends first.
 */
function readFully(fd: number, buf: Uint8Array, len: number, pos: number, what: string): Uint8Array {
  let got = 0;
  while (got < len) {
    const r = readSync(fd, buf, got, len - got, pos + got);
    if (r === 0) throw new SnapshotCorruptError(`truncated: the file ends inside the ${what} at byte ${pos + got}`);
    got += r;
  }
  return buf.subarray(0, len);
}

/** A snapshot header as {@link readSnapshotHeader} read it. */
export interface SnapshotHeaderRead extends SnapshotHeader {
  /** Whether entry records are padded to 8 bytes (header flag {@link SNAPSHOT_FLAG_PADDED}). */
  padded: boolean;
}

/**
 * Reads and checks the 64-byte header of the snapshot open as `fd` (magic, version, size,
 * CRC, known flags).
 * @throws SnapshotCorruptError (`SABCACHE_ERR_SNAPSHOT_CORRUPT`) at the first failed check.
 */
export function readSnapshotHeader(fd: number): SnapshotHeaderRead {
  const head = readFully(fd, new Uint8Array(SNAPSHOT_HEADER_BYTES), SNAPSHOT_HEADER_BYTES, 0, 'header');
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let i = 0; i < 8; i++) if (head[i] !== SNAPSHOT_MAGIC.charCodeAt(i)) throw new SnapshotCorruptError('bad magic: not a sabcache snapshot');
  const version = hv.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) throw new SnapshotCorruptError(`format version ${version}; this build reads version ${SNAPSHOT_VERSION}`);
  if (hv.getUint32(60, true) !== crc32(head.subarray(0, 60))) throw new SnapshotCorruptError('header checksum mismatch');
  if (hv.getUint32(12, true) !== SNAPSHOT_HEADER_BYTES) throw new SnapshotCorruptError('unexpected header size');
  const flags = hv.getUint32(32, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new SnapshotCorruptError(`unknown header flags 0x${flags.toString(16)}`);
  return {
    createdAtMs: hv.getFloat64(16, true), walSequence: hv.getBigUint64(24, true), padded: (flags & SNAPSHOT_FLAG_PADDED) !== 0,
    ...(flags & SNAPSHOT_FLAG_HASH_SEEDS ? { hashSeeds: [hv.getInt32(36, true), hv.getInt32(40, true)] as const } : {}),
    ...(flags & SNAPSHOT_FLAG_TAIL ? { tailBlock: hv.getUint32(44, true) } : {}),
  };
}

/**
 * The first pass of a load: checks the header, reads every block header (skipping the
 * payloads: a few bytes per MiB), checks the trailer, that its block and entry counts
 * match the blocks', and that nothing follows it. Payloads are checked later, block by
 * block ({@link SnapshotBlockReader}), so blocks can be loaded in any order and by several
 * threads, and a file cut short is refused before anything of it is stored.
 * @throws SnapshotCorruptError (`SABCACHE_ERR_SNAPSHOT_CORRUPT`) at the first failed check.
 */
export function scanSnapshot(fd: number): SnapshotIndex {
  const size = fstatSync(fd).size;
  const header = readSnapshotHeader(fd);
  const index: SnapshotIndex = { ...header, blocks: [], entries: 0, bytes: 0 };
  const bh = new Uint8Array(BLOCK_HEADER_BYTES);
  const bv = new DataView(bh.buffer);
  for (let pos = SNAPSHOT_HEADER_BYTES; ;) {
    readFully(fd, bh, BLOCK_HEADER_BYTES, pos, 'block header');
    const payloadBytes = bv.getUint32(0, true);
    if (payloadBytes === 0) {
      // The trailer: its first word (0) was just read as a block length.
      const t = readTrailer(fd, pos);
      if (t.blocks !== index.blocks.length || t.entries !== index.entries) {
        throw new SnapshotCorruptError(`trailer counts ${t.blocks} blocks / ${t.entries} entries, the file holds ${index.blocks.length} / ${index.entries}`);
      }
      if (index.tailBlock !== undefined && index.tailBlock > index.blocks.length) {
        throw new SnapshotCorruptError(`the header puts the tail at block ${index.tailBlock}, the file holds ${index.blocks.length}`);
      }
      if (size > pos + SNAPSHOT_TRAILER_BYTES) throw new SnapshotCorruptError(`bytes after the trailer at byte ${pos + SNAPSHOT_TRAILER_BYTES}`);
      index.bytes = pos + SNAPSHOT_TRAILER_BYTES;
      return index;
    }
    const count = bv.getUint32(4, true);
    if (payloadBytes > 1 << 30) throw new SnapshotCorruptError(`block at byte ${pos}: implausible length ${payloadBytes}`);
    if (count > payloadBytes / ENTRY_RECORD_HEADER_BYTES) throw new SnapshotCorruptError(`block at byte ${pos}: ${count} entries cannot fit in ${payloadBytes} bytes`);
    const end = pos + BLOCK_HEADER_BYTES + payloadBytes;
    if (end > size) throw new SnapshotCorruptError(`truncated: the file ends inside the block at byte ${pos}, at byte ${size}`);
    index.blocks.push({ at: pos, payloadBytes, count, crc: bv.getUint32(8, true) });
    index.entries += count;
    pos = end;
  }
}

/**
 * Reads and checks one block of a scanned file ({@link scanSnapshot}): the payload's CRC,
 * and that its records lie inside it and fill it exactly. Holds its buffers, so one reader
 * per thread reads block after block without allocating.
 */
export class SnapshotBlockReader {
  private buf = new Uint8Array(BLOCK_TARGET_BYTES + (1 << 16));
  // Entries are at least ENTRY_RECORD_HEADER_BYTES each: a payload of n bytes holds at most n / 12.
  private starts = new Int32Array(Math.ceil(this.buf.length / ENTRY_RECORD_HEADER_BYTES));

  /**
   * Reads `block` of `fd` and checks it; `each` gets the payload, the byte offset of each
   * entry record in it, their count, and `padded` (then the payload starts 8-byte aligned
   * in memory). The views are valid during the call.
   * @throws SnapshotCorruptError (`SABCACHE_ERR_SNAPSHOT_CORRUPT`) when a check fails.
   */
  read(fd: number, block: SnapshotBlock, padded: boolean, each: (payload: Uint8Array, starts: Int32Array, count: number, padded: boolean) => void): void {
    const { at: blockAt, payloadBytes, count } = block;
    if (payloadBytes > this.buf.length) this.buf = new Uint8Array(payloadBytes);
    if (count > this.starts.length) this.starts = new Int32Array(count);
    const payload = readFully(fd, this.buf, payloadBytes, blockAt + BLOCK_HEADER_BYTES, `block at byte ${blockAt}`);
    if (crc32(payload) !== block.crc) throw new SnapshotCorruptError(`block at byte ${blockAt}: checksum mismatch`);
    const starts = this.starts;
    const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + ENTRY_RECORD_HEADER_BYTES > payloadBytes) throw new SnapshotCorruptError(`block at byte ${blockAt}: entry ${i} runs past the block`);
      let next = at + ENTRY_RECORD_HEADER_BYTES + pv.getUint16(at, true) + pv.getUint32(at + 4, true);
      // Rounded up only once within the payload (≤ 1 GiB): `&` on a larger end would wrap.
      if (padded && next <= payloadBytes) next = (next + 7) & ~7;
      if (next > payloadBytes) throw new SnapshotCorruptError(`block at byte ${blockAt}: entry ${i} runs past the block`);
      starts[i] = at;
      at = next;
    }
    if (at !== payloadBytes) throw new SnapshotCorruptError(`block at byte ${blockAt}: ${payloadBytes - at} bytes after its last entry`);
    each(payload, starts, count, padded);
  }
}

function readTrailer(fd: number, at: number): { blocks: number; entries: number } {
  const t = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
  if (readSync(fd, t, 0, SNAPSHOT_TRAILER_BYTES, at) !== SNAPSHOT_TRAILER_BYTES) throw new SnapshotCorruptError(`truncated: the trailer at byte ${at} is cut short`);
  const dv = new DataView(t.buffer);
  for (let i = 0; i < 4; i++) if (t[20 + i] !== TRAILER_MAGIC.charCodeAt(i)) throw new SnapshotCorruptError(`bad trailer magic at byte ${at}`);
  if (dv.getUint32(16, true) !== crc32(t.subarray(0, 16))) throw new SnapshotCorruptError('trailer checksum mismatch');
  return { blocks: dv.getUint32(4, true), entries: Number(dv.getBigUint64(8, true)) };
}
