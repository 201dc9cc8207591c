import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSnapshot, writeSnapshot } from '../../src/persist/snapshot-files.ts';
import { BLOCK_HEADER_BYTES, scanSnapshot, SNAPSHOT_HEADER_BYTES } from '../../src/persist/snapshot-format.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { checkIndex } from '../helpers/index-check.ts';

const quiet = () => {};
const MEMORY = 24 << 20;
const KEYS = 60_000; // about 7 MB of entries: 7 blocks of 1 MiB
const valueOf = (i: number) => `value-${i}-${'x'.repeat(i % 90)}`;

/** Runs `fn` with a fresh temp directory, removed afterwards. */
function inTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-load-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with a fresh cache of MEMORY bytes, closed afterwards. */
function withCache(fn: (c: SharedCache) => void): void {
  const c = SharedCache.create({ memoryBytes: MEMORY, maxValueBytes: 64 << 10 });
  try {
    fn(c);
  } finally {
    c.close();
  }
}

/**
 * A cache written KEYS keys, snapshotted into `dir`: the snapshot's path and the keys it
 * holds (all but the rare few a full bucket evicted).
 */
function snapshotOfManyKeys(dir: string): { path: string; held: number[] } {
  const held: number[] = [];
  let path = '';
  withCache((a) => {
    for (let i = 0; i < KEYS; i++) a.set(`key:${i}`, valueOf(i));
    for (let i = 0; i < KEYS; i++) if (a.get(`key:${i}`) !== undefined) held.push(i);
    assert.ok(held.length > KEYS * 0.99);
    path = writeSnapshot(a.table, dir, 5).path;
  });
  return { path, held };
}

/**
 * Every key of `held` is in `b` with its value, but for the rare few a full bucket of this
 * cache (hashed with its own seed) had to evict: as many as it counts evictions.
 */
function checkLoaded(b: SharedCache, held: number[]): void {
  let missing = 0;
  for (const i of held) {
    const v = b.get(`key:${i}`);
    if (v === undefined) missing++;
    else assert.equal(v, valueOf(i), `key:${i}`);
  }
  const s = b.stats();
  assert.equal(missing, s.evictions);
  assert.equal(s.items, held.length - s.evictions);
  assert.ok(missing < held.length * 0.01);
  // The segments' live bytes are exactly the linked entries' sizes (restoreEntries adds
  // them once a group, from every loading thread).
  const check = checkIndex(b.table.v);
  assert.deepEqual([check.oddBuckets, check.lockedBuckets, check.foreignWays], [0, 0, 0]);
  assert.equal(s.liveBytes, check.linkedBytes);
}

/** Threads attached to `c` (its own included). */
const attachedThreads = (c: SharedCache) => c.stats().threads.filter((t) => t.attached).length;

test('helper threads alone store every block, and the load returns only once the last entry is in', () => inTempDir((dir) => {
  const { held } = snapshotOfManyKeys(dir);
  withCache((b) => {
    const before = attachedThreads(b);
    // The calling thread only waits: if it returned before the helpers were done, keys
    // would be missing below.
    const r = loadSnapshot(b, dir, quiet, { threads: 3, parallelMinBytes: 0, callerLoads: false });
    assert.equal(r.helperThreads, 2);
    const fd = openSync(r.path!, 'r');
    const blocks = scanSnapshot(fd).blocks.length;
    closeSync(fd);
    assert.ok(blocks >= 3, `blocks in the file: ${blocks}`);
    assert.equal(r.helperBlocks, blocks, 'the helpers stored every block');
    assert.equal(r.stored, held.length);
    checkLoaded(b, held);
    assert.equal(attachedThreads(b), before, 'the helpers detached before the load returned');
  });
}));

test('the calling thread and a helper share the blocks; every entry is stored once', () => inTempDir((dir) => {
  const { held } = snapshotOfManyKeys(dir);
  for (let round = 0; round < 3; round++) {
    withCache((b) => {
      const r = loadSnapshot(b, dir, quiet, { threads: 2, parallelMinBytes: 0 });
      assert.equal(r.helperThreads, 1);
      assert.equal(r.stored, held.length);
      checkLoaded(b, held);
    });
  }
}));

test('a bad block met by a helper refuses the file; what it stored is flushed after every helper stopped, and the previous snapshot loads', () => inTempDir((dir) => {
  let good = '';
  withCache((a) => {
    a.set('k', 'old');
    good = writeSnapshot(a.table, dir, 5).path;
  });
  const bad = snapshotOfManyKeys(dir).path;
  // Damage the last block: the helpers store the blocks before it first.
  const d = readFileSync(bad);
  d[d.length - 24 - 100] ^= 0x40;
  writeFileSync(bad, d);
  withCache((b) => {
    const lines: string[] = [];
    const r = loadSnapshot(b, dir, (l) => lines.push(l), { threads: 3, parallelMinBytes: 0, callerLoads: false });
    assert.equal(r.path, good);
    assert.equal(r.refused[0].path, `${bad}.damaged`);
    assert.match(r.refused[0].reason, /block at byte \d+: checksum mismatch/);
    assert.match(lines[0], /refusing snapshot .* checksum mismatch; renamed it to .*\.damaged; trying the previous one/);
    assert.equal(b.get('k'), 'old');
    assert.equal(b.stats().items, 1, 'nothing of the refused file is left');
  });
}));

test('a file cut inside a block is refused by the scan before anything of it is stored', () => inTempDir((dir) => {
  const bad = snapshotOfManyKeys(dir).path;
  const d = readFileSync(bad);
  writeFileSync(bad, d.subarray(0, SNAPSHOT_HEADER_BYTES + BLOCK_HEADER_BYTES + (3 << 20)));
  withCache((b) => {
    const r = loadSnapshot(b, dir, quiet, { threads: 2, parallelMinBytes: 0 });
    assert.equal(r.path, undefined);
    assert.match(r.refused[0].reason, /^truncated/);
    assert.equal(r.helperThreads, 0, 'no helper is started for a file the scan refused');
    assert.equal(b.stats().sets, 0, 'no entry was stored');
  });
}));

test('when no helper can attach (every thread block taken), the calling thread loads the file itself', () => inTempDir((dir) => {
  const { held } = snapshotOfManyKeys(dir);
  withCache((b) => {
    const extra: SharedCache[] = [];
    try {
      for (;;) {
        try {
          extra.push(SharedCache.attach(b.handle));
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'SABCACHE_ERR_TOO_MANY_THREADS');
          break;
        }
      }
      // Helpers only: without the fallback this would wait for them for ever.
      const r = loadSnapshot(b, dir, quiet, { threads: 2, parallelMinBytes: 0, callerLoads: false });
      assert.equal(r.helperBlocks, 0);
      assert.equal(r.stored, held.length);
      checkLoaded(b, held);
    } finally {
      for (const c of extra) c.close();
    }
  });
}));

test('threads must be a positive integer', () => withCache((b) => {
  assert.throws(() => loadSnapshot(b, tmpdir(), quiet, { threads: 0 }), { code: 'SABCACHE_ERR_BAD_OPTION', message: /threads/ });
}));
