/**
 * Runs `threads` benchmark workers together: each gets `data(i)` plus a shared `start`
 * buffer, reports 'ready', waits on `start`, works for its duration and reports `{ ops }`.
 * Resolves with the operations per second of all threads together.
 */
import { spawnWorker } from '../../src/util/spawn-worker.ts';

export async function runWorkers(entry: URL, threads: number, durationMs: number, data: (i: number) => object): Promise<number> {
  const start = new SharedArrayBuffer(4);
  const workers = Array.from({ length: threads }, (_, i) => spawnWorker(entry, { workerData: { ...data(i), durationMs, start } }));
  const results = workers.map((w) => new Promise<{ ops: number }>((resolve, reject) => {
    w.on('message', (m) => { if (m !== 'ready') resolve(m); });
    w.on('error', reject);
  }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  // Every thread is at the start line: release them at once.
  Atomics.store(new Int32Array(start), 0, 1);
  Atomics.notify(new Int32Array(start), 0);
  const done = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return done.reduce((s, r) => s + r.ops, 0) / (durationMs / 1000);
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
