/**
 * HTTP throughput: sabcache's GET hits and PUTs against a bare uWebSockets.js server that
 * answers every request with a fixed 100-byte body (the ceiling of this stack), both with
 * the same number of server threads, driven by the same load generator with the same
 * connections and duration, one after the other.
 *
 * Load generator: wrk (Debian package `wrk`) when installed, else autocannon (a dev
 * dependency). Only 127.0.0.1 is targeted; every run is bounded in time.
 *
 * Method: both servers run at once (an idle one costs nothing); rounds alternate
 * bare GET, sabcache GET, bare PUT, sabcache PUT, and each cell reports the median over the
 * rounds, so drift on a shared machine hits both sides alike. With `taskset` (util-linux)
 * the load generator gets the last core and the servers the others; the default server
 * thread count is then cores − 1 (1 on a 2-core machine), otherwise all cores.
 *
 * Run: npm run bench:http   (results: bench/results/http.{json,md})
 * Env: BENCH_THREADS (server threads), BENCH_CONNECTIONS (default 64), BENCH_SECONDS (per
 *      run, default 5), BENCH_ROUNDS (default 3).
 */
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/server-process.ts';
import { CORES, LOAD_CPU, onLoadCpu, onServerCpus, PIN, ROOT, SERVER_CPUS, SERVER_THREADS, startProcess, stopProcess } from './helpers/processes.ts';

const THREADS = Number(process.env.BENCH_THREADS ?? SERVER_THREADS);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = 10_000;
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
if (!hasWrk) console.log('wrk is not installed (apt-get install wrk): using autocannon, which shares a core with Node work');

/** Starts a TypeScript entry of this repository on the servers' cores. */
function startNode(args: string[], ready: RegExp): Promise<ChildProcess> {
  return startProcess(onServerCpus([process.execPath, '--import', 'tsx', ...args]), ready);
}

/** Runs the load generator; returns requests per second and the count of non-2xx answers. */
async function load(port: number, kind: 'get' | 'put'): Promise<{ rps: number; non2xx: number }> {
  if (hasWrk) {
    const wrk = ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', `bench/wrk/${kind}-keys.lua`, `http://127.0.0.1:${port}`];
    const [cmd, ...args] = onLoadCpu(wrk);
    const out = execFileSync(cmd, args, {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) },
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    return { rps, non2xx };
  }
  let i = 0;
  const body = 'v'.repeat(100);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: SECONDS,
    requests: [{ setupRequest: (req) => ({ ...req, method: kind === 'get' ? 'GET' : 'PUT', path: `/v1/kv/key:${String((i = (i + 7919) % KEYS)).padStart(12, '0')}`, body: kind === 'put' ? body : undefined }) }],
  });
  return { rps: result.requests.average, non2xx: result.non2xx };
}

const rows: { server: string; kind: string; rps: number; non2xx: number; runs: number[] }[] = [];

const bare = await freePort();
const bareProc = await startNode(['bench/fixtures/bare-uws-server.ts', String(bare), String(THREADS)], /serving/);
const port = await freePort();
const adminPort = await freePort();
const sab = await startNode(['src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', String(THREADS), '--memory', '256mb'], /sabcache: serving|"msg":"serving /);
const value = new Uint8Array(100).fill(118);
for (let i = 0; i < KEYS; i += 100) {
  await Promise.all(Array.from({ length: 100 }, (_, j) => fetch(`http://127.0.0.1:${port}/v1/kv/key:${String(i + j).padStart(12, '0')}`, { method: 'PUT', body: value })));
}
const cells = [
  { server: 'bare uWS (fixed 100 B body)', kind: 'get', port: bare },
  { server: 'sabcache', kind: 'get', port },
  { server: 'bare uWS (fixed 100 B body)', kind: 'put', port: bare },
  { server: 'sabcache', kind: 'put', port },
] as const;
const runs = cells.map(() => [] as { rps: number; non2xx: number }[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, c] of cells.entries()) {
    runs[i].push(await load(c.port, c.kind));
    console.log(`round ${round + 1}: ${c.server} ${c.kind}: ${Math.round(runs[i].at(-1)!.rps)} req/s`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, c] of cells.entries()) {
  rows.push({ server: c.server, kind: c.kind, rps: median(runs[i].map((r) => r.rps)), non2xx: runs[i].reduce((s, r) => s + r.non2xx, 0), runs: runs[i].map((r) => Math.round(r.rps)) });
}
const stats = await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json() as { hits: number; misses: number };
await stopProcess(sab);
await stopProcess(bareProc);

const ratio = (kind: string) => rows.find((r) => r.server === 'sabcache' && r.kind === kind)!.rps / rows.find((r) => r.server !== 'sabcache' && r.kind === kind)!.rps;
const lines = [
  '# HTTP throughput: sabcache vs a bare uWebSockets.js server',
  '',
  `Node ${process.version}, ${CORES} cores; ${THREADS} server thread(s) each${PIN ? ` on CPU ${SERVER_CPUS}, load generator on CPU ${LOAD_CPU}` : ''}; ` +
    `${hasWrk ? 'wrk -t1' : 'autocannon'}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s, ` +
    `${KEYS} keys of 16 B with 100 B values; ${new Date().toISOString()}; command: \`npm run bench:http\``,
  '',
  '| server | requests | req/s (median) | runs | non-2xx |',
  '|---|---|---:|---|---:|',
  ...rows.map((r) => `| ${r.server} | ${r.kind === 'get' ? 'GET (hits)' : 'PUT 100 B'} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.runs.join(', ')} | ${r.non2xx} |`),
  '',
  `sabcache / bare uWS: GET ${ratio('get').toFixed(2)}×, PUT ${ratio('put').toFixed(2)}×. sabcache hit ratio during the run: ${(stats.hits / Math.max(1, stats.hits + stats.misses)).toFixed(4)}.`,
  '',
  'The load generator runs on the same machine as the servers.',
];
writeFileSync(new URL('./results/http.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/http.json', import.meta.url), JSON.stringify({ node: process.version, cores: CORES, pinned: PIN, threads: THREADS, connections: CONNECTIONS, seconds: SECONDS, generator: hasWrk ? 'wrk' : 'autocannon', rows, ratioGet: ratio('get'), ratioPut: ratio('put') }, null, 2) + '\n');
console.log(lines.join('\n'));
