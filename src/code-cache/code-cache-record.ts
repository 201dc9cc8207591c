/**
 * The value a code cache entry holds (docs/design.md §9): V8's cached data behind a header
 * that lets a reader refuse bytes that were damaged, before V8 sees them.
 *
 * ```text
 *  [0..4)   magic "SCC1"
 *  [4..8)   payload length (u32, little-endian)
 *  [8..40)  SHA-256 of the payload
 *  [40..)   the payload: what `vm.Script#createCachedData()` returned
 * ```
 *
 * V8 checks its own header (its version, the flags, the source's length) and rejects
 * mismatched data with `cachedDataRejected`; it does not promise to survive arbitrary bytes,
 * hence the checksum.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** "SCC1" as a little-endian u32. */
const MAGIC = 0x31434353;
/** Bytes before the payload. */
export const RECORD_HEADER_BYTES = 40;

/** Wraps V8's cached data in a record ({@link RECORD_HEADER_BYTES} more bytes). */
export function encodeCodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, payload.length, true);
  out.set(createHash('sha256').update(payload).digest(), 8);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

/**
 * The payload of a record, or undefined when it is not a whole, undamaged record (wrong
 * magic, length or checksum). The payload is a view into `record`, not a copy.
 */
export function decodeCodeRecord(record: Uint8Array): Uint8Array | undefined {
  if (record.length < RECORD_HEADER_BYTES) return undefined;
  const dv = new DataView(record.buffer, record.byteOffset, record.byteLength);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== record.length - RECORD_HEADER_BYTES) return undefined;
  const payload = record.subarray(RECORD_HEADER_BYTES);
  const sum = createHash('sha256').update(payload).digest();
  for (let i = 0; i < 32; i++) if (sum[i] !== record[8 + i]) return undefined;
  return payload;
}
