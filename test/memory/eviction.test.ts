import assert from 'node:assert/strict';
import { bucketNow } from '../helpers/tables.ts';
import { test } from 'node:test';
import { compactSegments, evictSegment } from '../../src/memory/eviction.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { GHOST_FROM_MAIN, GHOST_FROM_SMALL, GHOST_MISS, ghostInsert, ghostSize, ghostTake } from '../../src/table/ghost.ts';
import { B_REFS, REF_STRIDE, H_SMALL_TARGET, C_COMPACTED_SEGMENTS, C_EVICTED_ITEMS, C_GHOST_HITS, C_GHOST_MAIN_HITS, C_GHOST_MAIN_INSERTS, GHOST_SLOTS_PER_LINE, bucketWord, WAYS, QUEUE_MAIN, QUEUE_SMALL, S_LIVE_BYTES, S_QUEUE, S_STATE, SEG_SEALED, SEG_STATE_MASK, segmentRowWord, T_ACTIVE_MAIN_SEGMENT } from '../../src/table/layout.ts';
import { countSegments, sealSegment } from '../../src/table/segments.ts';
import { checkIndex } from '../helpers/index-check.ts';
import { makeTable, refOf } from '../helpers/tables.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';
import { EntryResult } from '../../src/table/entry-result.ts';
import { COND_ALWAYS } from '../../src/table/table.ts';

const value = 'v'.repeat(100);

/** Queue of the segment holding `key` now. */
function queueOf(t: ReturnType<typeof makeTable>, key: string): number {
  assert.ok(t.has(key), `${key} is cached`);
  return t.v.i32[segmentRowWord(t.v.g, refOf(t, key) >>> t.v.g.offsetBits) + S_QUEUE];
}

test('a key read while in the small queue is copied into main when its segment is evicted; unread ones are dropped', () => {
  const t = makeTable(2 << 20, 1024);
  const cache = 'k';
  // Fill well past memory: every key is written once; "hot" is read after each write burst.
  t.set('hot', value);
  t.has('hot');
  for (let i = 0; i < 40_000; i++) {
    t.set(`${cache}${i}`, value);
    if (i % 500 === 0) t.has('hot');
  }
  assert.ok(t.has('hot'), 'the read key survived many evictions');
  assert.equal(queueOf(t, 'hot'), QUEUE_MAIN);
  assert.equal(t.has('k0'), false, 'an old unread key was evicted');
  t.close();
});

test('a hot key survives a scan of one-time keys twice the cache size', () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  cache.set('hot', value);
  const capacity = cache.stats().segments.total * cache.stats().segments.segmentBytes;
  const scanKeys = Math.ceil((2 * capacity) / 136);
  for (let i = 0; i < scanKeys; i++) {
    cache.set(`scan:${i}`, value);
    if (i % 2000 === 0) cache.get('hot'); // the hot key keeps being read during the scan
  }
  assert.equal(cache.get('hot'), value);
  const s = cache.stats();
  assert.ok(s.promotions > 0 && s.ghostInserts > 0, JSON.stringify(s));
  cache.close();
});

test('a key dropped unread from the small queue comes back into main (ghost hit)', () => {
  const t = makeTable(2 << 20, 1024);
  t.set('returning', value);
  // Just past the cache's size (never read: it stays unread), so the ghost still holds it.
  const fill = Math.ceil((1.3 * t.v.g.segmentCount * t.v.g.segmentBytes) / 136);
  for (let i = 0; i < fill; i++) t.set(`fill${i}`, value);
  assert.equal(t.has('returning'), false, 'dropped');
  t.set('returning', value);
  assert.equal(queueOf(t, 'returning'), QUEUE_MAIN, 'written straight into main');
  t.close();
});

test('the ghost table remembers fingerprints, gives each back once, and forgets the oldest first', () => {
  const t = makeTable(2 << 20, 1024);
  const v = t.v;
  ghostInsert(v, 11, 0);
  assert.equal(ghostTake(v, 11, 0), GHOST_FROM_SMALL);
  assert.equal(ghostTake(v, 11, 0), GHOST_MISS, 'taken once');
  // One line holds GHOST_SLOTS_PER_LINE: one more insert into the same line forgets the first.
  for (let i = 1; i <= GHOST_SLOTS_PER_LINE + 1; i++) ghostInsert(v, 100 + i, 0);
  assert.equal(ghostTake(v, 101, 0), GHOST_MISS);
  assert.equal(ghostTake(v, 102, 0), GHOST_FROM_SMALL, 'the second oldest is still there');
  assert.equal(ghostTake(v, 101 + GHOST_SLOTS_PER_LINE, 0), GHOST_FROM_SMALL);
  assert.ok(ghostSize(v) <= GHOST_SLOTS_PER_LINE);
  // The fingerprint is the low 15 bits of the bucket lane: 0x8000 + 7 and 7 look alike, 8 does not.
  ghostInsert(v, 0x8007, 0);
  assert.equal(ghostTake(v, 8, 0), GHOST_MISS);
  assert.equal(ghostTake(v, 7, 0), GHOST_FROM_SMALL);
  t.close();
});

