/**
 * bench:code-cache: a piscina pool whose workers each require TypeScript 5's compiler (9 MB of
 * JavaScript, the dev dependency `typescript5`) and transpile a small file. Time from a
 * worker's spawn to its first answer, for the pool's first worker and for three later ones
 * (spawned together with a fourth task on the first; and one at a time, a pool of one each),
 * in four ways, each a fresh process
 * (bench/fixtures/code-cache-run.mjs over dist/, which `npm run bench:code-cache` builds):
 *
 * - `none`: no code cache;
 * - `v8-compile-cache`: its disk cache, warmed by a process run before the rounds;
 * - `sabcache`: sabcache/code-cache in a new cache (the first worker misses, stores, and
 *   stores again after its first task with saveModules; later workers hit);
 * - `snapshot`: a second process start from the snapshot the `sabcache` run wrote (every
 *   worker, the first too, hits).
 *
 * and two bounds: `floor` (workers that import and attach sabcache but require no
 * compiler) and `bare` (workers that require nothing).
 *
 * Rounds interleave the ways (rotated each round; `snapshot` right after `sabcache`);
 * medians of the rounds, and ratios to `none` as the median of each round's own ratio.
 *
 * Run: npm run bench:code-cache   (results: bench/results/code-cache.{md,json})
 * Env: BENCH_ROUNDS (default 7).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const RUNNER = new URL('./fixtures/code-cache-run.mjs', import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;

interface Run { mode: string; firstMs: number; laterMs: number[]; laterOneByOneMs: number[]; threads: number; saved: number; snapshotLoadMs: number; codeCache?: { hits: number; misses: number; rejected: number; storedBytes: number } }

const dir = mkdtempSync(join(tmpdir(), 'sabcache-code-bench-'));
const v8Dir = join(dir, 'v8-compile-cache');
const env = { ...process.env, V8_COMPILE_CACHE_CACHE_DIR: v8Dir };

function run(mode: string): Run {
  const out = execFileSync(process.execPath, [RUNNER, mode, dir], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Run;
  if (r.threads !== 4) throw new Error(`${mode}: the batch ran on ${r.threads} workers, not 4`);
  return r;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Warm-up: the page cache holds typescript.js for every way; v8-compile-cache's disk cache
// is written by a process that requires the compiler (its cache is saved at process exit;
// its key is the main module, the working directory here, as in the pool's workers).
run('none');
execFileSync(process.execPath, ['-e', "require('v8-compile-cache'); require('typescript5')"], { cwd: ROOT, env });
run('v8-compile-cache');

const MODES = ['none', 'v8-compile-cache', 'sabcache', 'floor', 'bare'] as const;
const runs: Record<string, Run[]> = { none: [], 'v8-compile-cache': [], sabcache: [], snapshot: [], floor: [], bare: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < MODES.length; i++) {
    const mode = MODES[(i + round) % MODES.length];
    runs[mode].push(run(mode));
    if (mode === 'sabcache') runs.snapshot.push(run('snapshot'));
  }
  console.log(`round ${round + 1}: ` + Object.entries(runs).map(([m, rs]) => `${m} first ${rs[round].firstMs.toFixed(0)} ms, later ${rs[round].laterMs.map((x) => x.toFixed(0)).join('/')} ms, one by one ${rs[round].laterOneByOneMs.map((x) => x.toFixed(0)).join('/')} ms`).join('; '));
}
rmSync(dir, { recursive: true, force: true });

const laterOf = (r: Run) => median(r.laterMs);
const oneByOneOf = (r: Run) => median(r.laterOneByOneMs);
const rows = Object.entries(runs).map(([mode, rs]) => {
  const first = rs.map((r) => r.firstMs);
  const later = rs.map(laterOf);
  const firstRatio = median(rs.map((r, k) => r.firstMs / runs.none[k].firstMs));
  const laterRatio = median(rs.map((r, k) => laterOf(r) / laterOf(runs.none[k])));
  const oneByOne = rs.map(oneByOneOf);
  const oneByOneRatio = median(rs.map((r, k) => oneByOneOf(r) / oneByOneOf(runs.none[k])));
  return {
    mode, firstMs: median(first), firstMin: Math.min(...first), firstMax: Math.max(...first),
    laterMs: median(later), laterMin: Math.min(...later), laterMax: Math.max(...later), firstRatio, laterRatio,
    oneByOneMs: median(oneByOne), oneByOneMin: Math.min(...oneByOne), oneByOneMax: Math.max(...oneByOne), oneByOneRatio,
    snapshotLoadMs: median(rs.map((r) => r.snapshotLoadMs)), codeCache: rs[rs.length - 1].codeCache,
  };
});

const f0 = (x: number) => x.toFixed(0);
const lines = [
  '# Code cache: a piscina pool requiring TypeScript 5',
  '',
  `Node ${process.version}; ${ROUNDS} rounds, ways interleaved (rotated each round), each run a fresh process; ${new Date().toISOString()}; command: \`npm run bench:code-cache\``,
  '',
  'A pool of at most 4 piscina workers (bench/fixtures/code-cache-run.mjs over dist/); each worker requires `typescript5` (TypeScript 5.9, 9 MB of JavaScript) when it starts and answers a task that transpiles a small file. "First": the pool\'s first worker, spawn to first answer. "Later, together": three more workers spawned at once (a batch of 4 tasks, one on the first worker; 3 workers starting on the VM\'s 2 cores), spawn to first answer, the median of the three. "Later, one by one": then three more workers spawned one at a time (a pool of one each; the earlier workers idle). Medians of the rounds (min–max); ratios to no cache are medians of each round\'s own ratio. `floor` and `bare` are bounds, not ways: a worker that requires no compiler, with sabcache imported and attached (`floor`) or nothing (`bare`).',
  '',
  '| way | first worker, ms | later, together, ms | later, one by one, ms | first ÷ none | later together ÷ none | later one by one ÷ none |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.mode} | ${f0(r.firstMs)} (${f0(r.firstMin)}–${f0(r.firstMax)}) | ${f0(r.laterMs)} (${f0(r.laterMin)}–${f0(r.laterMax)}) | ${f0(r.oneByOneMs)} (${f0(r.oneByOneMin)}–${f0(r.oneByOneMax)}) | ${r.firstRatio.toFixed(2)}× | ${r.laterRatio.toFixed(2)}× | ${r.oneByOneRatio.toFixed(2)}× |`),
  '',
  `sabcache's run: ${JSON.stringify(rows.find((r) => r.mode === 'sabcache')!.codeCache)}; the snapshot start loaded its snapshot in ${rows.find((r) => r.mode === 'snapshot')!.snapshotLoadMs.toFixed(1)} ms (median) before spawning, not counted above.`,
];
writeFileSync(new URL('./results/code-cache.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/code-cache.json', import.meta.url), JSON.stringify({ node: process.version, rounds: ROUNDS, rows, runs }, null, 2) + '\n');
console.log(lines.join('\n'));
