import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { EntryResult, VALUE_BYTES, VALUE_STRING } from '../../src/commands/entry.ts';
import { hashItems } from '../../src/commands/hash.ts';
import { listItems } from '../../src/commands/list.ts';
import { get } from '../../src/commands/read.ts';
import { DELETE, rewrite, UNCHANGED } from '../../src/commands/rewrite.ts';
import { set } from '../../src/commands/write.ts';
import { SharedCache } from '../../src/index.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';
import { makeTable } from '../helpers/tables.ts';

test('rewrite applies build to the current value, keeps the TTL unless told, deletes, or leaves the key alone', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const r = new EntryResult();
  assert.equal(rewrite(cx, 'k', (old) => {
    assert.equal(old, undefined);
    return { value: Buffer.from('one'), type: VALUE_STRING, expireAt: 0 };
  }, r), true);
  assert.equal(get(cx, 'k'), 'one');
  set(cx, 'k', 'two', 100);
  assert.equal(rewrite(cx, 'k', (old, entry) => {
    assert.equal(Buffer.from(old!).toString(), 'two');
    assert.ok(entry.expireAt > 0);
    return { value: Buffer.from('three'), type: VALUE_BYTES };
  }), true);
  assert.equal(t.ttl('k'), 100, 'the TTL stays when the replacement names none');
  assert.equal(rewrite(cx, 'k', () => UNCHANGED), false);
  assert.equal(get(cx, 'k'), 'three');
  assert.throws(() => rewrite(cx, 'k', () => { throw new Error('refused'); }), /refused/);
  assert.equal(get(cx, 'k'), 'three', 'a build that throws changes nothing');
  assert.equal(rewrite(cx, 'k', () => DELETE), true);
  assert.equal(get(cx, 'k'), undefined);
  assert.equal(rewrite(cx, 'k', () => DELETE), false, 'deleting an absent key changes nothing');
  t.close();
});

test('rewrite retries when another write lands between its read and its store', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  set(cx, 'k', 'a');
  let calls = 0;
  rewrite(cx, 'k', (old) => {
    calls++;
    // The first time, another writer comes first: the store must not overwrite its value.
    if (calls === 1) set(cx, 'k', 'b');
    return { value: Buffer.concat([old!, Buffer.from('+')]), type: VALUE_BYTES };
  });
  assert.equal(calls, 2);
  assert.equal(get(cx, 'k'), 'b+', 'the rewrite applied to the value written in between');
  // And a key created in between an absent read.
  calls = 0;
  rewrite(cx, 'n', (old) => {
    calls++;
    if (calls === 1) set(cx, 'n', 'x');
    return { value: Buffer.from(old === undefined ? 'fresh' : `${Buffer.from(old).toString()}!`), type: VALUE_BYTES };
  });
  assert.equal(get(cx, 'n'), 'x!');
  t.close();
});

test('four threads rewriting the same keys lose no change (the race rewrite prevents)', async () => {
  const cache = SharedCache.create({ memoryBytes: '16mb', maxValueBytes: '256kb' });
  const start = new SharedArrayBuffer(4);
  const iterations = 400;
  const tags = ['a', 'b', 'c', 'd'];
  const workers = tags.map((tag) => startFixture('rewrite-worker', { handle: cache.handle, tag, iterations, start }));
  await new Promise((r) => setTimeout(r, 300));
  Atomics.store(new Int32Array(start), 0, 1);
  Atomics.notify(new Int32Array(start), 0);
  await Promise.all(workers.map((w) => firstMessage(w)));
  const cx = cache.commands;
  const list = listItems(cx, 'L')!.map((b) => b.toString());
  assert.equal(list.length, tags.length * iterations, 'every RPUSH is in the list');
  for (const tag of tags) {
    const mine = list.filter((e) => e.startsWith(`${tag}:`)).map((e) => Number(e.slice(2)));
    assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${tag}'s pushes are in its order`);
  }
  assert.equal(get(cx, 'A')!.length, tags.length * iterations, 'every APPEND');
  const h = hashItems(cx, 'H')!;
  assert.equal(h[1].toString(), String(tags.length * iterations), 'every HINCRBY');
  cache.close();
});