test('a fingerprint left by the main queue comes back marked as such, whatever its bit 15', () => {
  const t = makeTable(2 << 20, 1024);
  const v = t.v;
  ghostInsert(v, 0x1234, 5, true);
  ghostInsert(v, 0x9235, 5, true); // bit 15 of the lane is not part of the fingerprint
  ghostInsert(v, 0x1236, 5, false);
  assert.equal(ghostTake(v, 0x1236, 5), GHOST_FROM_SMALL);
  assert.equal(ghostTake(v, 0x1235, 5), GHOST_FROM_MAIN);
  assert.equal(ghostTake(v, 0x9234, 5), GHOST_FROM_MAIN);
  assert.equal(ghostTake(v, 0x1234, 5), GHOST_MISS, 'taken once');
  t.close();
});

test('keys dropped by a main-queue eviction leave main fingerprints; their return is counted as a main ghost hit', () => {
  const t = makeTable(2 << 20, 1024);
  // Unread keys only: small victims drop everything, so fill main through the ghost.
  const n = Math.ceil((1.3 * t.v.g.segmentCount * t.v.g.segmentBytes) / 136);
  for (let i = 0; i < n; i++) t.set(`a${i}`, value);
  for (let i = 0; i < n; i++) t.set(`a${i}`, value); // many return: ghost hits, into main
  // Evict main segments only (a target no small queue reaches): their unread entries go.
  Atomics.store(t.v.i32, H_SMALL_TARGET, t.v.g.segmentCount);
  for (let i = 0; i < 4; i++) assert.ok(evictSegment(t));
  const c = (name: number) => t.v.f64[t.counters + name];
  assert.ok(c(C_GHOST_MAIN_INSERTS) > 0, 'main evictions left fingerprints');
  const before = c(C_GHOST_MAIN_HITS);
  for (let i = 0; i < n; i++) t.set(`a${i}`, value);
  assert.ok(c(C_GHOST_MAIN_HITS) > before, 'returns of keys main dropped are told apart');
  assert.ok(c(C_GHOST_MAIN_HITS) <= c(C_GHOST_HITS));
  t.close();
});

test('evicting a main segment whose entries were all read still frees space (it keeps at most MAIN_RETAIN_MAX_FRACTION)', () => {
  const t = makeTable(2 << 20, 1024);
  const seg = t.v.g.segmentBytes;
  // Write enough to fill several segments and read everything, then force main evictions.
  const keys: string[] = [];
  for (let i = 0; i < 30_000; i++) {
    t.set(`m${i}`, value);
    keys.push(`m${i}`);
    for (let r = 0; r < 3; r++) t.has(`m${i}`);
  }
  const before = countSegments(t.v);
  for (let i = 0; i < 20; i++) assert.ok(evictSegment(t));
  const after = countSegments(t.v);
  assert.ok(after.free > before.free, `free ${before.free} → ${after.free}`);
  for (let s = 0; s < t.v.g.segmentCount; s++) {
    assert.ok(t.v.i32[segmentRowWord(t.v.g, s) + S_LIVE_BYTES] <= seg, 'live bytes never exceed a segment');
  }
  t.close();
});

test('compaction copies the live entries of a sparse segment forward and frees it', () => {
  const t = makeTable(4 << 20, 1024);
  const n = 6000;
  for (let i = 0; i < n; i++) t.set(`c${i}`, value);
  // Overwrite or delete almost everything: the first segments become sparse.
  for (let i = 0; i < n; i++) if (i % 10 !== 0) t.delete(`c${i}`);
  const sparse = [...Array(t.v.g.segmentCount).keys()].filter((s) => {
    const row = segmentRowWord(t.v.g, s);
    return (t.v.i32[row + S_STATE] & SEG_STATE_MASK) === SEG_SEALED && t.v.i32[row + S_LIVE_BYTES] < t.v.g.segmentBytes / 4;
  });
  assert.ok(sparse.length > 0, 'deletes left sparse sealed segments');
  const compacted = compactSegments(t, 1000, 1);
  assert.ok(compacted >= sparse.length, `${compacted} of ${sparse.length}`);
  for (let i = 0; i < n; i += 10) assert.equal(t.getString(`c${i}`), value, `c${i} kept`);
  for (const s of sparse) assert.notEqual(t.v.i32[segmentRowWord(t.v.g, s) + S_STATE] & SEG_STATE_MASK, SEG_SEALED);
  assert.equal(queueOf(t, 'c0'), QUEUE_SMALL, 'compaction keeps an entry in its queue');
  t.close();
});

