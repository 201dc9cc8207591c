import { threadId } from 'node:worker_threads';
import { BadHandleError, BadOptionError, BadTtlError, ClosedError, NotOwnerError } from './errors.ts';
import { advanceClock, Maintenance } from './memory/maintenance.ts';
import { currentSmallTarget } from './memory/eviction.ts';
import { type ResolvedOptions, resolveOptions, type SharedCacheOptions } from './options.ts';
import {
  C_COMPACTED_ITEMS, C_COMPACTED_SEGMENTS, C_DELETES, C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, C_GHOST_MAIN_INSERTS, C_PROMOTED, C_REINSERTED, C_EVICTED_ITEMS, C_EVICTED_SEGMENTS, C_EXPIRED_ITEMS, C_HITS, C_LINKED, C_MISSES, C_REQUESTS, C_SETS,
  C_UNLINKED, metadataBytes, S_LIVE_BYTES, S_STATE, S_WRITE_OFFSET, SEG_FREE, SEG_STATE_MASK, T_STATE, T_WORKER_THREAD_ID,
  THREAD_ATTACHED, THREAD_BLOCK_COUNT, TYPE_INTEGER, TYPE_STRING, segmentRowWord, threadBlockWord, threadCountersF64,
} from './table/layout.ts';
import { findThreadBlock, type RepairReport, repairDeadThread } from './table/repair.ts';
import { countSegments, type SegmentCounts } from './table/segments.ts';
import { SharedView } from './table/shared-view.ts';
import { planGeometry } from './table/sizing.ts';
import { COND_ALWAYS, COND_IF_ABSENT, COND_IF_PRESENT, COND_IF_VERSION, MAX_TTL_SECONDS, remainingTtlSeconds, Table } from './table/table.ts';
import { formatVersion, parseVersion } from './table/version.ts';
import { refuseUnknownOptions } from './util/known-options.ts';

const SET_OPTION_NAMES: readonly (keyof SetOptions)[] = ['ttlSeconds', 'ifVersion', 'ifAbsent', 'ifPresent'];
const SCAN_OPTION_NAMES: readonly (keyof ScanOptions)[] = ['prefix', 'cursor', 'count'];
const ENTRY_NAMES = ['key', 'value', 'ttlSeconds'] as const;
const HANDLE_NAMES: readonly (keyof SharedCacheHandle)[] = ['kind', 'buffer'];

/**
 * What another thread needs to attach to a cache: structured-clonable, so it can travel
 * in `workerData` or `postMessage`. The buffer's header carries the geometry.
 */
export interface SharedCacheHandle {
  readonly kind: 'sabcache';
  readonly buffer: SharedArrayBuffer;
}

/** Options of {@link SharedCache.set}. At most one of the conditions may be given. */
export interface SetOptions {
  /** Time to live, in whole seconds; 0 or absent = no expiry. */
  ttlSeconds?: number;
  /** Store only if the key's current version is this one (compare-and-swap; HTTP `If-Match`). */
  ifVersion?: string;
  /** Store only if the key is absent or expired (Redis NX; HTTP `If-None-Match: *`). */
  ifAbsent?: boolean;
  /** Store only if the key is present (Redis XX). */
  ifPresent?: boolean;
}

/** One entry, as {@link SharedCache.getEntry} returns it. */
export interface CacheEntry {
  /** The value's bytes (a copy this thread owns). */
  value: Uint8Array;
  /** The entry's version: pass it as `ifVersion` to compare-and-swap. */
  version: string;
  /** Whole seconds until it expires (as Redis TTL: N right after `ttlSeconds: N`), or -1 if it never does. */
  ttlSeconds: number;
  /** How it was stored: `bytes`, `string` or `integer` (by incr/decr). */
  type: 'bytes' | 'string' | 'integer';
}

/** Options of {@link SharedCache.scan}. */
export interface ScanOptions {
  /** Only keys starting with this (UTF-8). @default "" */
  prefix?: string;
  /** Where to go on: the cursor a previous call returned; "0" starts. @default "0" */
  cursor?: string;
  /** About how many keys to return per call (a hint, as Redis COUNT). @default 100 */
  count?: number;
}

/** One page of {@link SharedCache.scan}. */
export interface ScanPage {
  keys: string[];
  /** Pass back to continue; "0" when the walk is complete. */
  cursor: string;
}

/** Per-thread counters, one row per attached thread block. */
export interface ThreadStats {
  /** Thread block index (0..63). */
  thread: number;
  /** `worker_threads.threadId` of the thread attached there. */
  workerThreadId: number;
  attached: boolean;
  requests: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
}

