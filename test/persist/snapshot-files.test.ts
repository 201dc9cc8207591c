import assert from 'node:assert/strict';
import { bucketNow } from '../helpers/tables.ts';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeSync, openSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { encodeHeader, ENTRY_RECORD_HEADER_BYTES, readSnapshot, scanSnapshot, SnapshotBlockReader, SnapshotEncoder } from '../../src/persist/snapshot-format.ts';
import { B_REFS, REF_STRIDE, bucketWord, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, entryBytes, FLAGS_SHIFT, KEYLEN_MASK, refByte, WAYS } from '../../src/table/layout.ts';
import { copyChangedBuckets, copySegment, recordSegments, recordVersions, recordWalkStart, type SnapshotSink, SnapshotWalkState } from '../../src/table/snapshot-walk.ts';
import type { Table } from '../../src/table/table.ts';
import { listSnapshots, loadSnapshot, newestSnapshotHashSeeds, writeSnapshot } from '../../src/persist/snapshot-files.ts';
import { checkValue, makeValue } from '../helpers/self-check.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';
import { SharedCache } from '../../src/shared-cache.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'sabcache-snap-'));

/** Phase 1 of the snapshot walk on this thread alone: the state it leaves. */
function recordPhase1(t: Table): SnapshotWalkState {
  const g = t.v.g;
  const state = new SnapshotWalkState(g, new SharedArrayBuffer(SnapshotWalkState.bytesFor(g)));
  recordWalkStart(t, state);
  recordVersions(t, state, 0, g.bucketCount);
  recordSegments(t, state);
  return state;
}
const quiet = () => {};

test('a snapshot round-trips strings, bytes, integers, TTLs and value types into a cache of another size', () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 8 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  const b = SharedCache.create({ memoryBytes: 32 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    a.set('s', 'wörld ✓');
    a.set('empty', '');
    const bin = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 255);
    a.set('bin', bin);
    a.incr('n', 41);
    a.incr('n');
    a.set('ttl', 'soon', { ttlSeconds: 100 });
    for (let i = 0; i < 5000; i++) a.set(`k${i}`, `v${i}`);
    a.set('gone', 'x');
    a.delete('gone');
    const w = writeSnapshot(a.table, dir, 2);
    assert.equal(w.entries, 5005);
    assert.deepEqual(listSnapshots(dir), [w.path]);

    const loaded = loadSnapshot(b, dir, quiet);
    assert.equal(loaded.path, w.path);
    assert.equal(loaded.stored, 5005);
    assert.equal(b.get('s'), 'wörld ✓');
    assert.equal(b.get('empty'), '');
    assert.deepEqual(b.getBytes('bin'), bin);
    assert.equal(b.getEntry('n')?.type, 'integer');
    assert.equal(b.incr('n'), 43);
    assert.equal(b.getEntry('s')?.type, 'string');
    assert.equal(b.getEntry('bin')?.type, 'bytes');
    const ttl = b.ttl('ttl');
    assert.ok(ttl > 95 && ttl <= 101, `TTL kept (to the clock's second): ${ttl}`);
    assert.equal(b.ttl('s'), -1);
    assert.equal(b.get('gone'), undefined);
    for (let i = 0; i < 5000; i += 97) assert.equal(b.get(`k${i}`), `v${i}`);
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot records the hash seeds of its cache; a cache made with them loads it at another size', () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  const other = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    assert.equal(newestSnapshotHashSeeds(dir), undefined, 'no snapshot yet');
    for (let i = 0; i < 3000; i++) a.set(`k${i}`, `v${i}`);
    const older = writeSnapshot(other.table, dir, 5);
    const newest = writeSnapshot(a.table, dir, 5);
    const seeds = newestSnapshotHashSeeds(dir);
    assert.deepEqual(seeds, [a.table.v.seedA, a.table.v.seedB]);
    const b = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10, expectedItemBytes: 128, hashSeeds: seeds });
    try {
      assert.equal(loadSnapshot(b, dir, quiet).stored, 3000);
      for (let i = 0; i < 3000; i += 7) assert.equal(b.get(`k${i}`), `v${i}`);
    } finally {
      b.close();
    }
    // A newest file whose header fails its checks is passed over for the next one.
    const d = readFileSync(newest.path);
    d[60] ^= 1;
    writeFileSync(newest.path, d);
    assert.deepEqual(newestSnapshotHashSeeds(dir), [other.table.v.seedA, other.table.v.seedB]);
    rmSync(older.path);
    assert.equal(newestSnapshotHashSeeds(dir), undefined, 'only a corrupt file is left');
  } finally {
    a.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file whose header records no hash seeds (flag 2 clear) gives none, and loads', () => {
  const dir = tempDir();
  writeHandBuiltSnapshot(dir, [['a', '1'], ['b', '2']], true);
  const c = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10, expectedItemBytes: 128, hashSeeds: newestSnapshotHashSeeds(dir) });
  try {
    assert.equal(newestSnapshotHashSeeds(dir), undefined);
    assert.equal(loadSnapshot(c, dir, quiet).stored, 2);
    assert.equal(c.get('b'), '2');
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an entry record is laid out as an entry in the buffer (the encoder copies entries whole, the loader copies records whole)', () => {
  assert.equal(ENTRY_RECORD_HEADER_BYTES, ENTRY_HEADER_BYTES);
  // Record: u16 key bytes | u16 flags at 0, u32 value bytes at 4, u32 expireAt at 8.
  assert.deepEqual([E_KEYLEN_FLAGS, E_VALUE_LEN, E_EXPIRE_AT], [0, 1, 2]);
  assert.equal(FLAGS_SHIFT, 16);
  for (const [k, v] of [[1, 0], [3, 5], [16, 100], [7, 1000]]) assert.equal(entryBytes(k, v), (ENTRY_RECORD_HEADER_BYTES + k + v + 7) & ~7);
});

