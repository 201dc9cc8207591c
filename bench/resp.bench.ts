/**
 * The same `redis-benchmark` binary with the same flags against sabcache's RESP port and
 * Redis 7, in the same run: `-t get,set,incr,lpush,mset`, `-P 1` and `-P 16`, `-c 50 -d 100
 * -r 10000`. Pinned: one server thread of each on the servers' core (taskset), the load on
 * the other. Both servers run at once; each round runs every cell against both, in
 * alternating order, and each cell reports the median over the rounds and the median of the
 * rounds' own ratios. A third server runs with them, pinned the same way: bare Node `net`
 * answering every command with a fixed reply (bench/fixtures/bare-resp-server.ts), the
 * floor of a RESP server on one Node thread, whose ratio to Redis bounds sabcache's. A last
 * pair of rows: sabcache with 2 threads against Redis with `io-threads 2`, both unpinned,
 * GET and SET at -P 16.
 *
 * A test sabcache does not serve yet (LPUSH: no lists) is reported as such, not measured.
 *
 * Run: npm run bench:resp   (results: bench/results/resp.{json,md})
 * Env: BENCH_ROUNDS (default 3), BENCH_REQUESTS (per cell, default 500000: a cell at -P 16 then runs for about a second, long enough that connection set-up and JIT warm-up do not weigh; LPUSH cells 8000,
 * from an empty list: a sabcache list is one entry of at most --max-value-bytes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { HUGE_PAGES_ENV, LOAD_CPU, onLoadCpu, onServerCpus, PIN, SERVER_CPUS, startProcess, stopProcess } from './helpers/processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500_000);
/** LPUSH requests per cell (the list must stay within 1 MiB; see cell()). */
const LPUSH_REQUESTS = 8_000;
const TESTS = ['get', 'set', 'incr', 'lpush', 'mset'];
const PIPELINES = [1, 16];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const missing = ['redis-server', 'redis-benchmark'].filter((c) => spawnSync(c, ['--version']).error !== undefined);
if (missing.length) throw new Error(`bench:resp needs ${missing.join(' and ')} (apt-get install redis-server redis-tools)`);

interface Target { name: string; port: number; stop: () => Promise<void> }

async function startSabcache(threads: number, pinned: boolean): Promise<Target> {
  const respPort = await freePort();
  const cmd = [process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(await freePort()), '--resp-port', String(respPort), '--threads', String(threads), '--memory', '256mb'];
  // With huge pages for the shared buffer, as `sabcache` and `npm start` run it (README: Huge pages).
  const proc = await startProcess(pinned ? onServerCpus(cmd) : cmd, /sabcache: serving|"msg":"serving /, HUGE_PAGES_ENV);
  return { name: `sabcache ${threads} thread${threads > 1 ? 's' : ''}`, port: respPort, stop: () => stopProcess(proc) };
}

async function startFloor(): Promise<Target> {
  const port = await freePort();
  const proc = await startProcess(onServerCpus([process.execPath, '--import', 'tsx', 'bench/fixtures/bare-resp-server.ts', String(port)]), /bare RESP: serving/);
  return { name: 'bare Node net', port, stop: () => stopProcess(proc) };
}

async function startRedis(ioThreads: number, pinned: boolean): Promise<Target> {
  const port = await freePort();
  const cmd = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...(ioThreads > 1 ? ['--io-threads', String(ioThreads), '--io-threads-do-reads', 'yes'] : [])];
  const proc = await startProcess(pinned ? onServerCpus(cmd) : cmd, /Ready to accept connections/);
  const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
  return { name: `Redis ${version}${ioThreads > 1 ? ` io-threads ${ioThreads}` : ''}`, port, stop: () => stopProcess(proc) };
}

