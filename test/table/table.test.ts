import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countSegments } from '../../src/table/segments.ts';
import { H_CLOCK_SECONDS, WAYS } from '../../src/table/layout.ts';
import { advanceSeconds, keysInOneBucket, makeTable } from '../helpers/tables.ts';
import { EntryResult } from '../../src/table/entry-result.ts';
import { COND_ALWAYS } from '../../src/table/table.ts';

test('set, get, getBytes, has, delete round-trip strings and bytes', () => {
  const t = makeTable();
  t.set('a', 'alpha');
  assert.equal(t.getString('a'), 'alpha');
  assert.deepEqual(t.getBytes('a'), new TextEncoder().encode('alpha'));
  assert.equal(t.has('a'), true);
  const bin = new Uint8Array([0, 255, 1, 254, 0]);
  t.set('bin', bin);
  assert.deepEqual(t.getBytes('bin'), bin);
  t.set('uni', 'wörld ✓ 日本');
  assert.equal(t.getString('uni'), 'wörld ✓ 日本');
  assert.equal(t.delete('a'), true);
  assert.equal(t.delete('a'), false);
  assert.equal(t.getString('a'), undefined);
  assert.equal(t.has('a'), false);
  assert.equal(t.getBytes('missing'), undefined);
  t.set('empty', '');
  assert.equal(t.getString('empty'), '');
  t.close();
});

test('a returned Uint8Array is a private copy', () => {
  const t = makeTable();
  t.set('k', 'v1');
  const got = t.getBytes('k')!;
  assert.ok(!(got.buffer instanceof SharedArrayBuffer));
  t.set('k', 'v2');
  assert.equal(new TextDecoder().decode(got), 'v1');
  t.close();
});

test('readEncodedInto copies any value to any offset exactly (word copy, byte ends, memcpy above the cutoff)', () => {
  const t = makeTable();
  const dest = new Uint8Array(1024);
  for (let keyLength = 1; keyLength <= 5; keyLength++) {
    for (const valueLength of [0, 1, 3, 4, 5, 7, 8, 63, 100, 191, 192, 193, 300]) {
      const key = 'k'.repeat(keyLength - 1) + String(valueLength % 10);
      const value = Uint8Array.from({ length: valueLength }, (_, i) => (i * 7 + keyLength) & 255);
      t.set(key, value);
      for (let at = 0; at < 4; at++) {
        dest.fill(0xee);
        t.codec.encode(key);
        assert.equal(t.readEncodedInto(dest, at, new EntryResult()), valueLength);
        assert.deepEqual(dest.subarray(at, at + valueLength), value, `key ${keyLength} B, value ${valueLength} B at ${at}`);
        assert.ok(dest.subarray(0, at).every((b) => b === 0xee) && dest.subarray(at + valueLength).every((b) => b === 0xee), 'nothing written outside the value');
      }
    }
  }
  t.close();
});

test('replacing a key keeps one item and changes its version', () => {
  const t = makeTable();
  const r = new EntryResult();
  t.set('k', 'one', 0, COND_ALWAYS, 0, 0, r);
  const v1 = [t.versionEpoch, r.version];
  t.set('k', 'two', 0, COND_ALWAYS, 0, 0, r);
  const v2 = [t.versionEpoch, r.version];
  assert.notDeepEqual(v1, v2);
  const read = new EntryResult();
  assert.equal(t.getString('k', read), 'two');
  assert.deepEqual([t.versionEpoch, read.version], v2);
  t.close();
});

test('string keys and byte keys are the same key', () => {
  const t = makeTable();
  t.set('clé', 'v');
  assert.equal(t.getString(new TextEncoder().encode('clé')), 'v');
  t.set(new TextEncoder().encode('x'), 'y');
  assert.equal(t.getString('x'), 'y');
  t.close();
});

test('entries expire on the shared clock', () => {
  const t = makeTable();
  t.set('short', 'v', 2);
  t.set('forever', 'v');
  assert.equal(t.getString('short'), 'v');
  advanceSeconds(t, 1);
  assert.equal(t.getString('short'), 'v', 'a key lives at least its TTL');
  advanceSeconds(t, 2);
  assert.equal(t.getString('short'), undefined, 'and less than one second more');
  assert.equal(t.has('short'), false);
  assert.equal(t.delete('short'), false, 'deleting an expired key reports nothing removed');
  assert.equal(t.getString('forever'), 'v');
  t.close();
});

