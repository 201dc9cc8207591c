import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureError, readJobFailure, recordJobFailure, waitWhile } from '../../src/persist/job-protocol.ts';
import { SabcacheError, SnapshotCorruptError } from '../../src/errors.ts';

const area = () => new Uint8Array(new SharedArrayBuffer(64));

test('the first failure recorded is the one read back, with its code; later ones are dropped', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const text = area();
  const first = Object.assign(new Error('no space left'), { code: 'ENOSPC' });
  assert.equal(recordJobFailure(ctl, 0, 2, 1, text, first), true);
  assert.equal(recordJobFailure(ctl, 0, 1, 1, text, new Error('later')), false);
  assert.equal(ctl[0], 2, 'the first kind stays');
  assert.deepEqual(readJobFailure(ctl, 1, text), { code: 'ENOSPC', message: 'no space left' });
});

test('a failure without a code, a SabcacheError, a thrown non-Error and a message longer than the area', () => {
  const cases: [unknown, { code: string | undefined; message: string }][] = [
    [new Error('plain: with a colon\nand a newline'), { code: undefined, message: 'plain: with a colon\nand a newline' }],
    [new SabcacheError('SABCACHE_ERR_SNAPSHOT_CORRUPT', 'bad block'), { code: 'SABCACHE_ERR_SNAPSHOT_CORRUPT', message: 'bad block' }],
    ['a string', { code: undefined, message: 'a string' }],
    [new Error('x'.repeat(100)), { code: undefined, message: 'x'.repeat(63) }],
  ];
  for (const [e, expected] of cases) {
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const text = area();
    recordJobFailure(ctl, 0, 1, 1, text, e);
    assert.deepEqual(readJobFailure(ctl, 1, text), expected);
  }
});

test('a failure read back is raised with its class (sabcache codes) or its system code', () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const text = new Uint8Array(new SharedArrayBuffer(256));
  recordJobFailure(ctl, 0, 1, 1, text, new SnapshotCorruptError('bad block at 4096'));
  const { code, message } = readJobFailure(ctl, 1, text);
  const e = failureError(code, message);
  assert.ok(e instanceof SnapshotCorruptError, 'the class crossed the thread boundary');
  assert.equal((e as SnapshotCorruptError).code, 'SABCACHE_ERR_SNAPSHOT_CORRUPT');
  assert.equal(e.message, 'bad block at 4096');
  const sys = failureError('ENOSPC', 'no space left');
  assert.equal((sys as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.equal(failureError(undefined, 'plain').constructor, Error);
});

test('waitWhile returns at once for another value, and wakes when another thread moves the word', async () => {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  ctl[0] = 3;
  assert.equal(waitWhile(ctl, 0, 1), 3);
  // A worker moves the word after 30 ms without notifying: the bounded slice still ends the wait.
  const { Worker } = await import('node:worker_threads');
  const w = new Worker('const { workerData } = require("node:worker_threads"); const a = new Int32Array(workerData); setTimeout(() => { Atomics.store(a, 0, 7); }, 30);', { eval: true, workerData: ctl.buffer });
  ctl[0] = 1;
  assert.equal(waitWhile(ctl, 0, 1, 20), 7);
  await w.terminate();
});
