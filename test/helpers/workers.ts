import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../src/util/spawn-worker.ts';

/** Starts test/fixtures/NAME.ts in a worker thread. */
export function startFixture(name: string, workerData: unknown): Worker {
  return spawnWorker(new URL(`../fixtures/${name}.ts`, import.meta.url), { workerData });
}

/** Resolves with the worker's first message; rejects on error or on exit before one. */
export function firstMessage<T>(w: Worker, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker sent nothing in ${timeoutMs} ms (deadlock?)`)), timeoutMs);
    w.once('message', (m) => { clearTimeout(timer); resolve(m as T); });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
    w.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited with ${code} before answering`)); });
  });
}

/** Resolves when the worker has exited, with its exit code. */
export function exited(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once('exit', resolve));
}
