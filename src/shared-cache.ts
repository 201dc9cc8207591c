import { threadId } from 'node:worker_threads';
import { BadHandleError, ClosedError, NotOwnerError } from './errors.ts';
import { CommandContext } from './commands/context.ts';
import { type CacheEntry, get, getBytes, getEntry, getMany, has, ttl } from './commands/read.ts';
import { scan, type ScanOptions, type ScanPage } from './commands/scan.ts';
import { type CacheStats, cacheStats } from './commands/stats.ts';
import { decr, del, expire, flush, incr, persist, set, type SetOptions, setMany, setWith } from './commands/write.ts';
import { EntryResult, entryVersion } from './commands/entry.ts';
import { s3fifo } from './memory/eviction.ts';
import { advanceClock, Maintenance } from './memory/maintenance.ts';
import { type ResolvedOptions, resolveOptions, type SharedCacheOptions } from './options.ts';
import { findThreadBlock, type RepairReport, repairDeadThread } from './table/repair.ts';
import { SharedView } from './table/shared-view.ts';
import { planGeometry } from './table/sizing.ts';
import { Table } from './table/table.ts';
import { refuseUnknownOptions } from './util/known-options.ts';

export type { CacheEntry, CacheStats, ScanOptions, ScanPage, SetOptions };
export type { ThreadStats } from './commands/stats.ts';

const HANDLE_NAMES: readonly (keyof SharedCacheHandle)[] = ['kind', 'buffer'];

/**
 * What another thread needs to attach to a cache: structured-clonable, so it can travel
 * in `workerData` or `postMessage`. The buffer's header carries the geometry.
 */
export interface SharedCacheHandle {
  readonly kind: 'sabcache';
  readonly buffer: SharedArrayBuffer;
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
  /**
   * This thread's command context: front ends (the server's routes) call the command layer
   * (src/commands/) with it.
   */
  readonly commands: CommandContext;
  /** This thread's table. @internal (persistence and tests; front ends use {@link commands}) */
  readonly table: Table;
  private readonly view: SharedView;
  private readonly maintenance: Maintenance | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly limitBytes: number;
  private closed = false;
  private readonly onExit = (): void => this.close();
  /** The result of the last write, for the version text set returns. */
  private readonly written = new EntryResult();

  private constructor(view: SharedView, options: ResolvedOptions | undefined, limitBytes: number) {
    this.view = view;
    this.handle = { kind: 'sabcache', buffer: view.sab };
    this.table = new Table(view, threadId, s3fifo);
    this.commands = new CommandContext(this.table);
    if (options) this.table.now = options.now;
    this.limitBytes = limitBytes;
    if (options) {
      this.maintenance = new Maintenance(this.table);
      this.table.growsIndex = true;
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

  private check(): CommandContext {
    if (this.closed) throw new ClosedError();
    return this.commands;
  }

  /**
   * The value of `key` decoded as UTF-8, or undefined when absent or expired.
   * @param key - a string, or its UTF-8 bytes (the same key).
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`), KeyTooLargeError (`SABCACHE_ERR_KEY_TOO_LARGE`),
   *   ClosedError (`SABCACHE_ERR_CLOSED`).
   */
  get(key: string | Uint8Array): string | undefined {
    return get(this.check(), key);
  }

  /**
   * The value of `key` as a Uint8Array this thread owns (a copy; later writes do not change
   * it), or undefined. Small values are views into a shared per-thread slab, as Node's
   * `Buffer.allocUnsafe` results are: use `byteOffset`/`length`, not the whole `.buffer`.
   * @throws as {@link SharedCache.get}.
   */
  getBytes(key: string | Uint8Array): Uint8Array | undefined {
    return getBytes(this.check(), key);
  }

  /**
   * Whether `key` is present and not expired.
   * @throws as {@link SharedCache.get}.
   */
  has(key: string | Uint8Array): boolean {
    return has(this.check(), key);
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
    const cx = this.check();
    if (options === undefined) set(cx, key, value, 0, this.written);
    else if (!setWith(cx, key, value, options, this.written)) return undefined;
    return entryVersion(cx, this.written);
  }

  /**
   * The value of `key` with its version, TTL and type, or undefined when absent or expired.
   * @throws as {@link SharedCache.get}.
   */
  getEntry(key: string | Uint8Array): CacheEntry | undefined {
    return getEntry(this.check(), key);
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
    return incr(this.check(), key, by);
  }

  /** Subtracts `by` (default 1); as {@link SharedCache.incr}. */
  decr(key: string | Uint8Array, by: number | bigint = 1): number | bigint {
    return decr(this.check(), key, by);
  }

  /**
   * Gives a present key a new TTL, in seconds; 0 deletes it (as Redis EXPIRE). The value
   * and its version stay. Returns whether the key was present.
   * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`), the key errors of {@link SharedCache.get}.
   */
  expire(key: string | Uint8Array, ttlSeconds: number): boolean {
    return expire(this.check(), key, ttlSeconds);
  }

  /** Removes a present key's TTL (it never expires). Returns whether the key was present. */
  persist(key: string | Uint8Array): boolean {
    return persist(this.check(), key);
  }

  /** Whole seconds until `key` expires (N right after a TTL of N), -1 if it never does, -2 if absent (Redis TTL). */
  ttl(key: string | Uint8Array): number {
    return ttl(this.check(), key);
  }

  /** The values of `keys` decoded as UTF-8, undefined where absent; each read on its own. */
  getMany(keys: readonly (string | Uint8Array)[]): (string | undefined)[] {
    return getMany(this.check(), keys);
  }

  /**
   * Stores each entry as {@link SharedCache.set} would, one after the other (each atomic on
   * its own, not all together). Returns the new versions.
   * @throws as {@link SharedCache.set}; BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an
   *   entry field other than `key`, `value` and `ttlSeconds`.
   */
  setMany(entries: readonly { key: string | Uint8Array; value: string | Uint8Array; ttlSeconds?: number }[]): string[] {
    return setMany(this.check(), entries);
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
    return scan(this.check(), options);
  }

  /** Removes every key. Returns how many were removed. */
  flush(): number {
    return flush(this.check());
  }

  /**
   * Removes `key`. Returns true if a live (unexpired) entry was removed.
   * @throws as {@link SharedCache.get}.
   */
  delete(key: string | Uint8Array): boolean {
    return del(this.check(), key);
  }

  /** Counters and memory figures, summed over every thread. Works after close too. */
  stats(): CacheStats {
    return cacheStats(this.commands, this.limitBytes);
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