test('record padding is written as zeros, whatever the reused segments held there', () => {
  const dir = tempDir();
  // A small cache overwritten many times over with values of every length: its segments
  // are reused, so the bytes after an entry (its padding) held other entries' bytes.
  const a = SharedCache.create({ memoryBytes: 2 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  try {
    for (let i = 0; i < 60_000; i++) a.set(`key${i % 9000}`, new Uint8Array(1 + (i * 7) % 300).fill(0xff));
    writeSnapshot(a.table, dir, 1);
    const fd = openSync(listSnapshots(dir)[0], 'r');
    let records = 0;
    let padded = 0;
    try {
      const index = scanSnapshot(fd);
      for (const block of index.blocks) {
        new SnapshotBlockReader().read(fd, block, index.padded, (payload, starts, count) => {
          const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
          for (let i = 0; i < count; i++) {
            const end = starts[i] + 12 + pv.getUint16(starts[i], true) + pv.getUint32(starts[i] + 4, true);
            for (let p = end; p < ((end - starts[i] + 7) & ~7) + starts[i]; p++, padded++) assert.equal(payload[p], 0, `padding byte of record ${i}`);
            records++;
          }
        });
      }
    } finally {
      closeSync(fd);
    }
    assert.ok(records > 1000 && padded > 1000, `${records} records, ${padded} padding bytes checked`);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('expired entries are left out; only the newest `keep` snapshots stay', async () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    a.set('short', 'x', { ttlSeconds: 1 });
    a.set('long', 'y');
    const paths = [writeSnapshot(a.table, dir, 2).path, writeSnapshot(a.table, dir, 2).path, writeSnapshot(a.table, dir, 2).path];
    assert.deepEqual(listSnapshots(dir), [paths[2], paths[1]]);
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));
    // The entry expires: a later snapshot does not carry it.
    const deadline = Date.now() + 3000;
    while (a.get('short') !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.get('short'), undefined);
    assert.equal(writeSnapshot(a.table, dir, 2).entries, 1);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted, truncated or foreign snapshot is refused with its reason, and the previous one loads', () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    a.set('k', 'old');
    const good = writeSnapshot(a.table, dir, 5);
    for (let i = 0; i < 2000; i++) a.set(`n${i}`, `new${i}`);
    a.set('k', 'new');
    const cases: [string, (path: string) => void, RegExp][] = [
      ['flipped byte in a block', (p) => { const d = readFileSync(p); d[200] ^= 0x40; writeFileSync(p, d); }, /checksum mismatch/],
      ['truncated', (p) => truncateSync(p, readFileSync(p).length - 30), /truncated/],
      ['bad magic', (p) => { const d = readFileSync(p); d[0] = 0x58; writeFileSync(p, d); }, /bad magic/],
      ['other version', (p) => { const d = readFileSync(p); d[8] = 9; writeFileSync(p, d); }, /version 9/],
      ['unknown header flags', (p) => { const d = readFileSync(p); d.writeUInt32LE(d.readUInt32LE(32) | 8, 32); d.writeUInt32LE(crc32(d.subarray(0, 60)), 60); writeFileSync(p, d); }, /unknown header flags/],
      ['trailing garbage', (p) => writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.from('zz')])), /after the trailer/],
    ];
    for (const [name, damage, reason] of cases) {
      const bad = writeSnapshot(a.table, dir, 5);
      damage(bad.path);
      const b = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
      const lines: string[] = [];
      try {
        const r = loadSnapshot(b, dir, (l) => lines.push(l));
        assert.equal(r.path, good.path, name);
        // Set aside for manual recovery, never deleted.
        assert.equal(r.refused[0].path, `${bad.path}.damaged`);
        assert.ok(existsSync(`${bad.path}.damaged`) && !existsSync(bad.path), `${name}: renamed aside`);
        assert.match(r.refused[0].reason, reason, name);
        assert.match(lines[0], /refusing snapshot .* renamed it to .*\.damaged; trying the previous one/);
        assert.equal(b.get('k'), 'old', `${name}: nothing of the bad file is left`);
        assert.equal(b.stats().items, 1, name);
      } finally {
        b.close();
        rmSync(`${bad.path}.damaged`, { force: true });
      }
    }
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Takes snapshots while 3 stress workers write self-checking values over `keyCount` keys,
 * and checks every entry of every snapshot; `stable` keys, written before and never
 * touched, must be in each one.
 */
async function snapshotsUnderWriters(memoryBytes: number, keyCount: number, stableKeys: number): Promise<number> {
  const dir = tempDir();
  const cache = SharedCache.create({ memoryBytes, maxValueBytes: 64 << 10 });
  try {
    for (let i = 0; i < stableKeys; i++) cache.set(`stable:${i}`, `s${i}`);
    const workers = [1, 2, 3].map((thread) => startFixture('stress-worker', { handle: cache.handle, durationMs: 1500, keyCount, thread }));
    const done = Promise.all(workers.map((w) => firstMessage<{ writes: number; bad: number }>(w)));
    let finished = false;
    void done.then(() => { finished = true; });
    const dec = new TextDecoder();
    let snapshots = 0;
    let checked = 0;
    let stableSeen = stableKeys;
    while (!finished || snapshots < 3) {
      const w = writeSnapshot(cache.table, dir, 2);
      snapshots++;
      const stable = new Set<string>();
      const bad: string[] = [];
      const fd = openSync(w.path, 'r');
      try {
        readSnapshot(fd, (e) => {
          const key = dec.decode(e.key);
          const value = dec.decode(e.value);
          if (key.startsWith('stable:')) {
            if (value !== `s${key.slice(7)}`) bad.push(`${key}: ${value}`);
            stable.add(key);
          } else {
            const why = checkValue(key, value);
            if (why) bad.push(`${key}: ${why}`);
          }
          checked++;
        });
      } finally {
        closeSync(fd);
      }
      assert.deepEqual(bad.slice(0, 5), [], `snapshot ${snapshots}`);
      // Every untouched key the cache still holds after the walk was there throughout it, so
      // the snapshot has it. (The walk runs on this thread, which also runs maintenance: while
      // it waits on fsync the writers make room themselves, and evict once no sparse segment
      // is left to compact; an evicted key is gone for good. The cache is sized so that this
      // is rare.)
      const missing: string[] = [];
      let inCache = 0;
      for (let i = 0; i < stableKeys; i++) {
        if (cache.get(`stable:${i}`) === undefined) continue;
        inCache++;
        if (!stable.has(`stable:${i}`) && missing.length < 5) missing.push(`stable:${i}`);
      }
      assert.deepEqual(missing, [], `snapshot ${snapshots}: untouched keys in the cache but not in the snapshot (${stable.size} of ${inCache} in it); ${JSON.stringify({ written: w, stats: cache.stats() })}`);
      stableSeen = Math.min(stableSeen, inCache);
      await new Promise((r) => setImmediate(r)); // let the workers' messages in
    }
    const results = await done;
    assert.ok(results.every((r) => r.writes > 0 && r.bad === 0));
    assert.ok(stableSeen > stableKeys / 2, `the untouched keys stayed in the cache (${stableSeen} of ${stableKeys} at the least), so the check above had something to check`);
    return checked;
  } finally {
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('snapshots taken while 3 threads write hold only values really written, and every key untouched throughout', async () => {
  assert.ok(await snapshotsUnderWriters(64 << 20, 2000, 3000) > 3 * 3000);
});

test('a walk that stalls before each copy (a preempted thread) while 3 threads overwrite a full cache keeps no torn or foreign value', async () => {
  // Segments are evicted and reused under the walk; the stall before each copy of a run
  // widens the window in which a segment the walk is reading is freed and rewritten. The
  // generation check after each segment must drop such copies (snapshot-walk.ts copySegment).
  const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    const workers = [1, 2, 3].map((thread) => startFixture('stress-worker', { handle: cache.handle, durationMs: 5000, keyCount: 40_000, thread }));
    const done = Promise.all(workers.map((w) => firstMessage<{ writes: number; bad: number }>(w)));
    // The walk starts once the writers run and the cache evicts (a thread's start can take a
    // second on a busy machine: a fixed wait let the walk run mostly without them).
    for (const until = performance.now() + 5000; cache.stats().evictions === 0 && performance.now() < until;) await new Promise((r) => setTimeout(r, 10));
    const blocks: Uint8Array[] = [];
    const enc = new SnapshotEncoder({ write: (b) => { blocks.push(b.slice()); } });
    const stall = () => {
      const until = performance.now() + 0.05;
      while (performance.now() < until); // 50 µs
    };
    const stalling: SnapshotSink = {
      mark: () => enc.mark(),
      rewind: () => enc.rewind(),
      endGroup: () => enc.endGroup(),
      entry: (u8, i32, from, keyLength, valueLength, type, expireAt) => {
        stall();
        enc.entry(u8, i32, from, keyLength, valueLength, type, expireAt);
      },
      run: (u8, i32, from, bytes, count) => {
        stall();
        enc.run(u8, i32, from, bytes, count);
      },
    };
    const dec = new TextDecoder();
    const bad: string[] = [];
    let entries = 0;
    let dropped = 0;
    const t = cache.table;
    const g = t.v.g;
    // Walks for 1.5 s, and on (up to 4 s, while the writers still run) until some copy
    // was dropped: on a busy machine (the whole suite at once) the writers get less time
    // to free a segment under a copy.
    const start = performance.now();
    while (performance.now() < start + 1500 || (dropped === 0 && performance.now() < start + 4000)) {
      const state = recordPhase1(t);
      for (let s = 0; s < g.segmentCount; s++) {
        if (copySegment(t, state, s, t.clockSeconds(), stalling) < 0) dropped++;
        enc.endGroup();
      }
      copyChangedBuckets(t, state, 0, g.bucketCount, t.clockSeconds(), stalling);
    }
    enc.flush();
    for (const block of blocks) {
      const dv = new DataView(block.buffer);
      assert.equal(dv.getUint32(8, true), crc32(block.subarray(12)), 'block checksum');
      for (let at = 12; at < block.length;) {
        const kl = dv.getUint16(at, true);
        const vl = dv.getUint32(at + 4, true);
        const key = dec.decode(block.subarray(at + 12, at + 12 + kl));
        const why = checkValue(key, dec.decode(block.subarray(at + 12 + kl, at + 12 + kl + vl)));
        if (why && bad.length < 5) bad.push(`${key}: ${why}`);
        for (let p = at + 12 + kl + vl; p < at + ((12 + kl + vl + 7) & ~7); p++) assert.equal(block[p], 0, 'padding is zero');
        entries++;
        at += (12 + kl + vl + 7) & ~7; // records are padded to 8 bytes (SNAPSHOT_FLAG_PADDED)
      }
    }
    const results = await done;
    assert.ok(entries > 1000, `entries walked: ${entries}`);
    assert.deepEqual(bad, []);
    assert.ok(results.every((r) => r.bad === 0));
    assert.ok(cache.stats().evictions > 0, 'the cache evicted under the walk');
    assert.ok(dropped > 0, 'some segment was freed under its copy, and its copy dropped');
  } finally {
    cache.close();
  }
});

/** Decodes the entries of encoded blocks into [key, value] pairs, in file order. */
function decodeBlockEntries(b: Uint8Array, into: [string, string][]): void {
  const dec = new TextDecoder();
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let at = 12; at < b.length; at += (12 + dv.getUint16(at, true) + dv.getUint32(at + 4, true) + 7) & ~7) {
    const kl = dv.getUint16(at, true);
    into.push([dec.decode(b.subarray(at + 12, at + 12 + kl)), dec.decode(b.subarray(at + 12 + kl, at + 12 + kl + dv.getUint32(at + 4, true)))]);
  }
}

/** Phase 2 of a walk recorded in `state`: every segment copied (none dropped), as (key, value) pairs in file order. */
function copyAllSegments(t: Table, state: SnapshotWalkState): [string, string][] {
  const body: [string, string][] = [];
  const enc = new SnapshotEncoder({ write: (b) => decodeBlockEntries(b, body) });
  for (let s = 0; s < t.v.g.segmentCount; s++) assert.ok(copySegment(t, state, s, t.clockSeconds(), enc) >= 0, `segment ${s} copied`);
  enc.flush();
  return body;
}

/** Phase 3 of a walk recorded in `state` (the tail): (key, value) pairs in file order. */
function copyTail(t: Table, state: SnapshotWalkState): [string, string][] {
  const tail: [string, string][] = [];
  const enc = new SnapshotEncoder({ write: (b) => decodeBlockEntries(b, tail) });
  copyChangedBuckets(t, state, 0, t.v.g.bucketCount, t.clockSeconds(), enc);
  enc.flush();
  return tail;
}

test('phase 2 copies each live key once, at its value, and no entry overwritten, deleted or evicted before the walk', () => {
  // A small cache written past its size: segments hold overwritten and deleted entries
  // among live ones, and the walk tells them apart by the unlinked flag alone.
  const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  try {
    for (let i = 0; i < 20_000; i++) cache.set(`key:${i % 5000}`, `v${i}`.padEnd(400, '.'));
    for (let i = 0; i < 5000; i += 3) cache.delete(`key:${i}`);
    const freed = cache.stats();
    assert.ok(freed.evictedSegments + freed.compactedSegments > 0, 'segments were freed (compacted or evicted) and reused');
    const t = cache.table;
    const body = copyAllSegments(t, recordPhase1(t));
    const live = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const v = cache.get(`key:${i}`);
      if (v !== undefined) live.set(`key:${i}`, v as string);
    }
    assert.ok(live.size > 1000, `live keys: ${live.size}`);
    assert.equal(body.length, live.size, 'each live key once, nothing else');
    assert.deepEqual(new Map(body), live);
  } finally {
    cache.close();
  }
});

