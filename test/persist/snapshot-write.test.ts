import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSnapshot, writeSnapshot } from '../../src/persist/snapshot-files.ts';
import { abandonSnapshotWrite, helpSnapshotWrite, newSnapshotWriteJob } from '../../src/persist/snapshot-write.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

const KEYS = 50_000;

function filled(): SharedCache {
  const cache = SharedCache.create({ memoryBytes: 32 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  for (let i = 0; i < KEYS; i++) cache.set(`key:${i}`, `value-${i}-${'v'.repeat(i % 200)}`);
  return cache;
}

function assertLoadsWhole(dir: string, cache: SharedCache): void {
  const into = SharedCache.create({ memoryBytes: 32 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  try {
    loadSnapshot(into, dir, () => {}, { threads: 1 });
    assert.equal(into.stats().items, cache.stats().items);
    for (let i = 0; i < KEYS; i += 97) assert.equal(into.get(`key:${i}`), cache.get(`key:${i}`), `key:${i}`);
  } finally {
    into.close();
  }
}

test('a helper that joins the walk from the start copies segments, and the file holds every entry once', async () => {
  const cache = filled();
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-write-'));
  try {
    const job = newSnapshotWriteJob(cache.table.v.g, 1);
    const helper = startFixture('snapshot-helper-worker', { handle: cache.handle, job });
    // Attached (a slow machine may take seconds to start a worker): it now waits for the first phase.
    await firstMessage(helper);
    const w = writeSnapshot(cache.table, dir, 1, 0n, job);
    await firstMessage(helper); // done (writeSnapshot is synchronous: the message waits in the queue)
    assert.equal(w.entries, cache.stats().items);
    assert.equal(w.tailEntries, 0, 'nothing changed during the walk');
    assert.ok(w.helperSegments > 0 && w.helperSegments < cache.table.v.g.segmentCount, `helper copied ${w.helperSegments} segments`);
    assertLoadsWhole(dir, cache);
  } finally {
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a helper that comes after the lead is done, or after the job was abandoned, takes nothing and returns', () => {
  const cache = filled();
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-write-'));
  try {
    const job = newSnapshotWriteJob(cache.table.v.g, 1);
    const w = writeSnapshot(cache.table, dir, 1, 0n, job);
    assert.equal(w.helperSegments, 0);
    helpSnapshotWrite(cache.table, job); // returns at once: the lead ended the job
    assertLoadsWhole(dir, cache);
    const abandoned = newSnapshotWriteJob(cache.table.v.g, 1);
    abandonSnapshotWrite(abandoned); // as Snapshotter does when the lead's task failed early
    helpSnapshotWrite(cache.table, abandoned);
  } finally {
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
