/**
 * `set` latency under constant eviction: p50/p99/p99.9 of in-process `set` of unique keys
 * (16 B keys, 100 B values) from a worker thread while the cache is full and evicting,
 * against the same writes into caches of the same size that are never more than 3/4 full
 * (no memory pressure; same index size and memory, so only eviction differs).
 *
 * The creating (main) thread is the owner and runs maintenance on its 50 ms timer as in a
 * server: it evicts ahead of the writer, compacts and sweeps; a writer that still finds no
 * free segment evicts one itself. One writer thread, so the owner has the other core.
 * Under pressure the cache gets about 10× what it holds; in both cases the sets after the
 * first quarter of a cache's run are timed (the first are JIT warm-up). Rounds alternate the two cases; each percentile is the median over
 * rounds. Segment pages are faulted in before the sets in both cases.
 *
 * Run: npm run bench:latency   (results: bench/results/set-latency.{md,json})
 * Env: BENCH_SETS (under pressure, per round; default 2000000), BENCH_ROUNDS (default 3).
 */
import { writeFileSync } from 'node:fs';
import { SharedCache } from '../src/index.ts';
import { entryBytes } from '../src/table/layout.ts';
import { planGeometry } from '../src/table/sizing.ts';
import { spawnWorker } from '../src/util/spawn-worker.ts';
import { median } from './helpers/run-workers.ts';

const SETS = Number(process.env.BENCH_SETS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SKIP = Math.floor(SETS / 4);
const PERCENTILES = [0.5, 0.99, 0.999] as const;
const ITEM_BYTES = entryBytes(16, 100);
const CACHE_OPTIONS = { maxValueBytes: '64kb' } as const;
const MEMORY_BYTES = Math.ceil((SETS * ITEM_BYTES) / 10 / 2 ** 20) * 2 ** 20;
/** Sets that fill 3/4 of MEMORY_BYTES's segments (none evicted for lack of segments). */
const FITTING = (() => {
  const g = planGeometry({ memoryBytes: MEMORY_BYTES, maxKeyBytes: 1024, maxValueBytes: 64 * 1024, expectedItemBytes: 128 });
  return Math.floor(((g.segmentCount * g.segmentBytes) / ITEM_BYTES) * 0.75);
})();
const cases = [
  // The same cache size, written only up to 3/4 full, in fresh caches until as many sets are
  // timed; the first quarter of each is not timed (JIT warm-up), as under pressure.
  { name: 'no memory pressure', count: FITTING, skip: Math.floor(FITTING / 4), caches: Math.ceil((SETS - SKIP) / (FITTING - Math.floor(FITTING / 4))) },
  { name: 'constant eviction', count: SETS, skip: SKIP, caches: 1 },
];

interface CaseResult { percentilesNs: number[]; evictions: number; evictedSegments: number; meanNs: number }

async function runCache(count: number, skip: number): Promise<{ latencies: Float64Array; evictedSegments: number; evictions: number }> {
  const cache = SharedCache.create({ memoryBytes: MEMORY_BYTES, ...CACHE_OPTIONS });
  // Fault the (still all-zero) segment pages in first: the timed sets then never pay a
  // first-touch page fault, in either case.
  const { u8, g } = cache.table.v;
  for (let i = g.segmentsOffset; i < u8.length; i += 4096) u8[i] = 0;
  const worker = spawnWorker(new URL('./fixtures/set-latency-worker.ts', import.meta.url), { workerData: { handle: cache.handle, count, skip } });
  const latencies = await new Promise<Float64Array>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const s = cache.stats();
  cache.close();
  return { latencies, evictedSegments: s.evictedSegments, evictions: s.evictions };
}

async function run(c: (typeof cases)[number]): Promise<CaseResult> {
  const parts: Float64Array[] = [];
  let evictions = 0;
  let evictedSegments = 0;
  for (let i = 0; i < c.caches; i++) {
    const r = await runCache(c.count, c.skip);
    parts.push(r.latencies);
    evictions += r.evictions;
    evictedSegments += r.evictedSegments;
  }
  const sorted = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    sorted.set(p, at);
    at += p.length;
  }
  sorted.sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    percentilesNs: PERCENTILES.map((p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]),
    evictions,
    evictedSegments,
    meanNs: sum / sorted.length,
  };
}

const results = cases.map(() => [] as CaseResult[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, c] of cases.entries()) {
    results[i].push(await run(c));
    const r = results[i].at(-1)!;
    console.log(`round ${round + 1}, ${c.name}: p50 ${r.percentilesNs[0].toFixed(0)} ns, p99 ${r.percentilesNs[1].toFixed(0)} ns, p99.9 ${r.percentilesNs[2].toFixed(0)} ns, items evicted ${r.evictions}, segments evicted ${r.evictedSegments}`);
  }
}
const rows = cases.map((c, i) => ({
  case: c.name,
  timedSets: c.caches * (c.count - c.skip),
  percentilesNs: PERCENTILES.map((_, p) => median(results[i].map((r) => r.percentilesNs[p]))),
  meanNs: median(results[i].map((r) => r.meanNs)),
  evictions: median(results[i].map((r) => r.evictions)),
  evictedSegments: median(results[i].map((r) => r.evictedSegments)),
  rounds: results[i].map((r) => r.percentilesNs.map(Math.round)),
}));
const base = rows[0];
const us = (ns: number) => (ns / 1000).toFixed(2);
const md = [
  '# `set` latency under constant eviction',
  '',
  `Node ${process.version}; ${new Date().toISOString()}; memoryBytes ${MEMORY_BYTES / 2 ** 20} MiB in both cases; unique-key sets (16 B keys, 100 B values) from one worker thread, owner maintenance on the main thread. Constant eviction: ${SETS.toLocaleString('en-US')} sets into one cache (about 10× what it holds), the last ${(SETS - SKIP).toLocaleString('en-US')} timed. No memory pressure: fresh caches written to 3/4 of what they hold (${FITTING.toLocaleString('en-US')} sets each), all but the first quarter of each timed. Segment pages faulted in first. Median of ${ROUNDS} interleaved rounds; command: \`npm run bench:latency\``,
  '',
  '| case | sets timed | p50 µs | p99 µs | p99.9 µs | mean µs | items / segments evicted | p99.9 vs no pressure | rounds (p50/p99/p99.9 ns) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.case} | ${r.timedSets.toLocaleString('en-US')} | ${us(r.percentilesNs[0])} | ${us(r.percentilesNs[1])} | ${us(r.percentilesNs[2])} | ${us(r.meanNs)} | ${r.evictions.toLocaleString('en-US')} / ${r.evictedSegments.toLocaleString('en-US')} | ${(r.percentilesNs[2] / base.percentilesNs[2]).toFixed(2)}× | ${r.rounds.map((x) => x.join('/')).join('; ')} |`),
  '',
];
writeFileSync(new URL('./results/set-latency.md', import.meta.url), md.join('\n'));
writeFileSync(new URL('./results/set-latency.json', import.meta.url), JSON.stringify({ node: process.version, date: new Date().toISOString(), memoryBytes: MEMORY_BYTES, rows }, null, 2) + '\n');
console.log('\n' + md.join('\n'));