/** The stats that are sums of one per-thread counter (layout.ts C_…), by name. */
const TOTALS = [
  ['hits', C_HITS], ['misses', C_MISSES], ['sets', C_SETS], ['deletes', C_DELETES], ['evictions', C_EVICTED_ITEMS],
  ['expired', C_EXPIRED_ITEMS], ['evictedSegments', C_EVICTED_SEGMENTS], ['promotions', C_PROMOTED],
  ['reinsertions', C_REINSERTED], ['ghostHits', C_GHOST_HITS], ['ghostInserts', C_GHOST_INSERTS],
  ['ghostMainHits', C_GHOST_MAIN_HITS], ['ghostMainInserts', C_GHOST_MAIN_INSERTS],
  ['compactedSegments', C_COMPACTED_SEGMENTS], ['compactedItems', C_COMPACTED_ITEMS],
] as const;
type TotalName = (typeof TOTALS)[number][0];

/** A snapshot of the cache's counters. Counters count since the cache was created. */
export interface CacheStats {
  /** Live entries in the index (expired ones not yet swept included). */
  items: number;
  /** Bytes in use: metadata plus the written part of every non-free segment. */
  memoryUsedBytes: number;
  /** The configured limit, in bytes; the buffer is never larger. */
  memoryLimitBytes: number;
  /** Size of the shared buffer, in bytes (≤ memoryLimitBytes). */
  bufferBytes: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  /** Entries removed to make room (segment eviction and full-bucket eviction). */
  evictions: number;
  /** Expired entries removed. */
  expired: number;
  /** Whole segments evicted. */
  evictedSegments: number;
  /** Entries copied from the small queue into the main queue at eviction (read since written). */
  promotions: number;
  /** Entries of an evicted main-queue segment copied forward inside main (read again). */
  reinsertions: number;
  /** New keys found in the ghost table, written straight into the main queue. */
  ghostHits: number;
  /** Fingerprints added to the ghost table (entries dropped from either queue). */
  ghostInserts: number;
  /** The part of `ghostHits` on keys the main queue had dropped (the rest the small queue had). */
  ghostMainHits: number;
  /** The part of `ghostInserts` left by the main queue. */
  ghostMainInserts: number;
  /** Segments freed by compaction. */
  compactedSegments: number;
  /** Entries copied forward by compaction. */
  compactedItems: number;
  /** Bytes of entries the index points at (key, value, header and padding), in bytes. */
  liveBytes: number;
  /** Bytes written into segments now in use (live plus overwritten, deleted and expired), in bytes. */
  writtenBytes: number;
  /**
   * Segment counts by state (`free`, `active`, `sealed`, `evicting`), segments in use by
   * queue (`small`, `main`), the small queue's adaptive target (`smallTarget`, segments),
   * the total and the segment size in bytes.
   */
  segments: SegmentCounts & { smallTarget: number; total: number; segmentBytes: number };
  bucketCount: number;
  threads: ThreadStats[];
}

/**
 * A cache in one SharedArrayBuffer, shared by every thread that attaches to it.
 *
 * The thread that calls {@link SharedCache.create} is the owner: it runs maintenance
 * (eviction, expiry, the shared clock) on a timer that does not keep the process alive.
 * Other threads call {@link SharedCache.attach} with the {@link SharedCache.handle}.
 *
 * Each thread must use its own `SharedCache` object (create or attach); the object is not
 * itself shared. Reads never block; writes lock one bucket briefly.
 *
 * @example
 * ```ts
 * const cache = SharedCache.create({ memoryBytes: '256mb' });
 * new Worker(file, { workerData: { cache: cache.handle } });
 * // in the worker:
 * const cache = SharedCache.attach(workerData.cache);
 * cache.set('user:1', 'alice', { ttlSeconds: 60 });
 * cache.get('user:1'); // 'alice'
 * ```
 */
export class SharedCache {
  /** Pass this to other threads; see {@link SharedCache.attach}. */
  readonly handle: SharedCacheHandle;
  /** The thread's table (internal: the server uses it for zero-copy reads). */
  readonly table: Table;
  private readonly view: SharedView;
  private readonly maintenance: Maintenance | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly limitBytes: number;
  private closed = false;
  private readonly onExit = (): void => this.close();
  /** Scratch for parsed versions. */
  private readonly version = new Int32Array(2);

