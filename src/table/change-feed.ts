/**
 * The change feed: a bounded ring of change records in shared memory (layout.ts: feed
 * header and FEED_SLOTS slots). Every thread that changes a key publishes a record (set,
 * delete, expire, evict) while some thread watches; every thread that serves watchers
 * tails the ring. Records are published inside the key's bucket lock, so the records of one
 * key are in the order of its changes, whichever threads made them.
 *
 * Writer: seq := add(head, 1) → slot.seq := 0 (being written) → fields → slot.seq := seq+1
 *         → notify if a reader is parked.
 * Reader: s1 := load(slot.seq) = next+1? → read fields → s2 := load(slot.seq) = s1? → deliver.
 * A reader the ring laps (more than FEED_SLOTS behind) or that waits too long on a slot a
 * writer never finished (it died) skips ahead and reports that it lagged: never silent loss.
 *
 * Sequences are u32 and wrap; comparisons use signed 32-bit differences. The one sequence
 * whose `seq + 1` is 0 reads as "being written" and ends in a lag report, once per 2^32
 * changes.
 *
 * @module
 */
import { VALIDATE_WITH_RMW } from './bucket-lock.ts';
import {
  E_KEYLEN_FLAGS, ENTRY_HEADER_BYTES, KEYLEN_MASK, F_HEAD, F_NOTIFY, F_PARKED, F_WATCHERS, FEED_KEY_BYTES, FEED_SLOTS, FS_HASH_HI, FS_HASH_LO, FS_KEY_BYTE, FS_KIND_LEN,
  FS_SEQ, T_WATCHING, feedSlotByte, feedWord,
} from './layout.ts';
import type { SharedView } from './shared-view.ts';

/** How long a reader waits on a slot a writer reserved but did not publish, in milliseconds. */
export const FEED_STALL_MS = 200;
/** How long a parked reader sleeps at most before it looks again, in milliseconds. */
const PARK_MS = 50;
/** Records a reader handles per turn before it yields to its event loop. */
const BATCH = 2048;

/** Whether any thread watches (writers skip publishing otherwise). */
export function feedWatched(v: SharedView): boolean {
  return Atomics.load(v.i32, feedWord(v.g, F_WATCHERS)) !== 0;
}

/**
 * Publishes a change of the key whose `len` bytes are `src[start…]` and whose hash is
 * (`lo`, `hi`). Call with the key's bucket lock held, after the change.
 */
export function publishChange(v: SharedView, kind: number, src: Uint8Array, start: number, len: number, lo: number, hi: number): void {
  const { i32, u8, g } = v;
  const seq = Atomics.add(i32, feedWord(g, F_HEAD), 1);
  const slot = feedSlotByte(g, seq & (FEED_SLOTS - 1));
  const sw = slot >>> 2;
  // Ordering: mark the slot as being written before changing it, so a reader that was
  // reading the slot's old record sees its sequence change and drops what it read.
  Atomics.store(i32, sw + FS_SEQ, 0);
  const n = len < FEED_KEY_BYTES ? len : FEED_KEY_BYTES;
  i32[sw + FS_KIND_LEN] = kind | (len > n ? 1 << 8 : 0) | (len << 16);
  i32[sw + FS_HASH_LO] = lo;
  i32[sw + FS_HASH_HI] = hi;
  const to = slot + FS_KEY_BYTE;
  for (let i = 0; i < n; i++) u8[to + i] = src[start + i];
  // Ordering: publish the sequence last (a seq_cst store): a reader that sees it sees the
  // fields written above.
  Atomics.store(i32, sw + FS_SEQ, (seq + 1) | 0);
  // Ordering: `parked` is read after publishing, and a reader raises it before its last
  // look at `head` (seq_cst both ways), so either we see the reader parked and wake it, or
  // it sees our record and does not sleep.
  if (Atomics.load(i32, feedWord(g, F_PARKED)) !== 0) {
    Atomics.add(i32, feedWord(g, F_NOTIFY), 1);
    Atomics.notify(i32, feedWord(g, F_NOTIFY));
  }
}

/**
 * Publishes a change of the key of the entry at byte `e` (its key is read from the entry and
 * hashed again). Call with the key's bucket lock held, before the entry's memory can be reused.
 */
export function publishEntryChange(v: SharedView, kind: number, e: number): void {
  const h = v.hashEntryKey(e);
  publishChange(v, kind, v.u8, e + ENTRY_HEADER_BYTES, v.i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK, h[0], h[1]);
}

/** One record as a reader sees it; `key` is a view valid during the callback only. */
export interface ChangeRecord {
  kind: number;
  /** The key's full length in bytes; `key` holds at most FEED_KEY_BYTES of it. */
  keyLength: number;
  truncated: boolean;
  key: Uint8Array;
  hashLo: number;
  hashHi: number;
}

/**
 * Tails the feed from the moment it starts, calling `onChange` for each record in order
 * and `onLagged` when records were skipped. Counts its thread as a watcher while running.
 * Waits with `Atomics.waitAsync` (no polling loop burning a core).
 */
