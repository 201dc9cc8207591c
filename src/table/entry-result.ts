/**
 * What a read or write tells about the entry it found or made, in an object its caller owns
 * and reuses (as lru-cache's `status`): a hit allocates nothing for it.
 *
 * @module
 */

/** The entry a read found or a write made. Fields are valid after a hit or a stored write. */
export class EntryResult {
  /** Value length in bytes (reads). */
  length = 0;
  /** Value type (layout.ts TYPE_BYTES / TYPE_STRING / TYPE_INTEGER / TYPE_LIST / TYPE_HASH) (reads). */
  type = 0;
  /** Expiry, unix seconds (the whole second at or after it); 0 = never (reads). */
  expireAt = 0;
  /** The expiry's millisecond code (ttl.ts expiryMs(expireAt, expireCode) is the instant) (reads). */
  expireCode = 0;
  /** The entry's version counter (reads and writes); with Table.versionEpoch, its version. */
  version = 0;
}
