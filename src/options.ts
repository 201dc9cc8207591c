/**
 * Options of {@link SharedCache.create}, validated once at construction; every error
 * names the option.
 *
 * @module
 */
import { BadOptionError } from './errors.ts';
import { KEY_BYTES_LIMIT } from './table/layout.ts';

/** Largest `maxKeyBytes` accepted (key lengths are u16 in an entry's header). */
export const MAX_KEY_BYTES_LIMIT = KEY_BYTES_LIMIT;
import { MAX_MEMORY_BYTES } from './table/sizing.ts';
import { refuseUnknownOptions } from './util/known-options.ts';
import { parseBytes } from './util/parse-bytes.ts';

/** Options of `SharedCache.create`. Sizes accept a number of bytes or text like `"256mb"`. */
export interface SharedCacheOptions {
  /**
   * Total size of the shared buffer, in bytes: index, metadata and all keys and values.
   * The cache never uses more. From 1 MiB to 4 GiB.
   * @default "64mb"
   */
  memoryBytes?: number | string;
  /** Largest key, in UTF-8 bytes (1 to 65535). @default 1024 */
  maxKeyBytes?: number | string;
  /** Largest value, in bytes. @default "1mb" */
  maxValueBytes?: number | string;
  /**
   * Segment size, in bytes: a power of two from 4 KiB to 1 GiB, large enough for one entry
   * @default chosen from memory: 1 MiB, halved until there are 128 segments (values larger
   *   than a segment take a span of segments)
   */
  segmentBytes?: number | string;
  /**
   * Entry size the index starts sized for, in bytes (key + value + 12 bytes of header,
   * rounded up to 8): items of this size fill memory at about 70% of its ways. The index
   * grows by itself when smaller items fill it (docs/design.md §2 "Index growth"), so the
   * default starts it small. @default 512
   */
  expectedItemBytes?: number;
  /** How often the owner runs maintenance (clock, eviction, expiry sweep), in milliseconds. @default 50 */
  maintenanceIntervalMs?: number;
  /**
   * The owner's time source, in milliseconds since the Unix epoch: it sets TTL deadlines and
   * the shared clock that expiry compares against. For simulations and tests that replay
   * time (as lru-cache's `perf` option); it applies to the creating thread's object only, so
   * use it in single-threaded runs. @default Date.now
   */
  now?: () => number;
  /**
   * Seeds of the two hash lanes (the one that picks a key's bucket, the one that gives its
   * tag), as two integers from -2^31 to 2^32 - 1 (taken modulo 2^32). Random by default,
   * so that clients cannot choose keys that all land in one bucket (hash flooding); keep
   * them as secret as the data. The server gives a new cache the seeds of the snapshot it
   * is about to load (`newestSnapshotHashSeeds`): the snapshot is in the old index's bucket
   * order, and with the same seeds the load then visits the new index in order too, at any
   * `memoryBytes` (bench:persist).
   * @default two random 32-bit integers
   */
  hashSeeds?: readonly [number, number];
}

/** Options after validation, all in bytes / milliseconds. */
export interface ResolvedOptions {
  memoryBytes: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  segmentBytes: number | undefined;
  expectedItemBytes: number;
  maintenanceIntervalMs: number;
  now: () => number;
  hashSeeds: readonly [number, number] | undefined;
}

const MIN_MEMORY_BYTES = 1024 * 1024;

/** Every name {@link SharedCacheOptions} knows. */
const OPTION_NAMES: readonly (keyof SharedCacheOptions)[] = [
  'memoryBytes', 'maxKeyBytes', 'maxValueBytes', 'segmentBytes', 'expectedItemBytes', 'maintenanceIntervalMs', 'now', 'hashSeeds',
];

/**
 * Validates options and fills defaults.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming the first bad option, or an
 *   unknown one with the nearest valid name.
 */
export function resolveOptions(o: SharedCacheOptions = {}): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new BadOptionError('options', 'expected an object');
  refuseUnknownOptions('SharedCache.create', o, OPTION_NAMES);
  const memoryBytes = parseBytes('memoryBytes', o.memoryBytes ?? '64mb');
  if (memoryBytes < MIN_MEMORY_BYTES || memoryBytes > MAX_MEMORY_BYTES) {
    throw new BadOptionError('memoryBytes', `must be from ${MIN_MEMORY_BYTES} to ${MAX_MEMORY_BYTES} bytes, got ${memoryBytes}`);
  }
  const maxKeyBytes = parseBytes('maxKeyBytes', o.maxKeyBytes ?? 1024);
  if (maxKeyBytes < 1 || maxKeyBytes > KEY_BYTES_LIMIT) throw new BadOptionError('maxKeyBytes', `must be from 1 to ${KEY_BYTES_LIMIT}, got ${maxKeyBytes}`);
  const maxValueBytes = parseBytes('maxValueBytes', o.maxValueBytes ?? '1mb');
  if (maxValueBytes < 1 || maxValueBytes > 2 ** 30) throw new BadOptionError('maxValueBytes', `must be from 1 to ${2 ** 30}, got ${maxValueBytes}`);
  const segmentBytes = o.segmentBytes === undefined ? undefined : parseBytes('segmentBytes', o.segmentBytes);
  const expectedItemBytes = o.expectedItemBytes ?? 512;
  if (!Number.isInteger(expectedItemBytes) || expectedItemBytes < 24) throw new BadOptionError('expectedItemBytes', `must be a whole number ≥ 24, got ${expectedItemBytes}`);
  const maintenanceIntervalMs = o.maintenanceIntervalMs ?? 50;
  if (!Number.isFinite(maintenanceIntervalMs) || maintenanceIntervalMs < 1 || maintenanceIntervalMs > 10_000) {
    throw new BadOptionError('maintenanceIntervalMs', `must be from 1 to 10000, got ${maintenanceIntervalMs}`);
  }
  if (o.now !== undefined && typeof o.now !== 'function') throw new BadOptionError('now', 'must be a function returning milliseconds since the epoch');
  const now = o.now ?? Date.now;
  const seeds = o.hashSeeds;
  const isSeed = (x: unknown) => Number.isInteger(x) && (x as number) >= -(2 ** 31) && (x as number) < 2 ** 32;
  if (seeds !== undefined && !(Array.isArray(seeds) && seeds.length === 2 && isSeed(seeds[0]) && isSeed(seeds[1]))) {
    throw new BadOptionError('hashSeeds', `must be two integers from -2^31 to 2^32 - 1, got ${JSON.stringify(seeds)}`);
  }
  const hashSeeds = seeds === undefined ? undefined : [seeds[0] | 0, seeds[1] | 0] as const;
  return { memoryBytes, maxKeyBytes, maxValueBytes, segmentBytes, expectedItemBytes, maintenanceIntervalMs, now, hashSeeds };
}
