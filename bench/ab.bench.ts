/**
 * Paired A/B of two checkouts' servers on the hot paths: HTTP GET and PUT (wrk) and
 * WebSocket GET and SET at depth 16 (bench/fixtures/ws-load.ts, 50 connections). Each round
 * starts both servers afresh, in alternating order (one server thread each, both on the
 * servers' CPU; an idle one costs nothing), and runs each cell as A B B A (B A A B in odd
 * rounds), each side's figure the mean of its two runs, so that this VM's drift and any
 * effect of start order or position hit both alike. Two figures per cell:
 *
 *  - throughput (requests or operations per second), the ratio of the medians B/A and each
 *    round's own ratio;
 *  - server CPU time per request (utime + stime of the server process from /proc, over the
 *    cell, divided by the requests it served), which time stolen from the VM does not
 *    inflate: the steadier figure here. Its ratio is A/B (above 1: B spends less per request).
 *
 * Kinds `inproc-get` and `inproc-set` run each checkout's SharedCache in a process of its own
 * (bench/fixtures/inproc-load.ts: `npm run bench`'s 100k keys, getBytes / set), on the
 * servers' CPU, in the same A B B A order; they have no CPU figure.
 *
 * Run: BENCH_A=/path/to/checkout-A [BENCH_B=.] npm run bench:ab   (each a checkout with
 * node_modules; B defaults to this one). Env: BENCH_ROUNDS (default 9), BENCH_SECONDS (per
 * cell, default 3), BENCH_KINDS (default http-get,http-put,ws-get,ws-set; also resp-get:
 * redis-benchmark GET -P 16, 50 connections; inproc-get, inproc-set), BENCH_OUT (results name, default ab). Results: bench/results/$BENCH_OUT.{md,json}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { LOAD_CPU, onLoadCpu, onServerCpus, PIN, ROOT, SERVER_CPUS } from './helpers/processes.ts';

const A = process.env.BENCH_A;
if (!A) throw new Error('set BENCH_A to the checkout to compare with (BENCH_B defaults to this one)');
const B = process.env.BENCH_B ?? ROOT;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const KEYS = 10_000;
const OUT = process.env.BENCH_OUT ?? 'ab';
const CONNECTIONS_HTTP = 64;
const CONNECTIONS_WS = 50;
const DEPTH = 16;
const TICK_SECONDS = 0.01; // USER_HZ on Linux
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const commit = (dir: string): string => execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();

/** `--resp-port 0` for a checkout that has the flag (an older one refuses it). */
const noRespPort = (dir: string): string[] => (existsSync(`${dir}/src/server/resp-server.ts`) ? ['--resp-port', '0'] : []);

interface Server { dir: string; label: string; proc: ChildProcess; port: number; respPort: number }

/** RESP requests per resp-get cell (about BENCH_SECONDS at this machine's rate). */
const RESP_REQUESTS = SECONDS * 150_000;

async function startServer(dir: string, label: string): Promise<Server> {
  const port = await freePort();
  const adminPort = await freePort();
  const respPort = kinds.some((k) => k.startsWith('resp-')) ? await freePort() : 0;
  const [cmd, ...args] = onServerCpus([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), ...(respPort ? ['--resp-port', String(respPort)] : noRespPort(dir)), '--threads', '1', '--memory', '256mb']);
  const proc = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const on = (d: Buffer): void => { out += d; if (/sabcache: serving|"msg":"serving /.test(out)) resolve(); };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', (code) => reject(new Error(`${label} exited with ${code}: ${out}`)));
  });
  const value = new Uint8Array(100).fill(118);
  for (let i = 0; i < KEYS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => fetch(`http://127.0.0.1:${port}/v1/kv/key:${String(i + j).padStart(12, '0')}`, { method: 'PUT', body: value })));
  }
  return { dir, label, proc, port, respPort };
}

