/**
 * Lowers the CPU priority of the calling thread only (not the process), so background work
 * such as writing a snapshot yields the core to server threads when both want it, and runs
 * at full speed when the core is otherwise idle.
 *
 * Linux only: there a thread is a task with its own nice value, its id is read from
 * `/proc/thread-self`, and `os.setPriority(tid, …)` (setpriority(2) with PRIO_PROCESS)
 * changes that task alone. Elsewhere this does nothing and returns false.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The calling thread's kernel task id (Linux), or 0. */
function threadTid(): number {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/')[2]);
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

/**
 * Sets the calling thread's nice value to `nice` (-20 to 19; 19 = lowest priority).
 * Returns whether it did; never throws (a thread that cannot be reniced runs as it was).
 */
export function lowerThisThreadPriority(nice = 19): boolean {
  if (process.platform !== 'linux') return false;
  const tid = threadTid();
  if (tid === 0) return false;
  try {
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts the calling thread in the SCHED_IDLE class (Linux): it runs only when no other
 * thread wants the core, and a waking server thread preempts it at once, where nice 19
 * still gets time slices of its own. Uses util-linux's `chrt --idle` on this thread's
 * task id. Returns whether it did; never throws (without `chrt`, or on another system, the
 * thread keeps its class: call {@link lowerThisThreadPriority} as well).
 */
export function makeThisThreadIdleClass(): boolean {
  if (process.platform !== 'linux') return false;
  const tid = threadTid();
  if (tid === 0) return false;
  try {
    execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
