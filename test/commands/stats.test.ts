import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { get } from '../../src/commands/read.ts';
import { cacheStats, operationCount, RequestCounter } from '../../src/commands/stats.ts';
import { del, set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

test('cacheStats sums this thread\'s counters; RequestCounter counts into them', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const requests = new RequestCounter(cx);
  for (let i = 0; i < 3; i++) requests.count();
  set(cx, 'a', 'x');
  set(cx, 'b', 'y');
  get(cx, 'a');
  get(cx, 'zz');
  del(cx, 'b');
  const s = cacheStats(cx, 4 << 20);
  assert.deepEqual([s.items, s.sets, s.hits, s.misses, s.deletes, s.memoryLimitBytes], [1, 2, 1, 1, 1, 4 << 20]);
  const mine = s.threads.find((r) => r.thread === t.thread)!;
  assert.equal(mine.requests, 3);
  assert.ok(s.liveBytes > 0 && s.liveBytes <= s.writtenBytes);
  t.close();
});

test('operationCount counts hits, misses, sets and deletes of every thread', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const before = operationCount(cx);
  set(cx, 'a', 'x');
  get(cx, 'a');
  get(cx, 'nope');
  del(cx, 'a');
  assert.equal(operationCount(cx) - before, 4);
});
