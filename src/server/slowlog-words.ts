/**
 * Where the slow log lives in its shared buffer (made by the main thread with
 * {@link createSlowLogBuffer}, handed to every server worker, kept across worker restarts).
 * Only this module knows the offsets.
 *
 * Header (Int32 words): the next entry id (every thread takes ids from it), the reset id
 * (SLOWLOG RESET: entries numbered below it are hidden), the ring length, the slot count,
 * then one ring cursor per slot (written only by that slot's worker).
 * Then per slot a ring of `maxLen` entries of {@link ENTRY_BYTES}, each guarded by its own
 * seqlock word (slow-log.ts).
 *
 * @module
 */

/** Int32 word: the next entry id. */
export const W_NEXT_ID = 0;
/** Int32 word: entries with an id below this one were reset. */
export const W_RESET_ID = 1;
/** Int32 word: entries in each slot's ring (`--slowlog-max-len`). */
export const W_MAX_LEN = 2;
/** Int32 word: slots (server workers). */
export const W_SLOTS = 3;
/** Int32 word of slot `s`'s ring cursor: `W_CURSORS + s`. */
export const W_CURSORS = 4;

/** Bytes of one entry. */
export const ENTRY_BYTES = 512;
/** Int32 index (within the entry, in words) of its seqlock: odd while written. */
export const E_SEQ = 0;
/** Int32 index: the entry's id. */
export const E_ID = 1;
/** Float64 index (within the entry, in 8-byte words): when it ended, unix ms. */
export const E_AT_MS = 1;
/** Float64 index: how long it took, µs. */
export const E_DURATION_US = 2;
/** Int32 index: its protocol (metrics-words.ts PROTOCOL_*). */
export const E_PROTOCOL = 6;
/** Int32 index: bytes used of the argument area. */
export const E_ARGS_BYTES = 7;
/** Int32 index: bytes of the client address. */
export const E_ADDR_BYTES = 8;
/** Int32 index: bytes of the client name. */
export const E_NAME_BYTES = 9;
/** Byte offset (within the entry) of the client address, and its room. */
export const ADDR_OFFSET = 40;
export const ADDR_ROOM = 48;
/** Byte offset of the client name (CLIENT SETNAME), and its room. */
export const NAME_OFFSET = 88;
export const NAME_ROOM = 40;
/** Byte offset of the arguments (each a 16-bit length, then its bytes), and their room. */
export const ARGS_OFFSET = 128;
export const ARGS_ROOM = ENTRY_BYTES - ARGS_OFFSET;

/** Bytes of the header, rounded to 8 so that entries' Float64 words are aligned. */
function headerBytes(slots: number): number {
  return Math.ceil(((W_CURSORS + slots) * 4) / 8) * 8;
}

/** The byte offset of entry `i` of slot `slot`'s ring. */
export function entryOffset(slots: number, maxLen: number, slot: number, i: number): number {
  return headerBytes(slots) + (slot * maxLen + i) * ENTRY_BYTES;
}

/** A slow log buffer for `slots` server workers, each keeping its last `maxLen` entries. */
export function createSlowLogBuffer(slots: number, maxLen: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(headerBytes(slots) + slots * maxLen * ENTRY_BYTES);
  const words = new Int32Array(buffer, 0, W_CURSORS);
  words[W_NEXT_ID] = 1; // Redis's ids start at 0; ours at 1 so that 0 marks an unused entry
  words[W_MAX_LEN] = maxLen;
  words[W_SLOTS] = slots;
  return buffer;
}
