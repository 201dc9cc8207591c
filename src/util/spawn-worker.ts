import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from `entry`. A `.ts` entry (running from source under tsx) goes
 * through `workers/ts-bootstrap.mjs`, which registers tsx in the new thread first; a `.js`
 * entry starts directly.
 */
export function spawnWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const bootstrap = new URL('../../workers/ts-bootstrap.mjs', import.meta.url);
  return new Worker(bootstrap, { ...options, argv: [entry.href, ...(options.argv ?? [])] });
}

/** The URL of module `name` next to `base`, with the extension `base` runs from (.ts or .js). */
export function siblingModule(relative: string, base: string): URL {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(relative + ext, base);
}

/**
 * Piscina options that run the task module `entry`: a `.ts` entry (from source, under tsx)
 * goes through `workers/ts-piscina-bootstrap.mjs`, which registers tsx in each pool thread
 * and re-exports the entry's default export; a `.js` entry is the pool's filename itself.
 * `workerData.entry` names the entry either way.
 */
export function piscinaTask(entry: URL): { filename: string; workerData: { entry: string } } {
  if (!entry.pathname.endsWith('.ts')) return { filename: entry.href, workerData: { entry: entry.href } };
  return { filename: new URL('../../workers/ts-piscina-bootstrap.mjs', import.meta.url).href, workerData: { entry: entry.href } };
}
