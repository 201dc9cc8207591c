/**
 * Aggregate in-process `getBytes` throughput with 1, 2 and 4 threads reading one shared
 * cache of 100k keys (16 B keys, 100 B values). Readers write no shared memory on a hit
 * (docs/design.md §3), so reads should scale with cores; this machine's core count is printed.
 *
 * Rounds alternate 1, 2, 4 threads; each row is the median over the rounds, so drift on a
 * shared machine hits every row alike.
 *
 * Run: npm run bench   (results: bench/results/table-threads.{json,md})
 * Env: BENCH_ROUNDS (default 3).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SharedCache } from '../src/index.ts';
import { median, runWorkers } from './helpers/run-workers.ts';

const KEYS = 100_000;
const DURATION_MS = 3000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const cache = SharedCache.create({ memoryBytes: '64mb', maxValueBytes: '64kb' });
const value = new Uint8Array(100).fill(7);
for (let i = 0; i < KEYS; i++) cache.set(`key:${String(i).padStart(12, '0')}`, value);

async function run(threads: number): Promise<number> {
  return runWorkers(new URL('./fixtures/get-worker.ts', import.meta.url), threads, DURATION_MS, (i) => ({ handle: cache.handle, keyCount: KEYS, seed: i * 7919 + 1 }));
}

const counts = [1, 2, 4];
const runs = counts.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, threads] of counts.entries()) {
    runs[i].push(await run(threads));
    console.log(`round ${round + 1}: ${threads} thread(s): ${Math.round(runs[i].at(-1)!).toLocaleString('en-US')} getBytes/s`);
  }
}
const rows = counts.map((threads, i) => ({ threads, opsPerSecond: median(runs[i]), runs: runs[i].map(Math.round) }));
const one = rows[0].opsPerSecond;
const lines = [
  '# Aggregate in-process getBytes, 100k keys (16 B keys, 100 B values)',
  '',
  `Node ${process.version}, ${process.arch}, ${availableParallelism()} cores; ${new Date().toISOString()}; median of ${ROUNDS} interleaved rounds of ${DURATION_MS} ms; command: \`npm run bench\``,
  '',
  '| threads | getBytes/s (all threads, median) | runs | vs 1 thread |',
  '|---:|---:|---|---:|',
  ...rows.map((r) => `| ${r.threads} | ${Math.round(r.opsPerSecond).toLocaleString('en-US')} | ${r.runs.join(', ')} | ${(r.opsPerSecond / one).toFixed(2)}× |`),
];
writeFileSync(new URL('./results/table-threads.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/table-threads.json', import.meta.url), JSON.stringify({ node: process.version, cores: availableParallelism(), date: new Date().toISOString(), rows }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
cache.close();
