import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
const t0 = performance.now();
const { SharedCache } = await import('../dist/src/index.js');
const { installCodeCache } = await import('../dist/src/code-cache/index.js');
const tImport = performance.now() - t0;
const require = createRequire(import.meta.url);
if (isMainThread) {
  const cache = SharedCache.create({ memoryBytes: 256 << 20, maxValueBytes: 16 << 20 });
  const cc = installCodeCache(cache);
  const ts = require('typescript5');
  ts.transpileModule('let a: number = 1', {});
  cc.saveModules();
  for (let i = 0; i < 5; i++) {
    const r = await new Promise((res) => { const w = new Worker(new URL(import.meta.url), { workerData: cache.handle }); w.once('message', res); });
    console.log(JSON.stringify(r));
  }
  cache.close();
} else {
  const t1 = performance.now();
  const cache = SharedCache.attach(workerData);
  const cc = installCodeCache(cache);
  const tAttach = performance.now() - t1;
  const t2 = performance.now();
  const ts = require('typescript5');
  const tRequire = performance.now() - t2;
  const t3 = performance.now();
  ts.transpileModule('let a: number = 1', {});
  const tTask = performance.now() - t3;
  const path = require.resolve('typescript5');
  const src = readFileSync(path, 'utf8');
  let t = performance.now(); const key = cc.keyOf(src, path); const tHash = performance.now() - t;
  t = performance.now(); const rec = cache.getBytes(key); const tGet = performance.now() - t;
  t = performance.now(); createHash('sha256').update(rec ?? Buffer.alloc(5_900_000, 7)).digest(); const tRecHash = performance.now() - t;
  parentPort.postMessage({ tImport: tImport.toFixed(1), tAttach: tAttach.toFixed(1), tRequire: tRequire.toFixed(1), tTask: tTask.toFixed(1), tHash: tHash.toFixed(1), tGet: tGet.toFixed(1), tRecHash: tRecHash.toFixed(1), mb: (rec?.length / 1e6).toFixed(1), st: cache.stats().codeCacheHits });
  cache.close();
}
