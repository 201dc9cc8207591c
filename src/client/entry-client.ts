/**
 * What every client builds on `getEntry`: `get` (UTF-8) and `getBytes`.
 *
 * @module
 */
/** An entry with its version and TTL. */
export interface ClientEntry {
  value: Uint8Array;
  version: string;
  /** Seconds left, or -1 if it never expires. */
  ttlSeconds: number;
}

const dec = new TextDecoder();

/** Base of HttpClient and WsClient. */
export abstract class EntryClient {
  /** The value with its version and TTL, or undefined when absent. */
  abstract getEntry(key: string): Promise<ClientEntry | undefined>;

  /** The value decoded as UTF-8, or undefined. */
  async get(key: string): Promise<string | undefined> {
    const v = await this.getBytes(key);
    return v === undefined ? undefined : dec.decode(v);
  }

  /** The value's bytes, or undefined. */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    return (await this.getEntry(key))?.value;
  }
}