test('the tail copies exactly the entries written during the walk into buckets changed since phase 1: an overwrite, a new key; nothing when no bucket changed', () => {
  const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  try {
    for (let i = 0; i < 2000; i++) cache.set(`key:${i}`, `old-${i}`);
    const t = cache.table;
    const walk = (between: () => void): Map<string, string> => {
      const state = recordPhase1(t);
      copyAllSegments(t, state);
      between();
      const tail = copyTail(t, state);
      assert.equal(new Set(tail.map(([k]) => k)).size, tail.length, 'a key at most once in the tail');
      return new Map(tail);
    };
    assert.deepEqual([...walk(() => {})], [], 'no bucket changed: an empty tail');
    const tail = walk(() => {
      cache.set('key:7', 'new-7'); // after phase 2: only the tail can hold the new value
      cache.set('fresh', 'f');
    });
    // Not the other keys of the two changed buckets: phase 2 copied them (they lie below
    // their covered segments' write offsets at the walk's start).
    assert.deepEqual(tail, new Map([['key:7', 'new-7'], ['fresh', 'f']]));
  } finally {
    cache.close();
  }
});

test('a key overwritten during phase 1 whose old entry phase 2 still copies (its flag not yet set) has its new value in the tail', () => {
  const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
  try {
    for (let i = 0; i < 2000; i++) cache.set(`key:${i}`, `old-${i}`);
    const t = cache.table;
    const g = t.v.g;
    const i32 = t.v.i32;
    t.codec.encode('key:7');
    const bw = bucketWord(g, bucketNow(t.v, t.codec.hash[0]));
    const refOf7 = () => [...Array(WAYS).keys()].map((w) => i32[bw + B_REFS + w * REF_STRIDE]).find((r) => r !== 0 && refKey(t, r) === 'key:7')!;
    const oldRef = refOf7();
    const state = new SnapshotWalkState(g, new SharedArrayBuffer(SnapshotWalkState.bytesFor(g)));
    recordWalkStart(t, state);
    recordVersions(t, state, 0, g.bucketCount);
    // Overwritten before phase 1 reads the segments' offsets, which then include the new
    // entry; the old entry reads as unflagged, as when phase 2's read of it falls between
    // the writer's store of the write offset and its flag (installLocked, then unlinkWayLocked).
    cache.set('key:7', 'new-7');
    i32[(refByte(g, oldRef) >>> 2) + E_KEYLEN_FLAGS] &= ~ENTRY_UNLINKED;
    recordSegments(t, state);
    const body = copyAllSegments(t, state);
    assert.deepEqual(body.filter(([k]) => k === 'key:7').map(([, v]) => v).sort(), ['new-7', 'old-7'], 'both in phase 2');
    assert.deepEqual(copyTail(t, state), [['key:7', 'new-7']], 'the entry committed during the walk is in the tail (it is above the offset at the walk\'s start)');
  } finally {
    cache.close();
  }
});

