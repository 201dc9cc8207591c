import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { type ChangeRecord, followChanges, keyHash } from '../../src/commands/watch.ts';
import { del, set } from '../../src/commands/write.ts';
import { CHANGE_DELETE, CHANGE_SET } from '../../src/table/layout.ts';
import { makeTable } from '../helpers/tables.ts';

test('the change feed gives this thread\'s sets and deletes in order, with the key\'s hash lanes', async () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const seen: { kind: number; lo: number; hi: number; key: string }[] = [];
  const tail = followChanges(cx, (r: ChangeRecord) => seen.push({ kind: r.kind, lo: r.hashLo, hi: r.hashHi, key: Buffer.from(r.key).toString() }), () => assert.fail('lagged'), () => {});
  tail.start();
  set(cx, 'w', 'v');
  del(cx, 'w');
  for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await tail.stop();
  const [lo, hi] = keyHash(cx, 'w');
  assert.deepEqual(seen, [{ kind: CHANGE_SET, lo, hi, key: 'w' }, { kind: CHANGE_DELETE, lo, hi, key: 'w' }]);
  t.close();
});
