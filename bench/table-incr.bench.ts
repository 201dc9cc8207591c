/**
 * Aggregate in-process `incr` throughput with 1 and 2 threads: all threads on one shared
 * key (every increment takes the same bucket lock) and each thread on a key of its own.
 * Median of interleaved rounds.
 *
 * Run: npm run bench:incr   (results: bench/results/table-incr.{json,md})
 * Env: BENCH_ROUNDS (default 3).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SharedCache } from '../src/index.ts';
import { median, runWorkers } from './helpers/run-workers.ts';

const DURATION_MS = 2000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const cache = SharedCache.create({ memoryBytes: '64mb', maxValueBytes: '64kb' });

async function run(threads: number, shared: boolean): Promise<number> {
  return runWorkers(new URL('./fixtures/incr-worker.ts', import.meta.url), threads, DURATION_MS, (i) => ({ handle: cache.handle, key: shared ? 'counter' : `counter:${i}` }));
}

const cells = [[1, true], [2, true], [2, false]] as const;
const runs = cells.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, [threads, shared]] of cells.entries()) {
    runs[i].push(await run(threads, shared));
    console.log(`round ${round + 1}: ${threads} thread(s), ${shared ? 'one key' : 'a key each'}: ${Math.round(runs[i].at(-1)!).toLocaleString('en-US')} incr/s`);
  }
}
const rows = cells.map(([threads, shared], i) => ({ threads, keys: shared ? 'one shared key' : 'one key per thread', opsPerSecond: median(runs[i]), runs: runs[i].map(Math.round) }));
const lines = [
  '# In-process incr, aggregate over threads',
  '',
  `Node ${process.version}, ${availableParallelism()} cores; ${new Date().toISOString()}; median of ${ROUNDS} interleaved rounds of ${DURATION_MS} ms; command: \`npm run bench:incr\``,
  '',
  '| threads | keys | incr/s (all threads, median) | runs | vs 1 thread |',
  '|---:|---|---:|---|---:|',
  ...rows.map((r) => `| ${r.threads} | ${r.keys} | ${Math.round(r.opsPerSecond).toLocaleString('en-US')} | ${r.runs.join(', ')} | ${(r.opsPerSecond / rows[0].opsPerSecond).toFixed(2)}× |`),
];
writeFileSync(new URL('./results/table-incr.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/table-incr.json', import.meta.url), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
cache.close();
