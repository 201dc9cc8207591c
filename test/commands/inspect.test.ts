import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { hashSet } from '../../src/commands/hash.ts';
import { inspectEntry } from '../../src/commands/inspect.ts';
import { push } from '../../src/commands/list.ts';
import { incr, set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

const b = (s: string) => Buffer.from(s);
const strs = (xs: readonly Uint8Array[] | undefined) => xs?.map((x) => Buffer.from(x).toString());

test('inspectEntry: each type with its version and TTL; a collection as its items; absent is undefined', () => {
  const cx = new CommandContext(makeTable());
  set(cx, 's', 'text', 60);
  const s = inspectEntry(cx, 's')!;
  assert.deepEqual([s.type, Buffer.from(s.value!).toString(), s.ttlSeconds, s.bytes, s.items], ['string', 'text', 60, 4, undefined]);
  assert.match(s.version, /^[0-9a-f]+\.[0-9a-f]+$/);
  set(cx, 's', 'again', 0);
  assert.notEqual(inspectEntry(cx, 's')!.version, s.version, 'a write changes the version');
  assert.equal(inspectEntry(cx, 's')!.ttlSeconds, -1);
  incr(cx, 'n', 5);
  assert.equal(inspectEntry(cx, 'n')!.type, 'integer');
  push(cx, 'L', [b('a'), b('b')], false);
  const l = inspectEntry(cx, 'L')!;
  assert.deepEqual([l.type, strs(l.items), l.value], ['list', ['a', 'b'], undefined]);
  hashSet(cx, 'H', [b('f'), b('v')]);
  assert.deepEqual(strs(inspectEntry(cx, 'H')!.items), ['f', 'v']);
  assert.equal(inspectEntry(cx, 'missing'), undefined);
});
