/**
 * What the rate limits cost and how closely they hold.
 *
 * 1. Cost: the same build with no rate limit against one whose per-client and global limits
 *    are on but far above the load (every request goes through both GCRA checks and none is
 *    refused): HTTP GET (wrk, 64 keep-alive connections) and RESP GET at -P 16
 *    (redis-benchmark). One server thread each on the servers' core, the load on the
 *    other, both servers up at once, every cell against both in alternating order each round.
 * 2. Accuracy: a server with 2 threads and `--rate-limit 2000 --rate-limit-burst 200`, one
 *    client address hammering it over HTTP with wrk for BENCH_SECONDS: the requests let
 *    through per second against the 2,000 configured (GCRA allows burst + rate × seconds),
 *    and how fast the rest were refused.
 *
 * Run: npm run bench:rate-limit   (results: bench/results/rate-limit.{md,json})
 * Env: BENCH_ROUNDS (default 5), BENCH_SECONDS (wrk cell, default 3), BENCH_REQUESTS (RESP cell, default 500000).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { freePort } from '../test/helpers/server-process.ts';
import { pairedTable, runPaired } from './helpers/paired-table.ts';
import { HUGE_PAGES_ENV, LOAD_CPU, onLoadCpu, onServerCpus, PIN, SERVER_CPUS, startProcess, stopProcess } from './helpers/processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500_000);
const KEYS = 10_000;
const missing = ['wrk', 'redis-benchmark'].filter((c) => spawnSync(c, ['--version']).error !== undefined);
if (missing.length) throw new Error(`bench:rate-limit needs ${missing.join(', ')} (apt-get install wrk redis-tools)`);

/** Limits on but never reached: the checks run on every request and refuse nothing. */
const PER_CLIENT = ['--rate-limit', '1000000', '--rate-limit-burst', '100000000'];
const GLOBAL = ['--rate-limit-global', '1000000', '--rate-limit-global-burst', '100000000'];
const SECRET = 'bench secret of at least thirty-two bytes';
const BEARER = `Bearer ${jwt.sign({ sub: 'app', role: 'write', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET)}`;

interface Target { port: number; respPort: number; adminPort: number; stop: () => Promise<void> }

async function start(flags: string[], threads: number, pin = true, fill = true, env: NodeJS.ProcessEnv = {}): Promise<Target> {
  const port = await freePort();
  const respPort = await freePort();
  const adminPort = await freePort();
  const cmd = [process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', String(respPort), '--threads', String(threads), '--memory', '256mb', ...flags];
  const proc = await startProcess(pin ? onServerCpus(cmd) : cmd, /sabcache: serving|"msg":"serving /, { ...HUGE_PAGES_ENV, ...env });
  if (fill) spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(respPort), ...(env.SABCACHE_TOKEN_SECRET ? ['-a', BEARER.slice(7)] : []), '-t', 'set', '-n', String(KEYS * 5), '-r', String(KEYS), '-d', '100', '-P', '16', '-q']);
  return { port, respPort, adminPort, stop: () => stopProcess(proc) };
}

/** wrk's requests per second, and (with `statuses`) its answers by status. */
function wrk(port: number, seconds: number, pin = true, statuses = false, header = ''): { perSecond: number; total: number; byStatus: Record<number, number> } {
  const cmd = ['wrk', '-t1', '-c64', `-d${seconds}s`, '-s', statuses ? 'bench/wrk/get-keys-status.lua' : 'bench/wrk/get-keys.lua', ...(header ? ['-H', header] : []), `http://127.0.0.1:${port}`];
  const [c, ...args] = pin ? onLoadCpu(cmd) : cmd;
  const out = execFileSync(c, args, { encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } });
  const byStatus: Record<number, number> = {};
  for (const m of out.matchAll(/^status (\d+) (\d+)$/gm)) byStatus[Number(m[1])] = Number(m[2]);
  return { perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), total: Number(/(\d+) requests in/.exec(out)![1]), byStatus };
}

