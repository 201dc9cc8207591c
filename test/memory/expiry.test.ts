import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sweepExpired } from '../../src/memory/expiry.ts';
import { C_EXPIRED_ITEMS, C_LINKED, C_UNLINKED, entryBytes } from '../../src/table/layout.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedCache } from '../../src/shared-cache.ts';
import { advanceSeconds, makeTable } from '../helpers/tables.ts';
import { EntryResult } from '../../src/commands/entry.ts';
import { get } from '../../src/commands/read.ts';

test('the sweep unlinks expired entries and only those', () => {
  const t = makeTable();
  for (let i = 0; i < 500; i++) t.set(`ttl:${i}`, 'v', 1);
  for (let i = 0; i < 500; i++) t.set(`keep:${i}`, 'v');
  const f = t.v.f64;
  const items = () => f[t.counters + C_LINKED] - f[t.counters + C_UNLINKED];
  assert.equal(items(), 1000);
  sweepExpired(t, 0, t.v.g.bucketCount);
  assert.equal(items(), 1000, 'nothing expired yet');
  advanceSeconds(t, 3);
  const next = sweepExpired(t, 0, t.v.g.bucketCount);
  assert.equal(next, 0, 'a full sweep wraps around');
  assert.equal(items(), 500);
  assert.equal(f[t.counters + C_EXPIRED_ITEMS], 500);
  for (let i = 0; i < 500; i++) assert.equal(t.getString(`keep:${i}`), 'v');
  t.close();
});

test('a key is gone within 1 s of its expiry, and the sweep and compaction give its memory back', async () => {
  // An index with room to spare (its subject is expiry, not a full bucket's evictions).
  const cache = SharedCache.create({ memoryBytes: '4mb', maxValueBytes: '16kb', expectedItemBytes: 128 });
  const value = 'v'.repeat(100);
  for (let i = 0; i < 100; i++) cache.set(`keep:a:${i}`, value);
  const before = cache.stats();
  for (let i = 0; i < 2000; i++) cache.set(`ttl:${i}`, value, { ttlSeconds: 2 });
  // Enough after them to seal the last segment holding TTL keys.
  for (let i = 0; i < 1000; i++) cache.set(`keep:b:${i}`, value);
  let expireAtSeconds = 0;
  for (let i = 0; i < 2000; i++) {
    const r = new EntryResult();
    assert.equal(get(cache.commands, `ttl:${i}`, r), value, 'present before its expiry');
    expireAtSeconds = Math.max(expireAtSeconds, r.expireAt);
  }
  const withTtlKeys = cache.stats();
  let ttlBytes = 0;
  let keptBytes = 0;
  for (let i = 0; i < 2000; i++) ttlBytes += entryBytes(`ttl:${i}`.length, 100);
  for (let i = 0; i < 1000; i++) keptBytes += entryBytes(`keep:b:${i}`.length, 100);
  assert.equal(withTtlKeys.liveBytes - before.liveBytes, ttlBytes + keptBytes);

  // Gone within 1 s of the expiry (the owner's clock moves every 50 ms).
  await sleep(expireAtSeconds * 1000 + 1000 - Date.now());
  for (let i = 0; i < 2000; i++) assert.equal(cache.get(`ttl:${i}`), undefined, `ttl:${i} is gone`);
  for (let i = 0; i < 1000; i++) assert.equal(cache.get(`keep:b:${i}`), value);

  // Memory back: the sweep unlinks the expired entries, then compaction frees the segments
  // they filled. Polled: the sweep walks the index a slice per tick.
  let s = cache.stats();
  for (let waited = 0; waited < 30_000 && (s.liveBytes > withTtlKeys.liveBytes - ttlBytes || s.segments.free < withTtlKeys.segments.free + 2); waited += 100) {
    await sleep(100);
    s = cache.stats();
  }
  assert.equal(s.liveBytes, withTtlKeys.liveBytes - ttlBytes, 'every expired entry unlinked, nothing else');
  assert.ok(s.expired >= 2000);
  assert.ok(s.segments.free >= withTtlKeys.segments.free + 2, `segments of expired keys freed (${withTtlKeys.segments.free} → ${s.segments.free})`);
  assert.ok(s.compactedSegments >= 2);
  cache.close();
});