test('bad TTLs and values are refused and change nothing', () => {
  const t = makeTable();
  t.set('k', 'keep');
  for (const ttl of [-1, Number.POSITIVE_INFINITY, Number.NaN, 2 ** 31]) assert.throws(() => t.set('k', 'x', ttl), { code: 'SABCACHE_ERR_BAD_TTL' });
  assert.throws(() => t.set('k', 42 as unknown as string), { code: 'SABCACHE_ERR_BAD_VALUE' });
  assert.throws(() => t.set('k', 'x'.repeat(4097)), { code: 'SABCACHE_ERR_VALUE_TOO_LARGE' });
  assert.throws(() => t.set('k', 'é'.repeat(2049)), { code: 'SABCACHE_ERR_VALUE_TOO_LARGE' });
  assert.throws(() => t.set('k'.repeat(251), 'x'), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' });
  assert.equal(t.getString('k'), 'keep');
  t.close();
});

test('a TTL with a fraction of a second expires at its millisecond, judged by the real clock near its end; setTtl and incr keep the millisecond', () => {
  const t = makeTable();
  let now = 1_700_000_000_100; // 100 ms into a second
  t.now = () => now;
  Atomics.store(t.v.i32, H_CLOCK_SECONDS, Math.floor(now / 1000));
  t.set('k', 'v', 0.25);
  now += 249;
  assert.equal(t.getString('k'), 'v', '1 ms before its time');
  assert.equal(t.ttl('k'), 0, 'TTL rounds the 1 ms left');
  now += 1;
  assert.equal(t.getString('k'), undefined, 'at its time');
  assert.equal(t.has('k'), false);
  assert.equal(t.incr('k', 5), 5, 'an expired integer counts as absent');
  t.set('n', '10', 1.5);
  assert.equal(t.setTtl('n', 0.3), true);
  assert.equal(t.incr('n', 1), 11, 'incr keeps the TTL it found');
  now += 299;
  assert.equal(t.getString('n'), '11');
  now += 1;
  assert.equal(t.getString('n'), undefined, 'setTtl set it to the millisecond, and incr kept it');
  assert.equal(t.delete('n'), false, 'deleting an expired key removes nothing live');
  t.close();
});

test('a full bucket evicts the least read, oldest way', () => {
  const t = makeTable();
  const keys = keysInOneBucket(t, WAYS + 1);
  for (const k of keys.slice(0, WAYS)) t.set(k, 'v' + k);
  t.getString(keys[0]); // keys[0] is now more valuable than keys[1]
  t.set(keys[WAYS], 'new');
  assert.equal(t.getString(keys[0]), 'v' + keys[0]);
  assert.equal(t.getString(keys[1]), undefined, 'the unread way was evicted');
  for (const k of keys.slice(2, WAYS)) assert.equal(t.getString(k), 'v' + k, 'only one way was evicted');
  assert.equal(t.getString(keys[WAYS]), 'new');
  t.close();
});

test('a full bucket evicts an expired way first', () => {
  const t = makeTable();
  const keys = keysInOneBucket(t, WAYS + 1);
  for (const [i, k] of keys.slice(0, WAYS).entries()) t.set(k, 'v', i === 4 ? 1 : 0);
  for (const k of keys.slice(0, WAYS)) t.getString(k);
  advanceSeconds(t, 2);
  t.set(keys[WAYS], 'new');
  for (const [i, k] of keys.slice(0, WAYS).entries()) if (i !== 4) assert.equal(t.getString(k), 'v', k);
  assert.equal(t.getString(keys[WAYS]), 'new');
  t.close();
});

test('writing far more than memory evicts whole segments and keeps the most recent keys (in the small queue)', () => {
  const t = makeTable(1 << 20, 1024);
  const value = 'x'.repeat(100);
  const n = 40_000; // ~5 MiB of entries into 1 MiB
  for (let i = 0; i < n; i++) t.set(`key:${i}`, value);
  const c = countSegments(t.v);
  assert.ok(c.free + c.sealed + c.active === t.v.g.segmentCount);
  // Unread keys live only as long as the small queue (10% of segments) holds them.
  for (let i = n - 100; i < n; i++) assert.equal(t.getString(`key:${i}`), value, `recent key ${i}`);
  assert.equal(t.getString('key:0'), undefined, 'the oldest keys are gone');
  t.close();
});

test('an entry too large for any segment is refused, not half-written', () => {
  const t = makeTable(1 << 20, 1024);
  assert.throws(() => t.set('k', new Uint8Array(1025)), { code: 'SABCACHE_ERR_VALUE_TOO_LARGE' });
  t.set('k', new Uint8Array(1024));
  assert.equal(t.getBytes('k')!.length, 1024);
  t.close();
});
