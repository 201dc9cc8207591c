import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { hashDelete, hashGet, hashGetMany, hashIncrBy, hashItems, hashSet } from '../../src/commands/hash.ts';
import { get, typeOf } from '../../src/commands/read.ts';
import { set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

const b = (s: string) => Buffer.from(s);

test('hashSet, hashGet, hashDelete, hashIncrBy as Redis HSET/HGET/HDEL/HINCRBY', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  assert.equal(hashSet(cx, 'H', [b('f1'), b('v1'), b('f2'), b('v2')]), 2);
  assert.equal(hashSet(cx, 'H', [b('f1'), b('V1'), b('f3'), b('v3')]), 1, 'only new fields count');
  assert.equal(hashGet(cx, 'H', b('f1'))!.toString(), 'V1');
  assert.equal(hashGet(cx, 'H', b('nope')), undefined);
  assert.deepEqual(hashItems(cx, 'H')!.map(String), ['f1', 'V1', 'f2', 'v2', 'f3', 'v3'], 'insertion order');
  assert.equal(typeOf(cx, 'H'), 'hash');
  assert.equal(hashIncrBy(cx, 'H', b('n'), 5), 5);
  assert.equal(hashIncrBy(cx, 'H', b('n'), -7n), -2);
  assert.deepEqual(hashGetMany(cx, 'H', [b('f1'), b('nope'), b('n')]).map((v) => v?.toString()), ['V1', undefined, '-2']);
  assert.throws(() => hashIncrBy(cx, 'H', b('f1'), 1n), { code: 'SABCACHE_ERR_NOT_INTEGER' });
  hashSet(cx, 'H', [b('big'), b(String(2n ** 63n - 1n))]);
  assert.throws(() => hashIncrBy(cx, 'H', b('big'), 1n), { code: 'SABCACHE_ERR_OVERFLOW' });
  assert.equal(hashDelete(cx, 'H', [b('f1'), b('nope')]), 1);
  assert.equal(hashDelete(cx, 'H', [b('f2'), b('f3'), b('n'), b('big')]), 4);
  assert.equal(typeOf(cx, 'H'), undefined, 'deleting the last field deletes the key');
  assert.equal(hashDelete(cx, 'H', [b('f1')]), 0);
  t.close();
});

test('a hash refuses string operations and a string refuses hash operations (WRONGTYPE)', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  hashSet(cx, 'H', [b('f'), b('v')]);
  set(cx, 'S', 'x');
  const wrong = { code: 'SABCACHE_ERR_WRONG_TYPE' };
  assert.throws(() => get(cx, 'H'), wrong);
  assert.throws(() => hashSet(cx, 'S', [b('f'), b('v')]), wrong);
  assert.throws(() => hashGet(cx, 'S', b('f')), wrong);
  assert.equal(get(cx, 'S'), 'x');
  t.close();
});
