/**
 * In-process get/set of 100k keys (16-byte keys, 100-byte values): sabcache against a
 * plain `Map` and `lru-cache` (`max` = 200k entries), single-threaded, with benny.
 * Each case runs 1,000 operations per call; figures are operations per second.
 *
 * Run: npm run bench   (results: bench/results/table-get-set.{json,md})
 */
import b from 'benny';
import { writeFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../src/index.ts';

const N = 100_000;
const BATCH = 1000;
const keys = Array.from({ length: N }, (_, i) => `key:${String(i).padStart(12, '0')}`); // 16 bytes
const valueStr = 'v'.repeat(100);
const valueBytes = new Uint8Array(100).fill(118);
// A fixed pseudo-random visiting order, the same for every contender.
const order = new Uint32Array(1 << 20);
for (let i = 0, x = 12345; i < order.length; i++) order[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % N;
let pos = 0;
const nextKey = (): string => keys[order[(pos = (pos + 1) & (order.length - 1))]];

// Every key gets its own value object, as in any real cache (one shared object would sit in
// L1 and flatter Map and lru-cache, which return a reference without touching its bytes).
const values = keys.map(() => new Uint8Array(100).fill(118));
const map = new Map<string, Uint8Array>();
const lru = new LRUCache<string, Uint8Array>({ max: 200_000 });
const cache = SharedCache.create({ memoryBytes: '64mb', maxValueBytes: '64kb' });
for (const [i, k] of keys.entries()) {
  map.set(k, values[i]);
  lru.set(k, values[i]);
  cache.set(k, values[i]);
}
let sink = 0;

interface Row { suite: string; name: string; opsPerSecond: number; margin: number }
const rows: Row[] = [];
const collect = (suite: string) => b.complete((summary) => {
  for (const r of summary.results) rows.push({ suite, name: r.name, opsPerSecond: r.ops * BATCH, margin: r.margin });
});

await b.suite('get (hit)',
  b.add('Map.get', () => { for (let i = 0; i < BATCH; i++) sink += map.get(nextKey())?.length ?? 0; }),
  b.add('lru-cache get', () => { for (let i = 0; i < BATCH; i++) sink += lru.get(nextKey())?.length ?? 0; }),
  b.add('sabcache getBytes', () => { for (let i = 0; i < BATCH; i++) sink += cache.getBytes(nextKey())?.length ?? 0; }),
  b.add('sabcache get (string)', () => { for (let i = 0; i < BATCH; i++) sink += cache.get(nextKey())?.length ?? 0; }),
  b.add('sabcache has', () => { for (let i = 0; i < BATCH; i++) sink += +cache.has(nextKey()); }),
  b.cycle(), collect('get (hit)'),
);
await b.suite('set (replace)',
  b.add('Map.set', () => { for (let i = 0; i < BATCH; i++) map.set(nextKey(), valueBytes); }),
  b.add('lru-cache set', () => { for (let i = 0; i < BATCH; i++) lru.set(nextKey(), valueBytes); }),
  b.add('sabcache set (bytes)', () => { for (let i = 0; i < BATCH; i++) cache.set(nextKey(), valueBytes); }),
  b.add('sabcache set (string)', () => { for (let i = 0; i < BATCH; i++) cache.set(nextKey(), valueStr); }),
  b.cycle(), collect('set (replace)'),
);

const lruOf = (suite: string) => rows.find((r) => r.suite === suite && r.name.startsWith('lru-cache'))!.opsPerSecond;
const lines = [
  `# In-process get/set, 100k keys (16 B keys, 100 B values), 1 thread`,
  '',
  `Node ${process.version}, ${process.arch}; ${new Date().toISOString()}; command: \`npm run bench\``,
  '',
  '| suite | contender | ops/s | ± % | vs lru-cache |',
  '|---|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.suite} | ${r.name} | ${Math.round(r.opsPerSecond).toLocaleString('en-US')} | ${r.margin.toFixed(1)} | ${(r.opsPerSecond / lruOf(r.suite)).toFixed(2)}× |`),
];
writeFileSync(new URL('./results/table-get-set.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/table-get-set.json', import.meta.url), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
cache.close();
if (sink === 42) console.log('');