  private constructor(view: SharedView, options: ResolvedOptions | undefined, limitBytes: number) {
    this.view = view;
    this.handle = { kind: 'sabcache', buffer: view.sab };
    this.table = new Table(view, threadId);
    if (options) this.table.now = options.now;
    this.limitBytes = limitBytes;
    if (options) {
      const lowWatermark = Math.max(1, Math.ceil(view.g.segmentCount * options.freeSegmentsFraction));
      this.maintenance = new Maintenance(this.table, lowWatermark);
      this.timer = setInterval(() => this.maintenance!.tick(), options.maintenanceIntervalMs);
      this.timer.unref();
    }
    // A thread that ends normally gives its thread block back.
    process.once('exit', this.onExit);
  }

  /**
   * Creates a cache; the calling thread becomes its owner.
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming the bad option.
   */
  static create(options: SharedCacheOptions = {}): SharedCache {
    const o = resolveOptions(options);
    const g = planGeometry(o);
    const view = SharedView.format(g, o.maxKeyBytes, o.maxValueBytes, o.hashSeeds);
    advanceClock(view.i32, o.now());
    return new SharedCache(view, o, o.memoryBytes);
  }

  /**
   * Attaches this thread to a cache created elsewhere.
   * @throws BadHandleError (`SABCACHE_ERR_BAD_HANDLE`) if `handle` is not a sabcache handle.
   * @throws TooManyThreadsError (`SABCACHE_ERR_TOO_MANY_THREADS`) if 64 threads are attached.
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) if the handle carries fields of its own
   *   (options such as `memoryBytes` belong to `create`; an attached cache has the creator's).
   */
  static attach(handle: SharedCacheHandle): SharedCache {
    if (!handle || handle.kind !== 'sabcache' || !(handle.buffer instanceof SharedArrayBuffer)) {
      throw new BadHandleError('expected the handle of a SharedCache (cache.handle)');
    }
    refuseUnknownOptions('SharedCache.attach (its handle)', handle, HANDLE_NAMES);
    const view = new SharedView(handle.buffer);
    return new SharedCache(view, undefined, view.sab.byteLength);
  }

  /** Whether this object created the cache (and runs its maintenance). */
  get isOwner(): boolean {
    return this.maintenance !== undefined;
  }

  private check(): Table {
    if (this.closed) throw new ClosedError();
    return this.table;
  }

  /**
   * The value of `key` decoded as UTF-8, or undefined when absent or expired.
   * @param key - a string, or its UTF-8 bytes (the same key).
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`), KeyTooLargeError (`SABCACHE_ERR_KEY_TOO_LARGE`),
   *   ClosedError (`SABCACHE_ERR_CLOSED`).
   */
  get(key: string | Uint8Array): string | undefined {
    return this.check().getString(key);
  }

  /**
   * The value of `key` as a Uint8Array this thread owns (a copy; later writes do not change
   * it), or undefined. Small values are views into a shared per-thread slab, as Node's
   * `Buffer.allocUnsafe` results are: use `byteOffset`/`length`, not the whole `.buffer`.
   * @throws as {@link SharedCache.get}.
   */
  getBytes(key: string | Uint8Array): Uint8Array | undefined {
    return this.check().getBytes(key);
  }

  /**
   * Whether `key` is present and not expired.
   * @throws as {@link SharedCache.get}.
   */
  has(key: string | Uint8Array): boolean {
    return this.check().has(key);
  }

  /**
   * Stores `value` under `key`, replacing any previous value, unless a condition in
   * `options` says otherwise (decided atomically). A string is stored as its UTF-8 bytes.
   * When memory is full, the oldest data is evicted to make room. Returns the new version,
   * or undefined when a condition failed (nothing was stored).
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`), KeyTooLargeError (`SABCACHE_ERR_KEY_TOO_LARGE`),
   *   BadValueError (`SABCACHE_ERR_BAD_VALUE`), ValueTooLargeError (`SABCACHE_ERR_VALUE_TOO_LARGE`),
   *   BadTtlError (`SABCACHE_ERR_BAD_TTL`), OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`, only
   *   when every segment is some thread's active segment), ClosedError (`SABCACHE_ERR_CLOSED`),
   *   BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an option name it does not know or two conditions.
   */
  set(key: string | Uint8Array, value: string | Uint8Array, options?: SetOptions): string | undefined {
    const t = this.check();
    if (options === undefined) {
      t.set(key, value);
      return formatVersion(t.versionEpoch, t.lastVersion);
    }
    refuseUnknownOptions('set', options, SET_OPTION_NAMES);
    const { ttlSeconds = 0, ifVersion, ifAbsent, ifPresent } = options;
    let cond = COND_ALWAYS;
    if (ifVersion !== undefined) cond = COND_IF_VERSION;
    if (ifAbsent) cond = cond === COND_ALWAYS ? COND_IF_ABSENT : -1;
    if (ifPresent) cond = cond === COND_ALWAYS ? COND_IF_PRESENT : -1;
    if (cond < 0) throw new BadOptionError('ifVersion/ifAbsent/ifPresent', 'give at most one condition');
    if (cond === COND_IF_VERSION && !parseVersion(String(ifVersion), this.version)) {
      t.codec.encode(key); // a malformed version matches nothing, but the key is still checked
      return undefined;
    }
    if (!t.set(key, value, ttlSeconds, cond, this.version[0], this.version[1])) return undefined;
    return formatVersion(t.versionEpoch, t.lastVersion);
  }