/** CPU seconds the process has used (all its threads), from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_SECONDS; // utime, stime (fields 14, 15)
}

/** Runs one cell against `s`: requests per second and server CPU microseconds per request. */
function cell(s: Server, kind: string): { rate: number; cpuMicros: number } {
  if (kind === 'inproc-get' || kind === 'inproc-set') {
    const [cmd, ...pin] = onServerCpus([process.execPath]);
    const out = execFileSync(cmd, [...pin, '--import', 'tsx', 'bench/fixtures/inproc-load.ts', s.dir, kind === 'inproc-get' ? 'get' : 'set', String(SECONDS)], { cwd: ROOT, encoding: 'utf8' });
    return { rate: (JSON.parse(out.trim().split('\n').at(-1)!) as { opsPerSecond: number }).opsPerSecond, cpuMicros: NaN };
  }
  const cpu0 = cpuSeconds(s.proc.pid!);
  let rate: number;
  let requests: number;
  if (kind === 'resp-get') {
    const [cmd, ...args] = onLoadCpu(['redis-benchmark', '-h', '127.0.0.1', '-p', String(s.respPort), '-t', 'get', '-P', '16', '-c', '50', '-d', '100', '-r', String(KEYS), '-n', String(RESP_REQUESTS), '--csv']);
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    rate = Number(JSON.parse(`[${out.split('\n').find((l) => l.startsWith('"GET"'))!}]`)[1]);
    requests = RESP_REQUESTS;
  } else if (kind === 'http-get' || kind === 'http-put') {
    const [cmd, ...args] = onLoadCpu(['wrk', '-t1', `-c${CONNECTIONS_HTTP}`, `-d${SECONDS}s`, '-s', `bench/wrk/${kind === 'http-get' ? 'get' : 'put'}-keys.lua`, `http://127.0.0.1:${s.port}`]);
    const out = execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } });
    if (/Non-2xx or 3xx responses: (\d+)/.test(out)) throw new Error(`${s.label} answered non-2xx: ${out}`);
    rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
    requests = Number(/(\d+) requests in/.exec(out)![1]);
  } else {
    const [cmd, ...pin] = onLoadCpu([process.execPath]);
    const out = execFileSync(cmd, [...pin, '--import', 'tsx', 'bench/fixtures/ws-load.ts', `ws://127.0.0.1:${s.port}/v1/ws`, kind === 'ws-get' ? 'get' : 'set', String(DEPTH), String(CONNECTIONS_WS), String(SECONDS), String(KEYS)], { cwd: ROOT, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { opsPerSecond: number; errors: number };
    if (r.errors) throw new Error(`${s.label} answered ${r.errors} errors`);
    rate = r.opsPerSecond;
    requests = r.opsPerSecond * SECONDS;
  }
  return { rate, cpuMicros: ((cpuSeconds(s.proc.pid!) - cpu0) / requests) * 1e6 };
}

const hasWrk = (() => { try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }); return true; } catch (e) { return (e as { status?: number }).status === 1; } })();
if (!hasWrk) throw new Error('bench:ab needs wrk (apt-get install wrk)');
const kinds = (process.env.BENCH_KINDS ?? 'http-get,http-put,ws-get,ws-set').split(',');
const results = Object.fromEntries(kinds.map((k) => [k, { a: [] as { rate: number; cpuMicros: number }[], b: [] as { rate: number; cpuMicros: number }[] }]));
for (let round = 0; round < ROUNDS; round++) {
  // Fresh servers each round, started in alternating order: a self-comparison (A = B) showed
  // the server started second about 10% slower on WebSocket GET whatever its code.
  const first = round % 2 === 0 ? A : B;
  const s1 = await startServer(first, first === A ? 'A' : 'B');
  const s2 = await startServer(first === A ? B : A, first === A ? 'B' : 'A');
  const [a, b] = first === A ? [s1, s2] : [s2, s1];
  try {
    for (const kind of kinds) {
      // A B B A (or B A A B): each side is measured once in each position of the pair, so a
      // first-position effect (a self-comparison showed one of about 10%) and drift cancel.
      const [p, q] = round % 2 === 0 ? [a, b] : [b, a];
      const p1 = cell(p, kind);
      const q1 = cell(q, kind);
      const q2 = cell(q, kind);
      const p2 = cell(p, kind);
      const mean = (x: { rate: number; cpuMicros: number }, y: { rate: number; cpuMicros: number }) => ({ rate: (x.rate + y.rate) / 2, cpuMicros: (x.cpuMicros + y.cpuMicros) / 2 });
      results[kind][p === a ? 'a' : 'b'].push(mean(p1, p2));
      results[kind][q === a ? 'a' : 'b'].push(mean(q1, q2));
      const ra = results[kind].a.at(-1)!;
      const rb = results[kind].b.at(-1)!;
      console.log(`round ${round + 1} ${kind}: A ${Math.round(ra.rate)}/s ${ra.cpuMicros.toFixed(2)} µs, B ${Math.round(rb.rate)}/s ${rb.cpuMicros.toFixed(2)} µs`);
    }
  } finally {
    await Promise.all([a, b].map((s) => new Promise((resolve) => { s.proc.once('exit', resolve); s.proc.kill('SIGTERM'); })));
  }
}

