import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etagBytes, formatEtag } from '../../src/server/etag.ts';

const text = (b: ArrayBuffer): string => Buffer.from(b).toString('latin1');

test('etagBytes writes the same text as formatEtag, for every digit count on both sides', () => {
  const values = [0, 1, 9, 10, 15, 16, 255, 256, 0xfff, 0x1000, 0xffff, 0x10000, 0xfffff, 0x100000, 0xffffff, 0x1000000, 0xfffffff, 0x10000000, 0x7fffffff, 0x80000000, 0xffffffff];
  for (const g of values) {
    for (const r of values) assert.equal(text(etagBytes(g, r)), formatEtag(g, r), `generation ${g}, ref ${r}`);
  }
  assert.equal(formatEtag(0x1a, 0x2f0), '"1a.2f0"');
});

test('etagBytes reads negative i32 fields as unsigned, as formatEtag does', () => {
  assert.equal(text(etagBytes(-1, -2)), '"ffffffff.fffffffe"');
  assert.equal(text(etagBytes(-1, -2)), formatEtag(-1, -2));
});

test('etagBytes reuses one buffer per length: the next ETag of that length overwrites it', () => {
  const first = etagBytes(0x12, 0x34);
  assert.equal(text(first), '"12.34"');
  const second = etagBytes(0xab, 0xcd);
  assert.equal(second, first, 'same buffer');
  assert.equal(text(first), '"ab.cd"');
  assert.notEqual(etagBytes(0x1234, 0x5), first, 'another length, another buffer');
});
