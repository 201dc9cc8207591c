import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeItems, encodedBytes, encodeItems } from '../../src/commands/collection-value.ts';

test('items round-trip, empty items and binary bytes included', () => {
  const items = [Buffer.from('a'), Buffer.alloc(0), Buffer.from([0, 255, 13, 10]), Buffer.from('é')];
  const v = encodeItems(items);
  assert.equal(v.length, encodedBytes(items));
  assert.deepEqual(decodeItems(v).map((b) => [...b]), items.map((b) => [...b]));
  assert.deepEqual(decodeItems(encodeItems([])), []);
});

test('a damaged value gives the items before the damage, never a throw', () => {
  const v = encodeItems([Buffer.from('ok'), Buffer.from('lost')]);
  assert.deepEqual(decodeItems(v.subarray(0, v.length - 1)).map(String), ['ok']);
  const huge = Buffer.alloc(4);
  huge.writeUInt32LE(0xffffffff);
  assert.deepEqual(decodeItems(huge), []);
});
