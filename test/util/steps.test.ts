import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSteps, runStepsAsync } from '../../src/util/steps.ts';

function* count(n: number, log: string[]): Generator<number, string> {
  for (let i = 1; i <= n; i++) {
    log.push(`step ${i}`);
    yield i;
  }
  return 'done';
}

test('runSteps runs every step at once; runStepsAsync gives the event loop a turn after each', async () => {
  const log: string[] = [];
  assert.equal(runSteps(count(3, log)), 'done');
  assert.deepEqual(log, ['step 1', 'step 2', 'step 3']);

  const async: string[] = [];
  const seen: number[] = [];
  setImmediate(() => async.push('other work'));
  const result = await runStepsAsync(count(3, async), (p) => seen.push(p));
  assert.equal(result, 'done');
  assert.deepEqual(seen, [1, 2, 3]);
  assert.ok(async.indexOf('other work') > 0 && async.indexOf('other work') < async.length - 1, `other work ran between steps: ${async}`);
});

test('runStepsAsync rejects with what the steps throw', async () => {
  function* failing(): Generator<number, void> {
    yield 1;
    throw new Error('bad block');
  }
  await assert.rejects(runStepsAsync(failing()), /bad block/);
});
