import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Maintenance, reserveSegments } from '../../src/memory/maintenance.ts';
import { C_COMPACTED_SEGMENTS, C_EVICTED_SEGMENTS, C_EVICTED_ITEMS, C_EXPIRED_ITEMS, C_LINKED, C_UNLINKED, H_CLOCK_SECONDS, H_FULL } from '../../src/table/layout.ts';
import { countSegments } from '../../src/table/segments.ts';
import { makeTable } from '../helpers/tables.ts';

test('a tick refills free segments up to the watermark by compacting or evicting; the watermark follows the segments written per tick', () => {
  const t = makeTable(1 << 20, 1024);
  const m = new Maintenance(t);
  assert.equal(m.lowWatermarkSegments, 2, 'before any write: the writers\' reserve and one more');
  for (let i = 0; i < 30_000; i++) t.set(`k${i}`, 'x'.repeat(100));
  const before = countSegments(t.v).free;
  const { evictedSegments, compactedSegments } = m.tick();
  // 30,000 entries of ~120 B in this tick: hundreds of 16 KiB segments sealed, so the
  // reserve is at its cap, 1/64 of the segments beyond the writers' one and one more.
  assert.equal(m.lowWatermarkSegments, 2 + Math.floor(t.v.g.segmentCount / 64));
  // (Full buckets of this small index dropped entries: segments they left sparse are compacted.)
  assert.ok(before < m.lowWatermarkSegments && evictedSegments + compactedSegments > 0, `${before} free before the tick; ${evictedSegments} evicted, ${compactedSegments} compacted`);
  assert.ok(countSegments(t.v).free >= m.lowWatermarkSegments);
  // Idle ticks: the remembered peak decays, and the reserve with it, to its floor.
  for (let i = 0; i < 100; i++) m.tick();
  assert.equal(m.lowWatermarkSegments, 2);
  assert.equal(reserveSegments(3, 1000), 5, 'a peak of 3 segments a tick keeps 3 + 2 free');
  assert.equal(reserveSegments(100, 1000), 17, 'at most 1/64 of the segments + 2');
  assert.equal(t.getString('k29999'), 'x'.repeat(100), 'the newest data survives');
  t.close();
});

test('a tick moves the shared clock to now', () => {
  const t = makeTable();
  Atomics.store(t.v.i32, H_CLOCK_SECONDS, 5);
  new Maintenance(t).tick();
  assert.ok(Math.abs(t.clockSeconds() - Date.now() / 1000) < 2);
  t.close();
});

test('the expiry sweep speeds up while its slices find expired entries, and keeps its base pace otherwise', () => {
  // 8 MiB with small items: an index of thousands of buckets, a base pass of 200 ticks.
  const t = makeTable(8 << 20, 1024);
  let nowMs = Date.now();
  t.now = () => nowMs;
  const m = new Maintenance(t);
  m.tick();
  const items = () => t.v.f64[t.counters + C_LINKED] - t.v.f64[t.counters + C_UNLINKED];
  for (let i = 0; i < 20_000; i++) t.set(`ttl:${i}`, 'v', 1);
  for (let i = 0; i < 5_000; i++) t.set(`keep:${i}`, 'v');
  // (A few went to full buckets before any growth.)
  let ttlHeld = 0;
  for (let i = 0; i < 20_000; i++) if (t.getString(`ttl:${i}`) !== undefined) ttlHeld++;
  const held = items();
  assert.ok(ttlHeld > 19_000);
  // Nothing expired: 40 ticks at the base pace (1/200 of the index each) unlink nothing.
  for (let i = 0; i < 40; i++) m.tick();
  assert.equal(items(), held);
  nowMs += 3000;
  // At the base pace, 50 ticks would sweep a quarter of the index; fast, all of it.
  for (let i = 0; i < 50; i++) m.tick();
  assert.equal(t.v.f64[t.counters + C_EXPIRED_ITEMS], ttlHeld, 'every expired entry swept within 50 ticks');
  assert.equal(items(), held - ttlHeld);
  t.close();
});

