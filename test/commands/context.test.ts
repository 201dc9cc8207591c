import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { makeTable } from '../helpers/tables.ts';

test('a command context gives its table\'s limits and clock', () => {
  const t = makeTable(4 << 20, 4096);
  const cx = new CommandContext(t);
  assert.equal(cx.maxKeyBytes, 250);
  assert.equal(cx.maxValueBytes, 4096);
  t.now = () => 42_000;
  assert.equal(cx.now(), 42_000);
  t.close();
});
