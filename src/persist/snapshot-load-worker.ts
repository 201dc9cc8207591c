/**
 * A snapshot-load helper thread (snapshot-load.ts): attaches the cache, then runs each load
 * job the main thread posts until it is told to close, and detaches.
 *
 * workerData: `{ handle, life }`: the cache's handle and this helper's life word (a
 * 4-byte SharedArrayBuffer, snapshot-load.ts LIFE_*).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../shared-cache.ts';
import { SnapshotBlockReader } from './snapshot-format.ts';
import { LIFE_ATTACHED, LIFE_BOOTING, LIFE_GONE, type LoadJob, runLoadJob } from './snapshot-load.ts';

const { handle, life: lifeBuffer } = workerData as { handle: SharedCacheHandle; life: SharedArrayBuffer };
const life = new Int32Array(lifeBuffer);

/** Marks this helper gone and wakes the main thread if it waits in LoadHelpers.close. */
function gone(): void {
  // Ordering: called after the cache is detached (or was never attached), so the main
  // thread, which waits for LIFE_GONE in LoadHelpers.close, finds this thread block free.
  Atomics.store(life, 0, LIFE_GONE);
  Atomics.notify(life, 0);
  parentPort!.close();
}

// Ordering: this CAS races the main thread's in LoadHelpers.close; only if it wins may this
// thread attach (otherwise the load is over and nobody would wait for it to detach).
if (Atomics.compareExchange(life, 0, LIFE_BOOTING, LIFE_ATTACHED) === LIFE_BOOTING) {
  let cache: SharedCache | undefined;
  try {
    cache = SharedCache.attach(handle);
  } catch {
    gone(); // no thread block free: the main thread loads without this helper
  }
  if (cache) {
    const attached = cache;
    const reader = new SnapshotBlockReader();
    parentPort!.on('message', (m: { type: 'job'; job: LoadJob } | { type: 'close' }) => {
      if (m.type === 'job') return runLoadJob(attached.table, m.job, reader, true);
      attached.close();
      gone();
    });
  }
}