function respGet(t: Target, token = ''): number {
  const [c, ...args] = onLoadCpu(['redis-benchmark', '-h', '127.0.0.1', '-p', String(t.respPort), ...(token ? ['-a', token] : []), '-t', 'get', '-P', '16', '-c', '50', '-d', '100', '-r', String(KEYS), '-n', String(REQUESTS), '--csv']);
  const out = execFileSync(c, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(JSON.parse(`[${out.split('\n').find((l) => l.startsWith('"GET"'))!}]`)[1]);
}

/** Whether the server refused nothing (the cost cells only check the limits). */
async function assertNothingRefused(t: Target, header = ''): Promise<void> {
  const admin = `Bearer ${jwt.sign({ sub: 'ops', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET)}`;
  const stats = await (await fetch(`http://127.0.0.1:${t.adminPort}/v1/stats`, header ? { headers: { authorization: admin } } : {})).json() as { limits: { rateLimited: number; rateLimitedGlobal: number } };
  if (stats.limits.rateLimited + stats.limits.rateLimitedGlobal > 0) throw new Error(`a cost server refused requests: ${JSON.stringify(stats.limits)}`);
}

/** The comparisons: each a baseline and the same with limits on, and the cells to run. */
const PAIRS: { name: string; a: string[]; b: string[]; env?: NodeJS.ProcessEnv; header?: string }[] = [
  { name: 'anonymous clients, per-client (by address) and global limits', a: [], b: [...PER_CLIENT, ...GLOBAL] },
  { name: 'anonymous clients, global limit only', a: [], b: GLOBAL },
  { name: 'token on every request (Bearer / AUTH), per-client (by credential) and global limits, against the same credentials without limits', a: [], b: [...PER_CLIENT, ...GLOBAL], env: { SABCACHE_TOKEN_SECRET: SECRET }, header: BEARER },
];
const results: Record<string, Record<string, { a: number[]; b: number[] }>> = {};
for (const pair of PAIRS) {
  const off = await start(pair.a, 1, true, true, pair.env);
  const on = await start(pair.b, 1, true, true, pair.env);
  const token = pair.header ? pair.header.slice(7) : '';
  try {
    results[pair.name] = runPaired({
      'HTTP GET': (t: Target) => wrk(t.port, SECONDS, true, false, pair.header ? `Authorization: ${pair.header}` : '').perSecond,
      'RESP GET -P 16': (t: Target) => respGet(t, token),
    }, off, on, ROUNDS, ['off', 'on']);
    await assertNothingRefused(on, pair.header);
  } finally {
    await off.stop();
    await on.stop();
  }
}

// Accuracy: unpinned, 2 server threads (one budget for both), the load on whatever core is free.
const RATE = 2000;
const BURST = 200;
const accuracy: { seconds: number; allowed: number; refused: number; allowedPerSecond: number; expectedAllowed: number; answeredPerSecond: number }[] = [];
// No keys: an allowed GET answers 404, a refused one 429.
const limited = await start(['--rate-limit', String(RATE), '--rate-limit-burst', String(BURST)], 2, false, false);
try {
  for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
    await new Promise((r) => setTimeout(r, 1000)); // the burst comes back
    const t0 = performance.now();
    const r = wrk(limited.port, SECONDS, false, true);
    const seconds = (performance.now() - t0) / 1000;
    const refused = r.byStatus[429] ?? 0;
    const allowed = r.total - refused;
    accuracy.push({ seconds, allowed, refused, allowedPerSecond: allowed / seconds, expectedAllowed: BURST + RATE * seconds, answeredPerSecond: r.perSecond });
    console.log(`accuracy round ${round + 1}: ${allowed} allowed (${Math.round(allowed / seconds)}/s), ${refused} refused, ${Math.round(r.perSecond)} answers/s`);
  }
} finally {
  await limited.stop();
}

const lines = [
  '# Rate limits: cost and accuracy',
  '',
  `Node ${process.version}; ${new Date().toISOString()}; command: \`npm run bench:rate-limit\``,
  '',
  `## Cost: limits on (far above the load: every check runs, nothing is refused) against off`,
  '',
  `One server thread each${PIN ? ` on CPU ${SERVER_CPUS}, load on CPU ${LOAD_CPU}` : ' (unpinned)'}; ${KEYS} keys of 100 B; ${ROUNDS} rounds, both servers up at once, alternating order.`,
  ...Object.entries(results).flatMap(([name, r]) => ['', `### ${name}`, '', ...pairedTable(r, 'off', 'on')]),
  '',
  `## Accuracy: \`--rate-limit ${RATE} --rate-limit-burst ${BURST}\`, 2 server threads, one client address (wrk, 64 connections, ${SECONDS} s)`,
  '',
  '| round | seconds | allowed | allowed / s | GCRA allows (burst + rate × s) | allowed / allowable | refused (429) | answers / s |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...accuracy.map((a, i) => `| ${i + 1} | ${a.seconds.toFixed(2)} | ${a.allowed} | ${Math.round(a.allowedPerSecond)} | ${Math.round(a.expectedAllowed)} | ${(a.allowed / a.expectedAllowed).toFixed(3)} | ${a.refused} | ${Math.round(a.answeredPerSecond)} |`),
];
writeFileSync(new URL('./results/rate-limit.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/rate-limit.json', import.meta.url), JSON.stringify({ node: process.version, rounds: ROUNDS, results, accuracy }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