/** requests per second of one redis-benchmark cell, or undefined when the server refused the command. */
function cell(t: Target, test: string, pipeline: number, pinned: boolean): number | undefined {
  // LPUSH grows one list (redis-benchmark's key 'mylist'): sabcache keeps a list in one entry
  // of at most --max-value-bytes (1 MiB: about 10,000 elements of 100 bytes), and
  // redis-benchmark stops at the first error reply. So each LPUSH cell starts from an empty
  // list and pushes LPUSH_REQUESTS elements, on both servers alike.
  if (test === 'lpush') spawnSync('redis-cli', ['-p', String(t.port), 'del', 'mylist']);
  const n = test === 'lpush' ? Math.min(REQUESTS, LPUSH_REQUESTS) : REQUESTS;
  const cmd = ['redis-benchmark', '-h', '127.0.0.1', '-p', String(t.port), '-t', test, '-P', String(pipeline), '-c', '50', '-d', '100', '-r', '10000', '-n', String(n), '--csv'];
  const [c, ...args] = pinned ? onLoadCpu(cmd) : cmd;
  const r = spawnSync(c, args, { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (/ERR unknown command/i.test(out)) return undefined;
  const row = out.split('\n').find((l) => /^"[A-Z]/.test(l) && !l.startsWith('"test"'));
  if (!row) throw new Error(`${t.name} ${test} -P ${pipeline}: no result in ${out.slice(0, 400)}`);
  return Number(JSON.parse(`[${row}]`)[1]);
}

/** Per cell, per target: requests per second of each round (undefined: not served). */
type Results = Record<string, (number | undefined)[][]>;

async function compare(targets: Target[], tests: string[], pipelines: number[], pinned: boolean, results: Results, eachRound = (): void => {}): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    eachRound();
    for (const test of tests) {
      for (const p of pipelines) {
        const key = `${test} -P ${p}`;
        results[key] ??= targets.map(() => []);
        // The order rotates each round: drift and a first-run effect hit every target alike.
        for (let j = 0; j < targets.length; j++) {
          const i = (j + round) % targets.length;
          results[key][i].push(cell(targets[i], test, p, pinned));
        }
        console.log(`round ${round + 1} ${key}: ${targets.map((t, i) => `${t.name} ${results[key][i].at(-1) ?? '—'}`).join(', ')}`);
      }
    }
  }
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Rows: each target's median req/s, then a/b as the ratio of medians, the median of per-round ratios, and the rounds' ratios, for each pair asked. */
function rows(targets: Target[], results: Results, pairs: [number, number][]): string[] {
  return Object.entries(results).map(([key, per]) => {
    const cells = per.map((rs) => (rs.some((x) => x === undefined) ? 'not served' : fmt(median(rs as number[]))));
    const ratios = pairs.map(([a, b]) => {
      if (per[a].some((x) => x === undefined) || per[b].some((x) => x === undefined)) return '— | — | —';
      const rounds = per[a].map((x, i) => (x as number) / (per[b][i] as number));
      return `${(median(per[a] as number[]) / median(per[b] as number[])).toFixed(2)}× | ${median(rounds).toFixed(2)}× | ${rounds.map((r) => r.toFixed(2)).join(', ')}`;
    });
    return `| ${key} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`;
  });
}

function header(targets: Target[], pairs: [number, number][]): string {
  const names = targets.map((t) => `${t.name} req/s (median)`);
  const ratio = pairs.flatMap(([a, b]) => [`${targets[a].name} / ${targets[b].name} (medians)`, 'median of per-round ratios', 'per-round']);
  const cols = ['test', ...names, ...ratio];
  return `| ${cols.join(' | ')} |\n|${cols.map((_, i) => (i === 0 || i > names.length && (i - names.length) % 3 === 0 ? '---' : '---:')).join('|')}|`;
}

/** The table alone on the servers' core, with the same keyspace (bench/fixtures/resp-table-rate.ts), once per round. */
function tableRate(): { get: number; set: number } {
  const cmd = onServerCpus([process.execPath, '--import', 'tsx', 'bench/fixtures/resp-table-rate.ts', '1']);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60_000, env: HUGE_PAGES_ENV });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { get: number; set: number };
}