/** The key of the entry `ref` points at. */
function refKey(t: Table, ref: number): string {
  const e = refByte(t.v.g, ref);
  return new TextDecoder().decode(t.v.u8.subarray(e + ENTRY_HEADER_BYTES, e + ENTRY_HEADER_BYTES + (t.v.i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK)));
}

test('keys overwritten, copied forward or moved during the walk are in the snapshot, and a load keeps their tail value', async () => {
  // 3 threads overwrite a small set of hot keys while the walk runs: their entries move to
  // new places after phase 1 read their buckets' versions, so only phase 3 (the tail) can
  // copy them for sure (and fails the test if phase 1 reads the segments' write offsets
  // before the versions: snapshot-walk.ts recordSegments). Every hot key must be in every snapshot, and after a load each hot key holds the
  // file's last value for it (the tail's, stored after the rest).
  const dir = tempDir();
  const cache = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  const hot = 200;
  try {
    for (let i = 0; i < hot; i++) cache.set(`key:${i}`, makeValue(`key:${i}`, 9, 0));
    // keyCount = hot: the workers write and delete only these keys; deletes make a key absent
    // for a moment, so "present throughout" is checked on keys written with no delete.
    const workers = [1, 2, 3].map((thread) => startFixture('overwrite-worker', { handle: cache.handle, durationMs: 1500, keyCount: hot, thread }));
    const done = Promise.all(workers.map((w) => firstMessage<{ writes: number }>(w)));
    let finished = false;
    void done.then(() => { finished = true; });
    const dec = new TextDecoder();
    let snapshots = 0;
    let tails = 0;
    while (!finished || snapshots < 3) {
      const w = writeSnapshot(cache.table, dir, 1);
      snapshots++;
      if (w.tailEntries > 0) tails++;
      const last = new Map<string, string>();
      const fd = openSync(w.path, 'r');
      try {
        readSnapshot(fd, (e) => { last.set(dec.decode(e.key), dec.decode(e.value)); });
      } finally {
        closeSync(fd);
      }
      assert.equal(last.size, hot, `snapshot ${snapshots}: every hot key is in it`);
      for (const [k, v] of last) assert.equal(checkValue(k, v), '', k);
      const b = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
      try {
        loadSnapshot(b, dir, quiet, { threads: 2, parallelMinBytes: 0 });
        for (const [k, v] of last) assert.equal(b.get(k), v, `${k} holds the file's last value for it`);
      } finally {
        b.close();
      }
      await new Promise((r) => setImmediate(r));
    }
    const results = await done;
    assert.ok(results.every((r) => r.writes > 0));
    assert.ok(tails > 0, 'some snapshot had a tail');
  } finally {
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Writes a snapshot built by hand into `dir`: one block holding `records` (string values),
 * back to back (`padded` false: header flags 0, as before SNAPSHOT_FLAG_PADDED) or each
 * padded to 8 bytes.
 */
function writeHandBuiltSnapshot(dir: string, records: [string, string][], padded: boolean, patchPayload?: (payload: Buffer) => void): void {
  const enc = new TextEncoder();
  const recs: Uint8Array[] = [];
  for (const [k, v] of records) {
    const key = enc.encode(k);
    const value = enc.encode(v);
    const n = 12 + key.length + value.length;
    const r = Buffer.alloc(padded ? (n + 7) & ~7 : n);
    r.writeUInt32LE(key.length | (1 << 16), 0); // type 1: a string
    r.writeUInt32LE(value.length, 4);
    r.set(key, 12);
    r.set(value, 12 + key.length);
    recs.push(r);
  }
  const payload = Buffer.concat(recs);
  patchPayload?.(payload); // before the block's CRC: a block that passes it
  const head = Buffer.from(encodeHeader({ createdAtMs: Date.now(), walSequence: 0n }));
  if (!padded) {
    head.writeUInt32LE(0, 32);
    head.writeUInt32LE(crc32(head.subarray(0, 60)), 60);
  }
  const block = Buffer.alloc(12);
  block.writeUInt32LE(payload.length, 0);
  block.writeUInt32LE(recs.length, 4);
  block.writeUInt32LE(crc32(payload), 8);
  const trailer = Buffer.alloc(24);
  trailer.writeUInt32LE(1, 4);
  trailer.writeBigUInt64LE(BigInt(recs.length), 8);
  trailer.writeUInt32LE(crc32(trailer.subarray(0, 16)), 16);
  trailer.write('SEND', 20, 'latin1');
  writeFileSync(join(dir, `snapshot-${Date.now()}.sabsnap`), Buffer.concat([head, block, payload, trailer]));
}

test('a block whose CRC holds but whose record claims a value length near 2^32 is refused, padded or not', () => {
  for (const padded of [true, false]) {
    const dir = tempDir();
    const cache = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 4096 , expectedItemBytes: 128});
    try {
      writeHandBuiltSnapshot(dir, [['a', 'one'], ['b', 'two']], padded, (payload) => {
        const second = padded ? 16 : 15; // the first record: 12 + 1 + 3 bytes (16 padded)
        payload.writeUInt32LE(0xfffffff8, second + 4);
      });
      const l = loadSnapshot(cache, dir, quiet);
      assert.equal(l.stored, 0, `padded ${padded}`);
      assert.match(l.refused[0]?.reason ?? '', /entry 1 runs past the block/, `padded ${padded}`);
      assert.equal(cache.stats().items, 0);
    } finally {
      cache.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a file written without record padding (header flags 0) loads too', () => {
  const dir = tempDir();
  const records: [string, string][] = [];
  for (let i = 0; i < 100; i++) records.push([`u${i}`, 'v'.repeat(i % 13)]);
  writeHandBuiltSnapshot(dir, records, false);
  const c = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    const r = loadSnapshot(c, dir, quiet);
    assert.equal(r.stored, 100);
    for (let i = 0; i < 100; i++) assert.equal(c.get(`u${i}`), 'v'.repeat(i % 13));
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key that a file holds twice in one group of records is stored once, with its later value', () => {
  // The loader hashes a group of records before linking them, so when it links the second
  // copy, its key codec holds another record's key: the lookup must use the record's own bytes.
  const dir = tempDir();
  writeHandBuiltSnapshot(dir, [['dup', 'first'], ['a', '1'], ['dup', 'second'], ['b', '2']], true);
  const c = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 , expectedItemBytes: 128});
  try {
    loadSnapshot(c, dir, quiet);
    assert.equal(c.get('dup'), 'second');
    assert.equal(c.stats().items, 3);
    assert.equal(c.delete('dup'), true);
    assert.equal(c.get('dup'), undefined, 'no second copy of the key is left behind');
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
