import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { EntryResult, VALUE_BYTES, VALUE_STRING } from '../../src/commands/entry.ts';
import { get, getBytes, getEntry, getInto, getMany, getSliceInto, has, ttl } from '../../src/commands/read.ts';
import { set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

test('reads fill the result object the caller owns, and leave it alone on a miss', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const written = new EntryResult();
  set(cx, 'k', 'héllo', 60, written);
  const r = new EntryResult();
  assert.equal(get(cx, 'k', r), 'héllo');
  assert.deepEqual([r.length, r.type, r.version], [6, VALUE_STRING, written.version]);
  assert.ok(r.expireAt > 0);
  const before = { ...r };
  assert.equal(get(cx, 'absent', r), undefined);
  assert.deepEqual({ ...r }, before, 'a miss fills nothing');
  set(cx, 'b', new Uint8Array([1, 2, 3]));
  assert.deepEqual([...getBytes(cx, 'b', r)!], [1, 2, 3]);
  assert.equal(r.type, VALUE_BYTES);
  assert.equal(has(cx, 'b'), true);
  assert.equal(ttl(cx, 'b'), -1);
  assert.equal(ttl(cx, 'k'), 60);
  assert.equal(ttl(cx, 'absent'), -2);
  assert.deepEqual(getMany(cx, ['k', 'absent']), ['héllo', undefined]);
  t.close();
});

test('getInto copies into the caller\'s buffer at an offset only when it fits; getSliceInto takes the key from a frame', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  set(cx, 'key', 'abcdef');
  const r = new EntryResult();
  const small = new Uint8Array(4).fill(9);
  assert.equal(getInto(cx, 'key', small, 0, r), 6, 'the length, to grow and retry');
  assert.deepEqual([...small], [9, 9, 9, 9], 'nothing copied when it does not fit');
  const dest = new Uint8Array(10);
  assert.equal(getInto(cx, 'key', dest, 2, r), 6);
  assert.equal(Buffer.from(dest.subarray(2, 8)).toString(), 'abcdef');
  const frame = new TextEncoder().encode('xxkeyyy');
  assert.equal(getSliceInto(cx, frame, 2, 3, dest, 0, r), 6);
  assert.equal(getInto(cx, 'nope', dest, 0, r), -1);
  t.close();
});

test('getEntry gives the value with its version, TTL and type', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const w = new EntryResult();
  set(cx, 'e', 'v', 10, w);
  const e = getEntry(cx, 'e')!;
  assert.equal(Buffer.from(e.value).toString(), 'v');
  assert.equal(e.ttlSeconds, 10);
  assert.equal(e.type, 'string');
  assert.equal(e.version, `${(t.versionEpoch >>> 0).toString(16)}.${(w.version >>> 0).toString(16)}`);
  assert.equal(getEntry(cx, 'gone'), undefined);
  t.close();
});