const f2 = (x: number): string => (Number.isNaN(x) ? '—' : x.toFixed(2));
const rows = kinds.map((kind) => {
  const { a: ra, b: rb } = results[kind];
  return {
    kind,
    rateA: median(ra.map((r) => r.rate)), rateB: median(rb.map((r) => r.rate)),
    rateRounds: ra.map((r, i) => rb[i].rate / r.rate),
    cpuA: median(ra.map((r) => r.cpuMicros)), cpuB: median(rb.map((r) => r.cpuMicros)),
    cpuRounds: ra.map((r, i) => r.cpuMicros / rb[i].cpuMicros),
  };
});
const lines = [
  `# Paired A/B: A = ${commit(A)} vs B = ${commit(B)}`,
  '',
  `Node ${process.version}; one server thread each${PIN ? ` on CPU ${SERVER_CPUS}, load generators on CPU ${LOAD_CPU}` : ''}; HTTP: wrk -t1, ${CONNECTIONS_HTTP} connections, 100 B values; WebSocket: ${CONNECTIONS_WS} connections at depth ${DEPTH}; ${KEYS} keys; ` +
    `${ROUNDS} rounds, servers started afresh each round in alternating order, each cell run A B B A (B A A B in odd rounds) for ${SECONDS} s each, a side's figure the mean of its two; ${new Date().toISOString()}; command: \`BENCH_A=<checkout of ${commit(A)}> BENCH_ROUNDS=${ROUNDS} BENCH_SECONDS=${SECONDS}${process.env.BENCH_KINDS ? ` BENCH_KINDS=${process.env.BENCH_KINDS}` : ''}${process.env.BENCH_OUT ? ` BENCH_OUT=${OUT}` : ''} npm run bench:ab\``,
  '',
  '| path | A req/s (median) | B req/s (median) | throughput B/A (medians) | median of per-round B/A | per-round B/A | A CPU µs/request | B CPU µs/request | CPU A/B (medians) | median of per-round A/B |',
  '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.kind} | ${Math.round(r.rateA).toLocaleString('en-US')} | ${Math.round(r.rateB).toLocaleString('en-US')} | ${f2(r.rateB / r.rateA)}× | ${f2(median(r.rateRounds))}× | ${r.rateRounds.map(f2).join(', ')} | ${f2(r.cpuA)} | ${f2(r.cpuB)} | ${f2(r.cpuA / r.cpuB)}× | ${f2(median(r.cpuRounds))}× |`),
  '',
  'CPU µs/request: the server process\'s CPU time over the cell (all its threads: the main thread\'s maintenance too) divided by the requests served; above 1× in the CPU columns, B spends less per request.',
];
writeFileSync(new URL(`./results/${OUT}.md`, import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL(`./results/${OUT}.json`, import.meta.url), JSON.stringify({ node: process.version, a: commit(A), b: commit(B), rounds: ROUNDS, seconds: SECONDS, results, rows }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
