import assert from 'node:assert/strict';
import { test } from 'node:test';
import { B_SEQ, B_TAGS, bucketWord, seqOwner } from '../../src/table/layout.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { planGeometry } from '../../src/table/sizing.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';
import { withBucketLock } from '../../src/table/bucket-lock.ts';
import { makeTable } from '../helpers/tables.ts';

test('the bucket lock excludes writers and the seqlock hides torn pairs from readers (4 threads)', async () => {
  const v = SharedView.format(planGeometry({ memoryBytes: 1 << 20, maxKeyBytes: 64, maxValueBytes: 1024, expectedItemBytes: 128 }), 64, 1024);
  const iterations = 100_000;
  // [0] workers, [1] workers arrived: the fixture's start barrier.
  const start = new SharedArrayBuffer(8);
  new Int32Array(start)[0] = 4;
  const workers = [
    startFixture('lock-worker', { buffer: v.sab, role: 'writer', iterations, thread: 1, start }),
    startFixture('lock-worker', { buffer: v.sab, role: 'writer', iterations, thread: 2, start }),
    startFixture('lock-worker', { buffer: v.sab, role: 'reader', iterations: 200_000, thread: 3, start }),
    startFixture('lock-worker', { buffer: v.sab, role: 'reader', iterations: 200_000, thread: 4, start }),
  ];
  const results = await Promise.all(workers.map((w) => firstMessage<{ torn: number; validated: number }>(w)));
  await Promise.all(workers.map((w) => w.terminate()));
  const bw = bucketWord(v.g, 0);
  assert.equal(v.i32[bw + B_TAGS], 2 * iterations, 'no increment lost: the lock excluded the writers');
  assert.equal(v.i32[bw + B_TAGS + 1], 2 * iterations);
  assert.equal(v.i32[bw + B_SEQ], 2 * 2 * iterations, 'seq advanced by 2 per write and is even');
  assert.equal(seqOwner(v.i32[bw + B_SEQ]), 0, 'no owner left in the seq word');
  for (const r of results.slice(2)) {
    assert.equal(r.torn, 0, 'a validated read never saw a half-written pair');
    assert.ok(r.validated > 0);
  }
});

test('withBucketLock runs its body under the lock and releases it whether the body returns or throws', () => {
  const t = makeTable();
  const b = 3;
  const bw = bucketWord(t.v.g, b);
  const seq0 = Atomics.load(t.v.i32, bw);
  const seen: number[] = [];
  const body = (ctx: typeof t, w: number, bucket: number, a: number, c: number): number => {
    seen.push(Atomics.load(ctx.v.i32, w) & 1, bucket, a, c);
    return a + c;
  };
  assert.equal(withBucketLock(t, bw, b, body, t, 40, 2), 42);
  assert.deepEqual(seen, [1, 3, 40, 2], 'odd (locked) inside');
  assert.equal(Atomics.load(t.v.i32, bw), seq0 + 2, 'released: the next even version');
  assert.throws(() => withBucketLock(t, bw, b, () => { throw new Error("boom"); }, t, 0, 0), /boom/);
  assert.equal(Atomics.load(t.v.i32, bw), seq0 + 4, 'released after a throw too');
  t.close();
});
