import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketNow } from '../helpers/tables.ts';
import { C_EVICTED_ITEMS, E_KEYLEN_FLAGS, E_VALUE_LEN, entryBytes, KEYLEN_MASK, S_LIVE_BYTES, S_STATE, S_WRITE_OFFSET, SEG_FREE, SEG_STATE_MASK, SEGMENT_FIRST_OFFSET, segmentByte, segmentRowWord, WAYS } from '../../src/table/layout.ts';
import { checkIndex } from '../helpers/index-check.ts';
import { keysInOneBucket, makeTable } from '../helpers/tables.ts';
import { EntryResult } from '../../src/table/entry-result.ts';

/** Entry records (the snapshot's: entry header, key, value), padded to 8 bytes or not. */
function records(list: { key: string; value: Uint8Array; type?: number; expireAt?: number }[], padded: boolean): { src: Uint8Array; starts: Int32Array } {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const starts = new Int32Array(list.length);
  let at = 0;
  list.forEach((r, i) => {
    const key = enc.encode(r.key);
    const n = 12 + key.length + r.value.length;
    const rec = new Uint8Array(padded ? (n + 7) & ~7 : n);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, key.length | ((r.type ?? 0) << 16), true);
    dv.setUint32(4, r.value.length, true);
    dv.setUint32(8, r.expireAt ?? 0, true);
    rec.set(key, 12);
    rec.set(r.value, 12 + key.length);
    starts[i] = at;
    at += rec.length;
    parts.push(rec);
  });
  const src = new Uint8Array(at);
  at = 0;
  for (const p of parts) {
    src.set(p, at);
    at += p.length;
  }
  return { src, starts };
}

test('restoreEntries stores padded and unpadded records verbatim, skips expired and over-limit ones, and spans segments', () => {
  for (const padded of [false, true]) {
    // 64 KiB segments: groups of 16 values of up to 6000 B exceed one, and take the
    // one-by-one path; small values take the grouped path.
    const t = makeTable(2 << 20, 8192);
    const now = t.clockSeconds();
    const value = (i: number) => new Uint8Array(i % 3 === 0 ? 6000 - (i % 7) : 1 + (i % 29)).fill(i & 0xff);
    const list = Array.from({ length: 300 }, (_, i) => ({ key: `r${i}`, value: value(i), type: i % 2, expireAt: i % 5 === 0 ? now + 3600 : 0 }));
    list.push({ key: 'gone', value: value(1), type: 0, expireAt: now - 1 }); // expired: neither stored nor skipped
    list.push({ key: 'huge', value: new Uint8Array(9000), type: 0, expireAt: 0 }); // over maxValueBytes
    list.push({ key: 'odd', value: value(2), type: 7, expireAt: 0 }); // unknown value type
    list.push({ key: 'k'.repeat(300), value: value(3), type: 0, expireAt: 0 }); // over maxKeyBytes
    list.push({ key: 'last', value: value(4), type: 1, expireAt: 0 });
    const { src, starts } = records(list, padded);
    const r = t.restoreEntries(src, starts, starts.length, padded);
    assert.deepEqual(r, { stored: 301, skipped: 3 }, `padded ${padded}`);
    for (let i = 0; i < 300; i++) {
      const r = new EntryResult();
      assert.deepEqual(t.getBytes(`r${i}`, r), value(i), `r${i}, padded ${padded}`);
      assert.equal(r.type, i % 2);
      assert.equal(r.expireAt >>> 0, i % 5 === 0 ? now + 3600 : 0);
    }
    assert.equal(t.getString('last'), new TextDecoder().decode(value(4)));
    for (const k of ['gone', 'huge', 'odd']) assert.equal(t.has(k), false, k);
    // Segment walkers (eviction, repair) step entry by entry up to the write offset: every
    // segment must hold whole entries that end exactly there.
    const { i32, g } = t.v;
    for (let s = 0; s < g.segmentCount; s++) {
      const row = segmentRowWord(g, s);
      if ((i32[row + S_STATE] & SEG_STATE_MASK) === SEG_FREE) continue;
      const end = i32[row + S_WRITE_OFFSET];
      let at = SEGMENT_FIRST_OFFSET;
      while (at < end) {
        const ew = (segmentByte(g, s) + at) >>> 2;
        at += entryBytes(i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK, i32[ew + E_VALUE_LEN]);
      }
      assert.equal(at, end, `segment ${s} walks to its write offset`);
    }
    const { linkedBytes, ...index } = checkIndex(t.v);
    assert.deepEqual(index, { oddBuckets: 0, lockedBuckets: 0, foreignWays: 0, liveWays: 301 });
    // Live bytes (added per segment of the batch) add up to the linked entries' sizes.
    let liveBytes = 0;
    for (let s = 0; s < g.segmentCount; s++) liveBytes += i32[segmentRowWord(g, s) + S_LIVE_BYTES];
    assert.equal(liveBytes, linkedBytes);
    t.close();
  }
});

