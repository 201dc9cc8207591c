import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { SYNC_CONTROL_BYTES, SYNC_DONE, SYNC_FAILED, SYNC_FAILURES, SYNC_FILE, SYNC_REQUESTED, SYNC_STOP } from '../../src/persist/wal-sync-control.ts';
import { syncFailure } from '../../src/persist/wal-writer.ts';
import { siblingModule, spawnWorker } from '../../src/util/spawn-worker.ts';

test('a sync thread that cannot sync records why in the failure slot, publishes nothing, and stops when asked', async () => {
  const ctl = new Int32Array(new SharedArrayBuffer(SYNC_CONTROL_BYTES));
  const { port1, port2 } = new MessageChannel();
  const worker = spawnWorker(siblingModule('../../src/persist/wal-sync-worker', import.meta.url), { workerData: { control: ctl.buffer, port: port2 }, transferList: [port2] });
  try {
    // A file that does not exist: its open fails on the sync thread.
    port1.postMessage('/nonexistent/sabcache-wal-test.log');
    Atomics.add(ctl, SYNC_FILE, 1);
    Atomics.store(ctl, SYNC_REQUESTED, 1);
    Atomics.notify(ctl, SYNC_REQUESTED);
    for (let i = 0; i < 500 && Atomics.load(ctl, SYNC_FAILURES) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(Atomics.load(ctl, SYNC_FAILURES) >= 1, 'the failure is counted');
    assert.equal(Atomics.load(ctl, SYNC_DONE), 0, 'nothing is published as durable');
    assert.match(syncFailure(ctl), /^ENOENT: .*nonexistent/);
    assert.equal(Atomics.load(ctl, SYNC_FAILED), 0, 'the slot is free again for the next failure');
  } finally {
    Atomics.store(ctl, SYNC_STOP, 1);
    Atomics.notify(ctl, SYNC_REQUESTED);
    Atomics.notify(ctl, SYNC_STOP);
    const exit = await new Promise<number>((resolve) => worker.once('exit', resolve));
    assert.equal(exit, 0, 'it ends by itself once asked');
    port1.close();
  }
});