test('a writer that finds no free segment compacts a sparse one before it evicts: untouched keys survive overwrites worth twice the cache with no maintenance', () => {
  // No owner tick at all (its thread busy): the writer makes room itself. Overwrites of a few
  // keys leave sealed segments almost empty; evicting by S3-FIFO would drop the untouched
  // keys' segment (the small queue's oldest), compacting loses nothing.
  const t = makeTable(1 << 20, 1024, 64);
  for (let i = 0; i < 2000; i++) t.set(`stable:${i}`, `s${i}`);
  const written = 2 * t.v.g.segmentCount * t.v.g.segmentBytes;
  for (let i = 0; i * 130 < written; i++) t.set(`hot:${i % 50}`, value);
  const lost = [...Array(2000).keys()].filter((i) => t.getString(`stable:${i}`) !== `s${i}`).length;
  assert.equal(lost, 0, 'untouched keys lost');
  assert.equal(t.v.f64[t.counters + C_EVICTED_ITEMS], 0, 'nothing evicted');
  assert.ok(t.v.f64[t.counters + C_COMPACTED_SEGMENTS] > 0, 'the writer compacted');
  const { linkedBytes: _, ...index } = checkIndex(t.v);
  assert.deepEqual(index, { oddBuckets: 0, lockedBuckets: 0, foreignWays: 0, liveWays: 2050 });
  t.close();
});

test('writes from 50 B to most of a segment over a churning key set never fail with no maintenance: a writer compacts a few times, then evicts', () => {
  // Large entries fragment compaction's copies (an entry too large for what is left of the
  // copy's segment seals it part-empty), so compaction after compaction may free no whole
  // segment: without the bound on compactions per write (eviction.ts COMPACT_ATTEMPTS) the
  // writes here failed with SABCACHE_ERR_OUT_OF_MEMORY partway.
  const t = makeTable(2 << 20, 64 << 10);
  const seg = t.v.g.segmentBytes;
  let x = 1;
  for (let i = 0; i < 30_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const size = x % 5 === 0 ? Math.floor(seg * (0.3 + ((x >>> 8) % 60) / 100)) : 50 + ((x >>> 8) % 400);
    t.set(`k${(x >>> 4) % 3000}`, new Uint8Array(size).fill(i & 0xff));
  }
  assert.ok(t.v.f64[t.counters + C_COMPACTED_SEGMENTS] > 0 && t.v.f64[t.counters + C_EVICTED_ITEMS] > 0, 'both compacted and evicted');
  const { oddBuckets, lockedBuckets, foreignWays } = checkIndex(t.v);
  assert.deepEqual([oddBuckets, lockedBuckets, foreignWays], [0, 0, 0]);
  t.close();
});

test('a unique-key flood from several threads stays within memory, never fails a write, and leaks no bytes', async () => {
  const memoryBytes = 4 * 2 ** 20;
  const cache = SharedCache.create({ memoryBytes, maxValueBytes: '16kb' });
  const perThread = 60_000; // about 60 MB written through 4 MB by 3 threads
  const sync = new SharedArrayBuffer(4);
  const workers = [0, 1, 2].map((thread) => startFixture('flood-writer', { handle: cache.handle, count: perThread, thread, sync, threads: 3 }));
  // The main thread is the owner: its maintenance timer evicts and compacts meanwhile.
  const results = await Promise.all(workers.map((w) => firstMessage<{ failed: number; firstError: string; recent: number }>(w)));
  await Promise.all(workers.map((w) => w.terminate()));
  for (const r of results) {
    assert.equal(r.failed, 0, `no write refused: ${r.firstError}`);
    assert.ok(r.recent >= 95, `a thread's last writes, made after every flood ended, are readable (${r.recent} of 100)`);
  }
  const s = cache.stats();
  assert.ok(s.bufferBytes <= memoryBytes && s.memoryUsedBytes <= s.memoryLimitBytes);
  assert.ok(s.evictions > 100_000, `the flood evicted (${s.evictions})`);
  // Accounting: the live bytes the segment table claims are exactly the linked entries' sizes,
  // so eviction and compaction under concurrent writers neither leak nor double-free bytes.
  const v = cache.table.v;
  const check = checkIndex(v);
  assert.deepEqual([check.oddBuckets, check.lockedBuckets, check.foreignWays], [0, 0, 0]);
  assert.equal(s.liveBytes, check.linkedBytes);
  assert.equal(s.items, check.liveWays);
  assert.ok(s.liveBytes <= s.segments.total * s.segments.segmentBytes);
  cache.close();
});