  /**
   * The value of `key` with its version, TTL and type, or undefined when absent or expired.
   * @throws as {@link SharedCache.get}.
   */
  getEntry(key: string | Uint8Array): CacheEntry | undefined {
    const t = this.check();
    const value = t.getBytes(key);
    if (value === undefined) return undefined;
    const exp = t.lastExpireAt;
    return {
      value,
      version: formatVersion(t.versionEpoch, t.lastVersion),
      ttlSeconds: remainingTtlSeconds(exp, this.table.now),
      type: t.lastValueType === TYPE_STRING ? 'string' : t.lastValueType === TYPE_INTEGER ? 'integer' : 'bytes',
    };
  }

  /**
   * Adds `by` to the 64-bit signed integer under `key` (an absent key counts as 0) and
   * returns the result, atomically, keeping the key's TTL (Redis INCRBY). The result is a
   * number when it is a safe integer, else a bigint.
   * @param by - a safe integer or an int64 bigint. @default 1
   * @throws NotIntegerError (`SABCACHE_ERR_NOT_INTEGER`) if the value is not a decimal int64;
   *   OverflowError (`SABCACHE_ERR_OVERFLOW`) if the result leaves the int64 range;
   *   BadValueError (`SABCACHE_ERR_BAD_VALUE`) for a bad `by`; the key errors of {@link SharedCache.get}.
   */
  incr(key: string | Uint8Array, by: number | bigint = 1): number | bigint {
    return this.check().incr(key, by);
  }

  /** Subtracts `by` (default 1); as {@link SharedCache.incr}. */
  decr(key: string | Uint8Array, by: number | bigint = 1): number | bigint {
    return this.check().incr(key, -by as number | bigint);
  }