const pinnedResults: Results = {};
const tableRates: { get: number; set: number }[] = [];
const sab1 = await startSabcache(1, true);
const redis1 = await startRedis(1, true);
const floor1 = await startFloor();
const pinnedTargets = [sab1, redis1, floor1];
try {
  await compare(pinnedTargets, TESTS, PIPELINES, true, pinnedResults, () => tableRates.push(tableRate()));
} finally {
  await sab1.stop();
  await redis1.stop();
  await floor1.stop();
}
const threadResults: Results = {};
const sab2 = await startSabcache(2, false);
const redis2 = await startRedis(2, false);
try {
  await compare([sab2, redis2], ['get', 'set'], [16], false, threadResults);
} finally {
  await sab2.stop();
  await redis2.stop();
}

const lines = [
  '# RESP: redis-benchmark against sabcache and Redis',
  '',
  `Node ${process.version}; \`redis-benchmark -t <test> -P <p> -c 50 -d 100 -r 10000 -n ${REQUESTS} --csv\` (LPUSH: -n ${Math.min(REQUESTS, LPUSH_REQUESTS)} from an empty list, see the bench's header); ${ROUNDS} rounds, every cell against every server in rotating order; ${new Date().toISOString()}; command: \`${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${ROUNDS} ` : ''}${process.env.BENCH_REQUESTS ? `BENCH_REQUESTS=${REQUESTS} ` : ''}npm run bench:resp\``,
  '',
  `## One server thread each${PIN ? ` on CPU ${SERVER_CPUS}, redis-benchmark on CPU ${LOAD_CPU}` : ' (no taskset: unpinned)'}: ${sab1.name}, ${redis1.name}, and ${floor1.name}`,
  '',
  `${floor1.name}: Node's \`net\` answering each command with a fixed reply and nothing else (bench/fixtures/bare-resp-server.ts), the floor of any RESP server on one Node thread. Its ratio to Redis bounds what sabcache can reach with this stack.`,
  '',
  header(pinnedTargets, [[0, 1], [2, 1], [0, 2]]),
  ...rows(pinnedTargets, pinnedResults, [[0, 1], [2, 1], [0, 2]]),
  '',
  '### A bound from measured parts',
  '',
  'One thread serving RESP spends at least what the bare server spends per command (the floor) plus what the table spends per command (`bench/fixtures/resp-table-rate.ts`: the same 10,000 keys, 100 B values and 256 MiB cache, keys read in place, on the servers\' core, at the start of each round, the servers idle). So sabcache at one thread can reach at most 1 / (1/floor + 1/table) commands per second, however cheap its parser and replies become:',
  '',
  '| test | table alone, ops/s (median of rounds) | floor req/s | bound req/s | bound / Redis | sabcache / bound |',
  '|---|---:|---:|---:|---:|---:|',
  ...(['get', 'set'] as const).flatMap((op) => PIPELINES.map((p) => {
    const key = `${op} -P ${p}`;
    const table = median(tableRates.map((t) => t[op]));
    const floor = median(pinnedResults[key][2] as number[]);
    const bound = 1 / (1 / floor + 1 / table);
    return `| ${key} | ${fmt(table)} | ${fmt(floor)} | ${fmt(bound)} | ${(bound / median(pinnedResults[key][1] as number[])).toFixed(2)}× | ${(median(pinnedResults[key][0] as number[]) / bound).toFixed(2)}× |`;
  })),
  '',
  `## Unpinned: ${sab2.name} against ${redis2.name}`,
  '',
  header([sab2, redis2], [[0, 1]]),
  ...rows([sab2, redis2], threadResults, [[0, 1]]),
];
writeFileSync(new URL('./results/resp.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/resp.json', import.meta.url), JSON.stringify({ node: process.version, rounds: ROUNDS, requests: REQUESTS, pinned: pinnedResults, tableRates, threads: threadResults }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