test('a write over an expired entry counts it as expired first', () => {
  const t = makeTable();
  let nowMs = Date.now();
  t.now = () => nowMs;
  new Maintenance(t).tick();
  t.set('k', 'old', 1);
  t.set('j', 'old', 1);
  nowMs += 3000;
  new Maintenance(t).tick();
  t.set('k', 'new');
  t.set('j', 'new', 5);
  assert.equal(t.v.f64[t.counters + C_EXPIRED_ITEMS], 2);
  t.set('k', 'newer');
  assert.equal(t.v.f64[t.counters + C_EXPIRED_ITEMS], 2, 'a live entry written over is not');
  assert.equal(t.getString('k'), 'newer');
  t.close();
});

test('when room is needed, segments left sparse by deletes are compacted before any segment is evicted', () => {
  // An index sized for the items from the start: growing it takes segments (emptied by
  // evicting when need be), which this test is not about.
  const t = makeTable(4 << 20, 1024, 64);
  const m = new Maintenance(t);
  const value = 'x'.repeat(100);
  const entries = Math.floor((t.v.g.segmentCount * t.v.g.segmentBytes * 0.7) / 128);
  const evictedSegments = () => t.v.f64[t.counters + C_EVICTED_SEGMENTS];
  for (let i = 0; i < entries; i++) {
    t.set(`old:${i}`, value);
    if (i % 500 === 0) m.tick();
  }
  m.tick();
  assert.equal(evictedSegments(), 0, 'the first 70% fits');
  // Every other key deleted: sealed segments about half live.
  for (let i = 0; i < entries; i += 2) t.delete(`old:${i}`);
  const kept: string[] = [];
  for (let i = 1; i < entries; i += 2) if (t.getString(`old:${i}`) !== undefined) kept.push(`old:${i}`);
  const fullBucketEvictions = t.v.f64[t.counters + C_EVICTED_ITEMS];
  // As much again: room for it only if the holes are reclaimed.
  for (let i = 0; i < entries / 2; i++) {
    t.set(`new:${i}`, value);
    if (i % 200 === 0) m.tick();
  }
  for (let i = 0; i < 20; i++) m.tick();
  assert.equal(evictedSegments(), 0, 'no segment evicted');
  assert.ok(t.v.f64[t.counters + C_COMPACTED_SEGMENTS] > 0);
  // Entries lost only to full buckets (before the index grew), never to eviction by segment.
  const lost = kept.filter((k) => t.getString(k) !== value).length;
  assert.ok(lost <= t.v.f64[t.counters + C_EVICTED_ITEMS] - fullBucketEvictions, `${lost} lost`);
  t.close();
});

test('before the cache first fills, with half its memory free, the index doubles at 40% of its ways', () => {
  const t = makeTable(16 << 20, 1024, 512);
  const m = new Maintenance(t);
  m.tick();
  const n0 = t.bucketCount;
  const fill = (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) t.set(`${prefix}${i}`, 'v');
  };
  fill('a:', Math.floor(n0 * 14 * 0.38));
  m.tick();
  assert.equal(t.bucketCount, n0, 'below 40%: no growth');
  fill('b:', Math.ceil(n0 * 14 * 0.04));
  m.tick();
  assert.equal(t.bucketCount, 2 * n0, 'past 40%, far below INDEX_GROW_AT (55%), the cache nearly empty: doubled');
  // Once the cache has filled (a segment evicted), growth waits for INDEX_GROW_AT again.
  Atomics.store(t.v.i32, H_FULL, 1);
  fill('c:', Math.ceil(2 * n0 * 14 * 0.45) - (t.v.f64[t.counters + C_LINKED] - t.v.f64[t.counters + C_UNLINKED]));
  m.tick();
  assert.equal(t.bucketCount, 2 * n0);
  t.close();
});
