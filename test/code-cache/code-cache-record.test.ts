import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCodeRecord, encodeCodeRecord, RECORD_HEADER_BYTES } from '../../src/code-cache/code-cache-record.ts';

test('a record round-trips its payload, and refuses damage, truncation and other bytes', () => {
  const payload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
  const record = encodeCodeRecord(payload);
  assert.equal(record.length, RECORD_HEADER_BYTES + payload.length);
  assert.deepEqual(decodeCodeRecord(record), payload);
  assert.deepEqual(decodeCodeRecord(encodeCodeRecord(new Uint8Array(0))), new Uint8Array(0));
  for (const at of [0, 5, 8, 39, RECORD_HEADER_BYTES, record.length - 1]) {
    const bad = Uint8Array.from(record);
    bad[at] ^= 1;
    assert.equal(decodeCodeRecord(bad), undefined, `byte ${at} flipped`);
  }
  assert.equal(decodeCodeRecord(record.subarray(0, record.length - 1)), undefined, 'truncated');
  assert.equal(decodeCodeRecord(new Uint8Array(RECORD_HEADER_BYTES - 1)), undefined);
  assert.equal(decodeCodeRecord(new TextEncoder().encode('x'.repeat(100))), undefined);
});
