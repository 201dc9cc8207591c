/**
 * What the shared-memory job control blocks have in common (docs/design.md §6): the snapshot
 * write (snapshot-write.ts), the snapshot load (snapshot-load.ts) and the WAL sync thread
 * (wal-sync-control.ts) each share an Int32Array with their helper threads, and each uses:
 *
 * - the **failure slot**: the first failure of the job, kept in the job's shared memory so
 *   that the thread that runs the job raises it once every thread has left. The message area
 *   holds `code` (empty without one), a newline, then the message: UTF-8, cut to the area's
 *   size ({@link JOB_MESSAGE_MAX_BYTES});
 * - the **bounded wait**: a thread waits for a word to leave a value in slices
 *   ({@link waitWhile}), so that a job that ends however it ends (a lead that throws, a
 *   helper that dies) never leaves a thread waiting for a notify that does not come.
 *
 * @module
 */
import { errorFromCode, isErrorCode } from '../errors.ts';

/**
 * Records `e` as the job's failure of `kind` (non-zero) when none is recorded yet: a
 * compare-exchange of `ctl[failedWord]` from 0 elects one writer; it writes the text into
 * `area`, then its length to `ctl[lengthWord]`. Returns whether this call recorded it.
 */
export function recordJobFailure(ctl: Int32Array, failedWord: number, kind: number, lengthWord: number, area: Uint8Array, e: unknown): boolean {
  // Ordering: the CAS elects one writer of the message; it writes the text, then its length
  // (a seq_cst store). The reader (readJobFailure) reads the length only after every thread
  // left the job, so it never sees half a message.
  if (Atomics.compareExchange(ctl, failedWord, 0, kind) !== 0) return false;
  const err = e as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const { written } = new TextEncoder().encodeInto(`${code}\n${message}`, area);
  Atomics.store(ctl, lengthWord, written);
  return true;
}

/** The failure {@link recordJobFailure} recorded in `area` (`code` undefined when it had none). */
export function readJobFailure(ctl: Int32Array, lengthWord: number, area: Uint8Array): { code: string | undefined; message: string } {
  const text = new TextDecoder().decode(area.subarray(0, Atomics.load(ctl, lengthWord)));
  const cut = text.indexOf('\n');
  return { code: text.slice(0, Math.max(0, cut)) || undefined, message: text.slice(cut + 1) };
}

/**
 * The error to raise for a failure read back: a sabcache code is made again with its class
 * (errors.ts errorFromCode); a system error keeps its code (`ENOSPC`, …) on an Error, as
 * Node raises it; no code gives a plain Error.
 */
export function failureError(code: string | undefined, message: string): Error {
  if (isErrorCode(code)) return errorFromCode(code, message);
  return code === undefined ? new Error(message) : Object.assign(new Error(message), { code });
}

/** Bytes of a job's failure message area. */
export const JOB_MESSAGE_MAX_BYTES = 2048;

/** Slice of a bounded wait, in milliseconds. */
export const JOB_WAIT_SLICE_MS = 50;

/**
 * Waits while `ctl[index]` holds `value`, in slices of `sliceMs` (so a missed notify costs
 * at most one slice). Returns the value that ended the wait.
 */
export function waitWhile(ctl: Int32Array, index: number, value: number, sliceMs = JOB_WAIT_SLICE_MS): number {
  // Ordering: Atomics.wait compares and sleeps atomically; the loop reloads after each slice.
  for (let v = Atomics.load(ctl, index); ; v = Atomics.load(ctl, index)) {
    if (v !== value) return v;
    Atomics.wait(ctl, index, value, sliceMs);
  }
}
