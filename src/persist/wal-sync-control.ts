/**
 * The control block a WAL writer shares with its sync thread (`--fsync always`): twelve i32
 * words, then the failure slot's message area (job-protocol.ts). The writer appends records to the file on its own
 * thread; the sync thread runs the fdatasyncs, back to back while there is something new,
 * so the writer's event loop never waits on the disk.
 *
 * ```
 *  word 0 SYNC_REQUESTED  last batch the writer has written to the file (wraps; compared with (a - b) | 0)
 *  word 1 SYNC_DONE       last batch an fdatasync has covered (stored by the sync thread)
 *  word 2 SYNC_FILE       file epoch: bumped by the writer when it opens a new file (path on the port first)
 *  word 3 SYNC_STOP       1: the sync thread closes its descriptor and ends
 *  word 4 SYNC_FAILURES   fdatasyncs that failed (the writer logs when this grows)
 *  word 5 SYNC_COUNT      fdatasyncs that succeeded (for stats)
 *  word 6 SYNC_MICROS     how long the last fdatasync took, in microseconds
 *  word 7 SYNC_FAILED     failure slot: non-zero while a failure's message is recorded (job-protocol.ts)
 *  word 8 SYNC_MESSAGE_BYTES  the recorded message's length
 *  byte 48…               the message area (JOB_MESSAGE_MAX_BYTES)
 * ```
 *
 * @module
 */
import { JOB_MESSAGE_MAX_BYTES } from './job-protocol.ts';

/** Word: the last batch the writer has written to the file (stored by the writer). */
export const SYNC_REQUESTED = 0;
/** Word: the last batch an fdatasync has covered (stored by the sync thread). */
export const SYNC_DONE = 1;
/** Word: the file epoch, moved by the writer when it opens a new file. */
export const SYNC_FILE = 2;
/** Word: 1 asks the sync thread to end. */
export const SYNC_STOP = 3;
/** Word: fdatasyncs that failed. */
export const SYNC_FAILURES = 4;
/** Word: fdatasyncs that succeeded. */
export const SYNC_COUNT = 5;
/** Word: how long the last fdatasync took, in microseconds (the writer's choice of who syncs). */
export const SYNC_MICROS = 6;
/** Word: the failure slot (job-protocol.ts recordJobFailure); the writer clears it once it logged the failure. */
export const SYNC_FAILED = 7;
/** Word: the recorded failure message's length, in bytes. */
export const SYNC_MESSAGE_BYTES = 8;
/** Byte offset of the failure message area. */
export const SYNC_MESSAGE_OFFSET_BYTES = 12 * 4;
/** Bytes of the control block. */
export const SYNC_CONTROL_BYTES = SYNC_MESSAGE_OFFSET_BYTES + JOB_MESSAGE_MAX_BYTES;

/** Whether batch number `a` comes after `b` (batch numbers wrap at 2^32). */
export function batchAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
