/**
 * Chooses a table's geometry (bucket count, segment size, segment count) from the memory
 * limit and the size limits, so that the whole buffer fits in `memoryBytes`.
 *
 * @module
 */
import { BadOptionError } from '../errors.ts';
import { computeGeometry, entryBytes, type Geometry, INDEX_BYTES_PER_BUCKET, maxSegmentsForOffsetBits, SEGMENT_FIRST_OFFSET, WAYS } from './layout.ts';

/** Smallest segment size, in bytes. */
export const MIN_SEGMENT_BYTES = 4096;
/** Largest segment size, in bytes. */
export const MAX_SEGMENT_BYTES = 2 ** 30;
/** Segment size when memory allows TARGET_SEGMENTS of them (docs/design.md §2), in bytes. */
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;
/** Segments a cache has at least, when its memory allows segments of MIN_SEGMENT_BYTES or more. */
export const TARGET_SEGMENTS = 128;
/** Fewest segments a table may have: a few active writers plus something to evict. */
export const MIN_SEGMENTS = 4;
/** Largest buffer: Int32Array word indices over it must stay below 2^32. */
export const MAX_MEMORY_BYTES = 4 * 1024 ** 3 - 4096;
/** Target fraction of ways holding an item when items are `expectedItemBytes` large. */
const TARGET_LOAD = 0.7;

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** Inputs to {@link planGeometry}; all sizes in bytes. */
export interface SizingInput {
  memoryBytes: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Explicit segment size (power of two), or undefined to choose one from the memory. */
  segmentBytes?: number;
  expectedItemBytes: number;
}

/**
 * Plans the geometry. Segments are 1 MiB, halved while the cache would have fewer than
 * {@link TARGET_SEGMENTS} of them (down to {@link MIN_SEGMENT_BYTES}), whatever the largest
 * value: an entry larger than a segment takes a span of adjacent segments
 * (segment-writer.ts), so the segment size follows the memory only. Buckets: 1/0.7 ways per
 * item of `expectedItemBytes` that fits beside the index, exactly (any count works:
 * layout.bucketOf). Fuller buckets evict their own entries whatever their worth (at 87%
 * full this measurably raised the miss ratio); emptier ones cost index bytes per item.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming the option that cannot fit: the
 *   largest entry (maxKeyBytes + maxValueBytes) may take at most half the segments.
 */
export function planGeometry(input: SizingInput): Geometry {
  const { memoryBytes, maxKeyBytes, maxValueBytes, expectedItemBytes } = input;
  if (memoryBytes > MAX_MEMORY_BYTES) throw new BadOptionError('memoryBytes', `at most ${MAX_MEMORY_BYTES} bytes (4 GiB) in this version`);
  let segmentBytes = input.segmentBytes;
  if (segmentBytes === undefined) {
    segmentBytes = DEFAULT_SEGMENT_BYTES;
    while (segmentBytes / 2 >= MIN_SEGMENT_BYTES && memoryBytes / segmentBytes < TARGET_SEGMENTS) segmentBytes /= 2;
  } else if (!Number.isInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES || nextPow2(segmentBytes) !== segmentBytes) {
    throw new BadOptionError('segmentBytes', `must be a power of two from ${MIN_SEGMENT_BYTES} to ${MAX_SEGMENT_BYTES}, got ${segmentBytes}`);
  }
  const fixed = computeGeometry(0, segmentBytes, 0).segmentsOffset;
  // Items that fit once the index itself is paid for: each item costs its bytes in a
  // segment plus its share of a bucket, frequency bytes and ghost line.
  const itemsExpected = Math.max(1, (memoryBytes - fixed) / (expectedItemBytes + INDEX_BYTES_PER_BUCKET / (WAYS * TARGET_LOAD)));
  // A power of two: linear hashing spreads keys evenly only over a count that is one
  // (index-growth.ts), and growth doubles it. Rounded down: the index grows when items are smaller.
  let bucketCount = 2 ** Math.floor(Math.log2(Math.max(64, itemsExpected / (WAYS * TARGET_LOAD))));
  const largest = Math.ceil((entryBytes(maxKeyBytes, maxValueBytes) + SEGMENT_FIRST_OFFSET) / segmentBytes);
  // Shrink the index until at least MIN_SEGMENTS segments fit beside it.
  for (;;) {
    const base = computeGeometry(bucketCount, segmentBytes, 0);
    let segmentCount = Math.floor((memoryBytes - base.segmentsOffset) / segmentBytes);
    while (segmentCount > 0 && computeGeometry(bucketCount, segmentBytes, segmentCount).totalBytes > memoryBytes) segmentCount--;
    if (segmentCount >= MIN_SEGMENTS || bucketCount <= 64) {
      if (segmentCount < MIN_SEGMENTS) {
        throw new BadOptionError('memoryBytes', `${memoryBytes} bytes hold fewer than ${MIN_SEGMENTS} segments of ${segmentBytes} bytes; give more memory`);
      }
      if (largest > segmentCount / 2) {
        throw new BadOptionError('maxValueBytes', `an entry of maxKeyBytes + maxValueBytes (${maxKeyBytes} + ${maxValueBytes}) needs ${largest} of this cache's ${segmentCount} segments of ${segmentBytes} bytes, more than half; give more memory or a smaller maxValueBytes`);
      }
      return computeGeometry(bucketCount, segmentBytes, Math.min(segmentCount, maxSegmentsForOffsetBits(Math.log2(segmentBytes / 8))));
    }
    bucketCount = Math.max(64, Math.floor(bucketCount / 2));
  }
}