test('a main entry copied forward starts counting reads again from 0 (it survives the next pass only if read again)', () => {
  const t = makeTable(2 << 20, 1024);
  /** The frequency count of `key`'s way (read without a lookup, which would bump it). */
  const countOf = (key: string): number => {
    const ref = refOf(t, key);
    t.codec.encode(key);
    const b = bucketNow(t.v, t.codec.hash[0]);
    const bw = bucketWord(t.v.g, b);
    for (let w = 0; w < WAYS; w++) if (t.v.i32[bw + B_REFS + w * REF_STRIDE] === ref) return t.freqOf(b, w);
    throw new Error(`${key} not found`);
  };
  t.set('x', value);
  for (let r = 0; r < 3; r++) t.has('x');
  // Unread fillers push x's segment out of the small queue: x, read, moves to main.
  for (let i = 0; i < 100_000 && queueOf(t, 'x') !== QUEUE_MAIN; i++) t.set(`f${i}`, value);
  assert.equal(queueOf(t, 'x'), QUEUE_MAIN);
  for (let r = 0; r < 3; r++) t.has('x');
  assert.equal(countOf('x'), 3);
  // x sits in this thread's active main segment: seal it (the thread takes a new one).
  const ref = refOf(t, 'x');
  sealSegment(t.v, ref >>> t.v.g.offsetBits);
  t.v.i32[t.threadWord + T_ACTIVE_MAIN_SEGMENT] = 0;
  // Evict main segments only until x's has been walked: x, read, is copied forward.
  Atomics.store(t.v.i32, H_SMALL_TARGET, t.v.g.segmentCount);
  // (has() bumps the count, but it is already at FREQ_MAX: the looks change nothing.)
  for (let i = 0; i < t.v.g.segmentCount && t.has('x') && refOf(t, 'x') === ref; i++) assert.ok(evictSegment(t));
  assert.equal(queueOf(t, 'x'), QUEUE_MAIN, 'x, read, was kept');
  assert.notEqual(refOf(t, 'x'), ref, 'x was copied forward');
  // The copy reset the count to 0; the loop's last has() and queueOf's raised it to 2. A
  // copy that kept the count minus one would have left 2, raised to FREQ_MAX (3).
  assert.equal(countOf('x'), 2);
  t.close();
});

test('versions change only on writes: promotion, reinsertion and compaction keep them; a CAS with a fresh version never fails', () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  const canaries = Array.from({ length: 20 }, (_, i) => `canary:${i}`);
  const versions = new Map(canaries.map((k) => [k, cache.set(k, value)!]));
  const capacity = cache.stats().segments.total * cache.stats().segments.segmentBytes;
  const floodKeys = Math.ceil((4 * capacity) / 136);
  let casWins = 0;
  cache.set('cas', '0');
  for (let i = 0; i < floodKeys; i++) {
    cache.set(`flood:${i}`, value);
    if (i % 500 === 0) {
      for (const k of canaries) assert.equal(cache.getEntry(k)?.version, versions.get(k), `${k} after ${i} flood writes`);
      // CAS against the version just read: nobody else writes the key, so it must win.
      const e = cache.getEntry('cas')!;
      const next = cache.set('cas', String(Number(new TextDecoder().decode(e.value)) + 1), { ifVersion: e.version });
      assert.notEqual(next, undefined, `CAS after ${i} flood writes`);
      casWins++;
    }
  }
  const s = cache.stats();
  assert.ok(s.promotions + s.reinsertions > 0, `the canaries were copied forward: ${JSON.stringify(s)}`);
  assert.equal(cache.get('cas'), String(casWins));
  // A write changes the version; a TTL change does not (the value is the same).
  const before = cache.getEntry('canary:0')!.version;
  cache.expire('canary:0', 100);
  assert.equal(cache.getEntry('canary:0')!.version, before);
  assert.notEqual(cache.set('canary:0', value), before);
  cache.close();
});

test('compaction keeps versions', () => {
  const t = makeTable(4 << 20, 1024);
  const n = 6000;
  const versions = new Map<string, string>();
  const r = new EntryResult();
  for (let i = 0; i < n; i++) {
    t.set(`c${i}`, value, 0, COND_ALWAYS, 0, 0, r);
    versions.set(`c${i}`, `${t.versionEpoch}.${r.version}`);
  }
  for (let i = 0; i < n; i++) if (i % 10 !== 0) t.delete(`c${i}`);
  assert.ok(compactSegments(t, 1000, 1) > 0, 'something was compacted');
  for (let i = 0; i < n; i += 10) {
    assert.equal(t.getString(`c${i}`, r), value);
    assert.equal(`${t.versionEpoch}.${r.version}`, versions.get(`c${i}`), `c${i}`);
  }
  t.close();
});
