import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

async function runAll(cache: SharedCache, op: 'incr' | 'cas', threads: number, iterations: number) {
  const start = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, () => startFixture('ops-worker', { handle: cache.handle, op, iterations, start }));
  await new Promise((r) => setTimeout(r, 300)); // let every thread reach the start line
  Atomics.store(new Int32Array(start), 0, 1);
  Atomics.notify(new Int32Array(start), 0);
  return Promise.all(workers.map((w) => firstMessage<{ replaced: string[]; attempts: number }>(w)));
}

test('4 threads incr one key: no increment is lost', async () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  await runAll(cache, 'incr', 4, 20_000);
  assert.equal(cache.get('counter'), '80000');
  cache.close();
});

test('4 threads compare-and-swap one key: exactly one winner per version', async () => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxValueBytes: 1024 });
  cache.set('cas', '0');
  const results = await runAll(cache, 'cas', 4, 2_000);
  const wins = results.flatMap((r) => r.replaced);
  assert.equal(new Set(wins).size, wins.length, 'no version was replaced twice');
  assert.equal(cache.get('cas'), String(wins.length), 'every win counted once, none lost');
  const attempts = results.reduce((s, r) => s + r.attempts, 0);
  assert.ok(attempts > wins.length, `threads really raced (${attempts} attempts for ${wins.length} wins)`);
  cache.close();
});
