/**
 * A WAL writer's sync thread (wal-writer.ts, `--fsync always` on a disk whose fdatasync
 * takes over INLINE_SYNC_MAX_MICROS; control words in wal-sync-control.ts). It sleeps
 * until the writer has written a batch it has not covered, runs one fdatasync for
 * everything written so far, publishes the batch it covered, and goes again at once if
 * more came meanwhile: group commit, with the writer's event loop serving requests while
 * the disk works.
 *
 * It opens the writer's current file by path (the path comes on the port, before the file
 * epoch moves). fdatasync flushes a file's data whatever descriptor wrote it.
 *
 * workerData: `{ control, port }`: the control block (SharedArrayBuffer) and a MessagePort
 * on which the writer posts the path of each file it opens.
 *
 * @module
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { recordJobFailure } from './job-protocol.ts';
import { batchAfter, SYNC_COUNT, SYNC_DONE, SYNC_FAILED, SYNC_FAILURES, SYNC_FILE, SYNC_MESSAGE_BYTES, SYNC_MESSAGE_OFFSET_BYTES, SYNC_MICROS, SYNC_REQUESTED, SYNC_STOP } from './wal-sync-control.ts';

const { control, port } = workerData as { control: SharedArrayBuffer; port: MessagePort };
const ctl = new Int32Array(control, 0, SYNC_MESSAGE_OFFSET_BYTES / 4);
const messageArea = new Uint8Array(control, SYNC_MESSAGE_OFFSET_BYTES);
let fd = -1;
let epoch = 0;
/** The newest path the writer posted. */
let path: string | undefined;
let covered = Atomics.load(ctl, SYNC_DONE);

for (;;) {
  const requested = Atomics.load(ctl, SYNC_REQUESTED);
  if (Atomics.load(ctl, SYNC_STOP) === 1) break;
  if (!batchAfter(requested, covered)) {
    // Sleep until the writer stores a new request (or the stop, which notifies too).
    Atomics.wait(ctl, SYNC_REQUESTED, requested);
    continue;
  }
  // Ordering: the file epoch is read after the request. The writer posts the path and moves
  // the epoch before it requests the first batch written to a new file, so a request seen
  // here comes with (at least) the epoch of the file that batch went to.
  const fileEpoch = Atomics.load(ctl, SYNC_FILE);
  try {
    if (fileEpoch !== epoch) {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) path = m.message as string;
      if (path === undefined) throw new Error('the file epoch moved without a path');
      if (fd >= 0) closeSync(fd);
      fd = -1;
      fd = openSync(path, 'r');
      epoch = fileEpoch;
    }
    if (fd < 0) throw new Error('a batch was requested before any file was named');
    // Batches written to an earlier file were synced by the writer when it closed that file.
    const t0 = performance.now();
    fdatasyncSync(fd);
    // Figures (stats, and the writer's choice of who syncs): atomic only so the writer reads
    // whole numbers; no order needed.
    Atomics.store(ctl, SYNC_MICROS, Math.min(2 ** 31 - 1, Math.round((performance.now() - t0) * 1000)));
    Atomics.add(ctl, SYNC_COUNT, 1);
    covered = requested;
    // Ordering: published only after fdatasync returned: the writer answers every request of
    // batches up to this one as soon as it reads it.
    Atomics.store(ctl, SYNC_DONE, requested);
    Atomics.notify(ctl, SYNC_DONE);
  } catch (e) {
    // The records may not be on disk: nothing is published; the writer logs, and the next
    // round (after a pause) tries again. Ordering: the failure is recorded (when the slot is
    // free) before the count moves, and the writer reads the slot only when the count moved.
    recordJobFailure(ctl, SYNC_FAILED, 1, SYNC_MESSAGE_BYTES, messageArea, e);
    Atomics.add(ctl, SYNC_FAILURES, 1);
    Atomics.wait(ctl, SYNC_STOP, 0, 100);
  }
}
if (fd >= 0) closeSync(fd);
port.close();