  /**
   * Gives a present key a new TTL, in seconds; 0 deletes it (as Redis EXPIRE). The value
   * and its version stay. Returns whether the key was present.
   * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`), the key errors of {@link SharedCache.get}.
   */
  expire(key: string | Uint8Array, ttlSeconds: number): boolean {
    const t = this.check();
    if (ttlSeconds === 0) return t.delete(key);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new BadTtlError(`ttlSeconds must be a whole number from 0 to ${MAX_TTL_SECONDS}, got ${ttlSeconds}`);
    }
    return t.setTtl(key, ttlSeconds);
  }

  /** Removes a present key's TTL (it never expires). Returns whether the key was present. */
  persist(key: string | Uint8Array): boolean {
    return this.check().setTtl(key, 0);
  }

  /** Whole seconds until `key` expires (N right after a TTL of N), -1 if it never does, -2 if absent (Redis TTL). */
  ttl(key: string | Uint8Array): number {
    return this.check().ttl(key);
  }

  /** The values of `keys` decoded as UTF-8, undefined where absent; each read on its own. */
  getMany(keys: readonly (string | Uint8Array)[]): (string | undefined)[] {
    const t = this.check();
    return keys.map((k) => t.getString(k));
  }

  /**
   * Stores each entry as {@link SharedCache.set} would, one after the other (each atomic on
   * its own, not all together). Returns the new versions.
   * @throws as {@link SharedCache.set}; BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an
   *   entry field other than `key`, `value` and `ttlSeconds`.
   */
  setMany(entries: readonly { key: string | Uint8Array; value: string | Uint8Array; ttlSeconds?: number }[]): string[] {
    const t = this.check();
    return entries.map((e) => {
      refuseUnknownOptions('setMany entry', e, ENTRY_NAMES);
      t.set(e.key, e.value, e.ttlSeconds ?? 0);
      return formatVersion(t.versionEpoch, t.lastVersion);
    });
  }

  /**
   * Walks the keys, a page per call, without blocking writers (Redis SCAN). Guarantee: a
   * key present (and unexpired) for the whole walk, from cursor "0" until a call returns
   * "0", is returned exactly once; a key added, removed or expiring during the walk may or
   * may not be. Keys come in no particular order; a page may hold more or fewer than
   * `count` keys, even none, before the walk ends.
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for a malformed cursor or count, or
   *   an option name it does not know.
   */
  scan(options: ScanOptions = {}): ScanPage {
    const t = this.check();
    refuseUnknownOptions('scan', options, SCAN_OPTION_NAMES);
    const cursorText = options.cursor ?? '0';
    const cursor = /^\d{1,10}$/.test(cursorText) ? Number(cursorText) : -1;
    if (cursor < 0 || cursor >= t.v.g.bucketCount) throw new BadOptionError('cursor', `not a cursor from this cache: ${JSON.stringify(cursorText.slice(0, 20))}`);
    const count = options.count ?? 100;
    if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new BadOptionError('count', `must be from 1 to 100000, got ${count}`);
    const prefix = options.prefix ? new TextEncoder().encode(options.prefix) : null;
    const found: Uint8Array[] = [];
    const next = t.scan(cursor, count, prefix, found);
    const dec = new TextDecoder();
    return { keys: found.map((k) => dec.decode(k)), cursor: String(next) };
  }

  /** Removes every key. Returns how many were removed. */
  flush(): number {
    return this.check().flush();
  }

  /**
   * Removes `key`. Returns true if a live (unexpired) entry was removed.
   * @throws as {@link SharedCache.get}.
   */
  delete(key: string | Uint8Array): boolean {
    return this.check().delete(key);
  }

  /** Counters and memory figures, summed over every thread. Works after close too. */
  stats(): CacheStats {
    const v = this.view;
    const { i32, f64, g } = v;
    let items = 0;
    const totals = Object.fromEntries(TOTALS.map(([name]) => [name, 0])) as Record<TotalName, number>;
    const threads: ThreadStats[] = [];
    for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
      const c = threadCountersF64(t);
      const tw = threadBlockWord(t);
      // Counters are plain f64 stores by their own thread; a read here may be a moment old.
      items += f64[c + C_LINKED] - f64[c + C_UNLINKED];
      for (const [name, counter] of TOTALS) totals[name] += f64[c + counter];
      const attached = Atomics.load(i32, tw + T_STATE) === THREAD_ATTACHED;
      if (attached || f64[c + C_HITS] + f64[c + C_MISSES] + f64[c + C_SETS] + f64[c + C_REQUESTS] > 0) {
        threads.push({
          thread: t, workerThreadId: i32[tw + T_WORKER_THREAD_ID], attached, requests: f64[c + C_REQUESTS],
          hits: f64[c + C_HITS], misses: f64[c + C_MISSES], sets: f64[c + C_SETS], deletes: f64[c + C_DELETES],
        });
      }
    }
    let writtenBytes = 0;
    let liveBytes = 0;
    for (let s = 0; s < g.segmentCount; s++) {
      const row = segmentRowWord(g, s);
      if ((Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK) === SEG_FREE) continue;
      writtenBytes += Atomics.load(i32, row + S_WRITE_OFFSET);
      liveBytes += Atomics.load(i32, row + S_LIVE_BYTES);
    }
    return {
      items, memoryUsedBytes: metadataBytes(g) + writtenBytes, memoryLimitBytes: this.limitBytes, bufferBytes: v.sab.byteLength, ...totals,
      liveBytes, writtenBytes,
      segments: { ...countSegments(v), smallTarget: currentSmallTarget(v), total: g.segmentCount, segmentBytes: g.segmentBytes },
      bucketCount: g.bucketCount, threads,
    };
  }

  /**
   * Owner only: repairs what the dead thread `workerThreadId` (its `worker_threads`
   * threadId) left behind — a bucket it held locked, its active segment, its thread block.
   * Call it from the Worker's `exit` event; never for a thread that is still running.
   * Returns undefined if that thread had no block (it closed cleanly or never attached).
   * @throws NotOwnerError (`SABCACHE_ERR_NOT_OWNER`) on an attached cache.
   */
  repairThread(workerThreadId: number): RepairReport | undefined {
    if (!this.isOwner) throw new NotOwnerError('repairThread');
    const t = findThreadBlock(this.view, workerThreadId);
    return t < 0 ? undefined : repairDeadThread(this.view, t);
  }

  /** Owner only: runs one maintenance step now (normally it runs on a timer). */
  runMaintenance(): void {
    if (!this.maintenance) throw new NotOwnerError('runMaintenance');
    this.maintenance.tick();
  }

  /**
   * Detaches this thread: seals its active segment, gives its thread block back and, on the
   * owner, stops maintenance. The data stays for other threads. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    process.removeListener('exit', this.onExit);
    this.table.close();
  }
}
