import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashBytes } from '../../src/table/hash.ts';

const enc = new TextEncoder();
function h(s: string, a = 1, b = 2): [number, number] {
  const out = new Int32Array(2);
  const bytes = enc.encode(s);
  hashBytes(bytes, 0, bytes.length, a, b, out);
  return [out[0], out[1]];
}

test('deterministic per seed, different across seeds and inputs', () => {
  assert.deepEqual(h('user:1'), h('user:1'));
  assert.notDeepEqual(h('user:1'), h('user:2'));
  assert.notDeepEqual(h('user:1', 1, 2), h('user:1', 3, 4));
  // every tail length is mixed in
  const seen = new Set<string>();
  for (let n = 1; n <= 9; n++) seen.add(h('x'.repeat(n)).join());
  assert.equal(seen.size, 9);
});

test('low lane spreads sequential keys evenly over buckets', () => {
  const buckets = 1024;
  const n = 200_000;
  const counts = new Uint32Array(buckets);
  for (let i = 0; i < n; i++) counts[h('key:' + i)[0] & (buckets - 1)]++;
  const expected = n / buckets;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  // chi-square with 1023 degrees of freedom: mean 1023, sd ≈ 45; 1300 is > 6 sd.
  assert.ok(chi < 1300, `chi-square ${chi.toFixed(0)}`);
});

test('the tag lane is independent of the bucket lane', () => {
  // Keys that share a bucket must not share tags more often than chance.
  const byBucket = new Map<number, Set<number>>();
  let collisions = 0;
  for (let i = 0; i < 100_000; i++) {
    const [lo, hi] = h('k' + i);
    const b = lo & 255;
    const tags = byBucket.get(b) ?? new Set<number>();
    if (tags.has(hi)) collisions++;
    tags.add(hi);
    byBucket.set(b, tags);
  }
  assert.ok(collisions <= 2, `${collisions} tag collisions within buckets`);
});

test('hashing from an offset gives the hash of those bytes alone', () => {
  const key = enc.encode('user:12345');
  const framed = new Uint8Array(3 + key.length + 5).fill(0xaa);
  framed.set(key, 3);
  const a = new Int32Array(2);
  const b = new Int32Array(2);
  hashBytes(key, 0, key.length, 7, 9, a);
  hashBytes(framed, 3, key.length, 7, 9, b);
  assert.deepEqual([...b], [...a]);
});
