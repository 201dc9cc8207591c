import assert from 'node:assert/strict';
import { test } from 'node:test';
import { E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, EXPIRE_CODE_MASK, EXPIRE_CODE_SHIFT, FLAGS_SHIFT, KEYLEN_MASK, QUEUE_MAIN, QUEUE_SMALL, S_LIVE_BYTES, S_WRITE_OFFSET, segmentRowWord, T_ACTIVE_SEGMENT } from '../../src/table/layout.ts';
import { makeTable } from '../helpers/tables.ts';

test('a reservation writes the header and key but moves the write offset only on commit', () => {
  const t = makeTable();
  const key = new TextEncoder().encode('reserved');
  const r = t.writer.reserve(64, 10, 1, 1234, 0, QUEUE_SMALL, key, key.length);
  const seg = t.writer.activeOf(QUEUE_SMALL);
  const row = segmentRowWord(t.v.g, seg);
  const offBefore = t.v.i32[row + S_WRITE_OFFSET];
  const i32 = t.v.i32;
  assert.equal(i32[(r >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK, key.length);
  assert.equal(i32[(r >>> 2) + E_KEYLEN_FLAGS] >>> FLAGS_SHIFT, 1);
  assert.deepEqual([i32[(r >>> 2) + E_VALUE_LEN], i32[(r >>> 2) + E_EXPIRE_AT]], [10, 1234]);
  assert.deepEqual(t.v.u8.subarray(r + ENTRY_HEADER_BYTES, r + ENTRY_HEADER_BYTES + key.length), key);
  assert.equal(t.v.i32[t.threadWord + T_ACTIVE_SEGMENT], seg + 1, 'published for observers');
  const ref = t.writer.commit(r, 64);
  assert.equal(t.v.i32[row + S_WRITE_OFFSET], offBefore + 64, 'the write offset moved past the whole entry');
  assert.equal(t.entryByte(ref), r, 'the ref names the reserved entry');
  const live = t.v.i32[row + S_LIVE_BYTES];
  t.writer.addLive(ref, 64);
  assert.equal(t.v.i32[row + S_LIVE_BYTES], live + 64);
  t.close();
});

test('a copy forward goes to the queue asked for and keeps the entry\'s bytes', () => {
  const t = makeTable();
  t.set('moved', 'value');
  const key = new TextEncoder().encode('moved');
  const r = t.writer.reserve(32, 5, 1, 0, 0, QUEUE_SMALL, key, key.length);
  t.v.u8.set(new TextEncoder().encode('value'), r + ENTRY_HEADER_BYTES + key.length);
  const copy = t.writer.reserveCopy(r, 32, QUEUE_MAIN);
  assert.notEqual(copy, -1);
  assert.deepEqual(t.v.u8.subarray(copy as number, (copy as number) + 32), t.v.u8.subarray(r, r + 32));
  // setTtl changed the original's expiry (second and millisecond code) after the copy was taken.
  t.v.i32[(r >>> 2) + E_EXPIRE_AT] = 4321;
  t.v.i32[(r >>> 2) + E_KEYLEN_FLAGS] |= 777 << EXPIRE_CODE_SHIFT;
  const ref = t.writer.commitCopy(copy as never, r, 32);
  assert.equal(Math.floor((t.entryByte(ref) - t.v.g.segmentsOffset) / t.v.g.segmentBytes), t.writer.activeOf(QUEUE_MAIN));
  const cw = t.entryByte(ref) >>> 2;
  assert.equal(t.v.i32[cw + E_EXPIRE_AT], 4321, 'the copy has the expiry second set since');
  assert.equal((t.v.i32[cw + E_KEYLEN_FLAGS] >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, 777, 'and its millisecond code');
  assert.equal(t.v.i32[cw + E_KEYLEN_FLAGS] & KEYLEN_MASK, key.length);
  t.close();
});
