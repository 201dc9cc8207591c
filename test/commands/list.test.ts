import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { listIndex, listItems, listLength, pop, push, range } from '../../src/commands/list.ts';
import { get, typeOf } from '../../src/commands/read.ts';
import { incr, set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

const b = (s: string) => Buffer.from(s);
const strs = (xs: readonly Uint8Array[] | undefined) => xs?.map((x) => Buffer.from(x).toString());

test('push, pop, range, length and index as Redis LPUSH/RPUSH/LPOP/RPOP/LRANGE/LLEN/LINDEX', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  assert.equal(push(cx, 'L', [b('a'), b('b'), b('c')], true), 3);
  assert.deepEqual(strs(listItems(cx, 'L')), ['c', 'b', 'a'], 'LPUSH a b c leaves c first');
  assert.equal(push(cx, 'L', [b('d')], false), 4);
  assert.deepEqual(strs(range(cx, 'L', 0, -1)), ['c', 'b', 'a', 'd']);
  assert.deepEqual(strs(range(cx, 'L', -2, 100)), ['a', 'd']);
  assert.deepEqual(range(cx, 'L', 3, 1), []);
  assert.deepEqual(range(cx, 'none', 0, -1), []);
  assert.equal(listLength(cx, 'L'), 4);
  assert.equal(listIndex(cx, 'L', -1)!.toString(), 'd');
  assert.equal(listIndex(cx, 'L', 9), undefined);
  assert.equal(typeOf(cx, 'L'), 'list');
  assert.deepEqual(strs(pop(cx, 'L', true, 1)), ['c']);
  assert.deepEqual(strs(pop(cx, 'L', false, 2)), ['d', 'a']);
  assert.deepEqual(strs(pop(cx, 'L', false, 5)), ['b']);
  assert.equal(get(cx, 'L'), undefined, 'popping the last element deletes the key');
  assert.equal(pop(cx, 'L', true, 1), undefined);
  assert.equal(push(cx, 'L', [b('x')], true, true), 0, 'LPUSHX on an absent key');
  assert.equal(typeOf(cx, 'L'), undefined);
  t.close();
});

test('a list and a string refuse each other\'s operations (WRONGTYPE); SET replaces a list', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  push(cx, 'L', [b('a')], true);
  set(cx, 'S', 'text');
  const wrong = { code: 'SABCACHE_ERR_WRONG_TYPE' };
  assert.throws(() => get(cx, 'L'), wrong);
  assert.throws(() => incr(cx, 'L'), wrong);
  assert.throws(() => push(cx, 'S', [b('a')], true), wrong);
  assert.throws(() => pop(cx, 'S', true, 1), wrong);
  assert.throws(() => listLength(cx, 'S'), wrong);
  assert.equal(get(cx, 'S'), 'text', 'the refused key keeps its value');
  assert.deepEqual(strs(listItems(cx, 'L')), ['a']);
  set(cx, 'L', 'now a string');
  assert.equal(get(cx, 'L'), 'now a string');
  t.close();
});

test('a list past maxValueBytes is refused and keeps what it had', () => {
  const t = makeTable(4 << 20, 64);
  const cx = new CommandContext(t);
  push(cx, 'L', [Buffer.alloc(40)], false);
  assert.throws(() => push(cx, 'L', [Buffer.alloc(40)], false), { code: 'SABCACHE_ERR_VALUE_TOO_LARGE' });
  assert.equal(listLength(cx, 'L'), 1);
  t.close();
});