export class ChangeFeedTail {
  private next = 0;
  private running = false;
  private stalledSince = 0;
  private readonly keyBuf = new Uint8Array(FEED_KEY_BYTES);
  private readonly rec: ChangeRecord = { kind: 0, keyLength: 0, truncated: false, key: this.keyBuf, hashLo: 0, hashHi: 0 };
  /** Resolves when the loop has ended. */
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly v: SharedView,
    private readonly threadWord: number,
    private readonly onChange: (r: ChangeRecord) => void,
    private readonly onLagged: () => void,
    /** Called after each turn that handled records (to send what they produced at once). */
    private readonly onTurnEnd: () => void = () => {},
  ) {}

  /** Starts tailing (from now on). Idempotent. */
  start(): void {
    if (this.running) return;
    const { i32, g } = this.v;
    this.running = true;
    // Counted before reading head: writers that see the count publish every change from
    // here on, so nothing after `next` is missed.
    if (Atomics.compareExchange(i32, this.threadWord + T_WATCHING, 0, 1) === 0) Atomics.add(i32, feedWord(g, F_WATCHERS), 1);
    this.next = Atomics.load(i32, feedWord(g, F_HEAD));
    this.done = this.loop();
  }

  /** Stops tailing and uncounts this thread. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const { i32, g } = this.v;
    if (Atomics.compareExchange(i32, this.threadWord + T_WATCHING, 1, 0) === 1) Atomics.sub(i32, feedWord(g, F_WATCHERS), 1);
    Atomics.notify(i32, feedWord(g, F_NOTIFY)); // wake our own parked loop
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const handled = this.drain();
      if (handled > 0) this.onTurnEnd();
      if (!this.running) break;
      if (handled === BATCH) await new Promise((r) => setImmediate(r));
      else await this.park();
    }
  }

  /** Handles up to BATCH records; returns how many. */
  drain(): number {
    const { i32, u8, g } = this.v;
    const headWord = feedWord(g, F_HEAD);
    let handled = 0;
    while (handled < BATCH) {
      const ahead = (Atomics.load(i32, headWord) - this.next) | 0;
      if (ahead <= 0) return handled;
      if (ahead > FEED_SLOTS) {
        // The ring lapped us: everything up to head - FEED_SLOTS is gone.
        this.next = (Atomics.load(i32, headWord) - (FEED_SLOTS >> 1)) | 0;
        this.onLagged();
        continue;
      }
      const slot = feedSlotByte(g, this.next & (FEED_SLOTS - 1));
      const sw = slot >>> 2;
      const s1 = Atomics.load(i32, sw + FS_SEQ);
      const d = (s1 - ((this.next + 1) | 0)) | 0;
      if (d !== 0) {
        if (d > 0) {
          // A newer record already sits here: we were lapped while reading.
          this.next = (Atomics.load(i32, headWord) - (FEED_SLOTS >> 1)) | 0;
          this.onLagged();
          continue;
        }
        // Reserved but not published yet. Normally a moment; a writer that died in between
        // never publishes: after FEED_STALL_MS skip it and say so.
        const now = Date.now();
        if (this.stalledSince === 0) this.stalledSince = now;
        if (now - this.stalledSince < FEED_STALL_MS) return handled;
        this.stalledSince = 0;
        this.next = (this.next + 1) | 0;
        this.onLagged();
        continue;
      }
      this.stalledSince = 0;
      const kl = i32[sw + FS_KIND_LEN];
      const rec = this.rec;
      rec.kind = kl & 0xff;
      rec.truncated = (kl & (1 << 8)) !== 0;
      rec.keyLength = kl >>> 16;
      rec.hashLo = i32[sw + FS_HASH_LO];
      rec.hashHi = i32[sw + FS_HASH_HI];
      const n = rec.keyLength < FEED_KEY_BYTES ? rec.keyLength : FEED_KEY_BYTES;
      for (let i = 0; i < n; i++) this.keyBuf[i] = u8[slot + FS_KEY_BYTE + i];
      rec.key = this.keyBuf.subarray(0, n);
      // Ordering: validate after every plain load of the record (as the bucket seqlock).
      const s2 = VALIDATE_WITH_RMW ? Atomics.compareExchange(i32, sw + FS_SEQ, s1, s1) : Atomics.load(i32, sw + FS_SEQ);
      if (s2 !== s1) continue; // rewritten while we read: the lap check above decides next
      this.next = (this.next + 1) | 0;
      handled++;
      this.onChange(rec);
    }
    return handled;
  }

  /** Sleeps until a writer notifies, or PARK_MS pass. */
  private async park(): Promise<void> {
    const { i32, g } = this.v;
    const notify = feedWord(g, F_NOTIFY);
    // Ordering: raise `parked` before the last look at head (see publishChange).
    Atomics.add(i32, feedWord(g, F_PARKED), 1);
    try {
      const seen = Atomics.load(i32, notify);
      if (((Atomics.load(i32, feedWord(g, F_HEAD)) - this.next) | 0) > 0 && this.stalledSince === 0) return;
      const r = Atomics.waitAsync(i32, notify, seen, PARK_MS);
      if (r.async) {
        // A pending waitAsync does not keep the event loop alive (docs/design.md §7); this timer does.
        const keepAlive = setTimeout(() => {}, PARK_MS + 10);
        await r.value;
        clearTimeout(keepAlive);
      }
    } finally {
      Atomics.sub(i32, feedWord(g, F_PARKED), 1);
    }
  }
}
