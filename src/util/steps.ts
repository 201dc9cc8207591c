/**
 * Long work written once as a generator of steps, run either at once or a step per
 * event-loop turn (so that a server keeps answering, its health checks say how far the
 * work has come: snapshot loading and WAL replay on start).
 *
 * @module
 */

/** Runs `steps` to the end without pausing; returns what it returns. */
export function runSteps<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs `steps` to the end, giving the event loop a turn (setImmediate) after each step;
 * `onStep` sees what each step yields. Resolves with what it returns; rejects with what it throws.
 */
export async function runStepsAsync<T, P>(steps: Generator<P, T>, onStep?: (p: P) => void): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    onStep?.(r.value);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