test("restoreEntries links a bucket's run of records with their frequency counters reset, the later record of a key in the way of the earlier", () => {
  const t = makeTable(2 << 20, 8192);
  const keys = keysInOneBucket(t, WAYS);
  const old = keys.slice(0, 10);
  for (const k of old) {
    t.set(k, 'old');
    for (let i = 0; i < 3; i++) t.getBytes(k); // counter at its maximum
  }
  t.codec.encode(keys[0]);
  const b = bucketNow(t.v, t.codec.hash[0]);
  assert.ok([...Array(10).keys()].every((w) => t.freqOf(b, w) > 0), 'the old entries were read');
  // One run: the 10 keys again (each found, unlinked, and its way reused), then 4 new ones
  // into the empty ways, then the first key a second time (the later record wins).
  const list = [...keys.map((key) => ({ key, value: new TextEncoder().encode(`new:${key}`) })), { key: keys[0], value: new TextEncoder().encode('newest') }];
  const { src, starts } = records(list, true);
  assert.deepEqual(t.restoreEntries(src, starts, starts.length, true), { stored: WAYS + 1, skipped: 0 });
  for (let w = 0; w < WAYS; w++) assert.equal(t.freqOf(b, w), 0, `way ${w}'s counter is reset`);
  assert.equal(t.getString(keys[0]), 'newest');
  for (const k of keys.slice(1)) assert.equal(t.getString(k), `new:${k}`);
  const { linkedBytes: _, ...index } = checkIndex(t.v);
  assert.deepEqual(index, { oddBuckets: 0, lockedBuckets: 0, foreignWays: 0, liveWays: WAYS });
  t.close();
});

test('an eviction inside a run of one bucket chooses as linking record by record (restore) does', () => {
  // Two tables in the same state: 14 keys of one bucket, read to the counters' maximum,
  // in a segment then sealed. Then 7 of them again and one new key (the bucket is full:
  // it evicts), by restoreEntries (one run) and by restore (one record at a time).
  const present: number[][] = []; // indices into each table's keys (each table has its own hash seeds)
  for (const bulk of [true, false]) {
    const t = makeTable(2 << 20, 8192);
    const keys = keysInOneBucket(t, WAYS + 1);
    for (const k of keys.slice(0, WAYS)) {
      t.set(k, 'old');
      for (let i = 0; i < 3; i++) t.getBytes(k);
    }
    t.codec.encode(keys[0]);
    const b = bucketNow(t.v, t.codec.hash[0]);
    for (let i = 0, n = 0; n < 2000; i++) { // fills on past the old keys' segment, which is sealed
      const k = `filler${i}`;
      t.codec.encode(k);
      if (bucketNow(t.v, t.codec.hash[0]) === b) continue;
      t.set(k, 'x'.repeat(100));
      n++;
    }
    const list = [...keys.slice(0, 7), keys[WAYS]].map((key) => ({ key, value: new TextEncoder().encode(`new:${key}`) }));
    if (bulk) {
      const { src, starts } = records(list, true);
      t.restoreEntries(src, starts, starts.length, true);
    } else {
      for (const r of list) t.restore(new TextEncoder().encode(r.key), r.value, 0, 0);
    }
    present.push([...keys.keys()].filter((i) => t.has(keys[i])));
    t.close();
  }
  assert.equal(present[0].length, WAYS);
  assert.deepEqual(present[0], present[1]);
});

test('restoreEntries with linkLater: nothing is visible until linkRestored, the later record of a key wins, and more than the memory holds is evicted by policy', () => {
  // 2 MiB of 64 KiB segments: 32 segments, so a batch holds at most 8 of them.
  const t = makeTable(2 << 20, 8192);
  const value = (i: number, round: number) => new TextEncoder().encode(`v${round}:${i}:${'x'.repeat(100)}`);
  const round = (r: number) => records(Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: value(i, r) })), true);
  const first = round(1);
  assert.deepEqual(t.restoreEntries(first.src, first.starts, 2000, true, true), { stored: 2000, skipped: 0 });
  assert.equal(t.has('k0'), false, 'a batch left to link later is not visible');
  const second = round(2);
  t.restoreEntries(second.src, second.starts, 2000, true, true);
  t.linkRestored();
  // The batch spans the two calls (2 × 2000 records of about 128 bytes fit in 8 segments),
  // and its sort is stable: each key's later record is the one linked.
  for (let i = 0; i < 2000; i += 97) assert.deepEqual(t.getBytes(`k${i}`), value(i, 2), `k${i}`);
  // Ten times what the segments hold, of keys of their own (the same keys again would leave
  // dead entries, which are compacted rather than evicted), block after block: the restore
  // seals its batch when no segment is free, and the oldest entries are evicted as writes
  // would evict them.
  const other = (r: number) => records(Array.from({ length: 2000 }, (_, i) => ({ key: `r${r}:${i}`, value: value(i, r) })), true);
  for (let r = 3; r < 23; r++) {
    const { src, starts } = other(r);
    t.restoreEntries(src, starts, 2000, true, true);
  }
  t.linkRestored();
  assert.ok(t.v.f64[t.counters + C_EVICTED_ITEMS] > 0, 'entries were evicted');
  const present: string[] = [];
  for (let r = 3; r < 23; r++) {
    for (let i = 0; i < 2000; i++) {
      const got = t.getBytes(`r${r}:${i}`);
      if (got === undefined) continue;
      present.push(`r${r}:${i}`);
      assert.deepEqual(got, value(i, r), `r${r}:${i} holds its value`);
    }
  }
  assert.ok(present.some((k) => k.startsWith('r22:')), 'the last rounds are in');
  const kept = [...Array(2000).keys()].filter((i) => t.getBytes(`k${i}`) !== undefined).length;
  const { linkedBytes: _, ...index } = checkIndex(t.v);
  assert.deepEqual(index, { oddBuckets: 0, lockedBuckets: 0, foreignWays: 0, liveWays: present.length + kept });
  t.close();
});
