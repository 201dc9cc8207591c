/**
 * What credentials cost: the same build with no credentials against one with a users file
 * and a token secret, each client authenticated. One HTTP cell sends the Bearer header to
 * the server without credentials too, which ignores it: the check's cost alone. HTTP GET with Basic and with Bearer on
 * every request (wrk, 64 keep-alive connections), WebSocket GET at depth 16 (bench:ws's
 * generator, 50 connections, the Bearer header at the upgrade, then every request checked by
 * role), RESP GET at -P 16 (redis-benchmark --user/-a: one AUTH per connection, then every
 * command checked by role). One server
 * thread each on the servers' core, the load on the other, both servers up at once, every
 * cell against both in alternating order each round.
 *
 * Run: npm run bench:auth   (results: bench/results/auth.{md,json})
 * Env: BENCH_ROUNDS (default 5), BENCH_SECONDS (wrk cell, default 3), BENCH_REQUESTS (RESP cell, default 500000).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { hashPassword } from '../src/server/password-hash.ts';
import { freePort } from '../test/helpers/server-process.ts';
import { pairedTable, runPaired } from './helpers/paired-table.ts';
import { HUGE_PAGES_ENV, LOAD_CPU, onLoadCpu, onServerCpus, PIN, SERVER_CPUS, startProcess, stopProcess } from './helpers/processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500_000);
const KEYS = 10_000;
const SECRET = 'bench secret of at least thirty-two bytes';
const missing = ['wrk', 'redis-benchmark'].filter((c) => spawnSync(c, ['--version']).error !== undefined);
if (missing.length) throw new Error(`bench:auth needs ${missing.join(', ')} (apt-get install wrk redis-tools)`);

const dir = mkdtempSync(join(tmpdir(), 'sabcache-auth-bench-'));
writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [{ name: 'app', password: hashPassword('app-pass'), role: 'write' }] }));
const BASIC = `Basic ${Buffer.from('app:app-pass').toString('base64')}`;
const BEARER = `Bearer ${jwt.sign({ sub: 'app', role: 'write', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET)}`;

interface Target { auth: boolean; port: number; respPort: number; stop: () => Promise<void> }

async function start(auth: boolean): Promise<Target> {
  const port = await freePort();
  const respPort = await freePort();
  const cmd = [process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(await freePort()), '--resp-port', String(respPort), '--threads', '1', '--memory', '256mb',
    ...(auth ? ['--users-file', join(dir, 'users.json')] : [])];
  const proc = await startProcess(onServerCpus(cmd), /sabcache: serving|"msg":"serving /, { ...HUGE_PAGES_ENV, ...(auth ? { SABCACHE_TOKEN_SECRET: SECRET } : {}) });
  spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(respPort), ...(auth ? ['--user', 'app', '-a', 'app-pass'] : []), '-t', 'set', '-n', String(KEYS * 5), '-r', String(KEYS), '-d', '100', '-P', '16', '-q']);
  // The credentials really are checked (401 without), and really let the bench's requests in.
  if (auth) {
    const without = await fetch(`http://127.0.0.1:${port}/v1/kv/key:000000000000`);
    const withBasic = await fetch(`http://127.0.0.1:${port}/v1/kv/key:000000000000`, { headers: { authorization: BASIC } });
    const withBearer = await fetch(`http://127.0.0.1:${port}/v1/kv/key:000000000000`, { headers: { authorization: BEARER } });
    if (without.status !== 401 || withBasic.status === 401 || withBearer.status === 401) throw new Error(`credentials not working: ${without.status} ${withBasic.status} ${withBearer.status}`);
  }
  return { auth, port, respPort, stop: () => stopProcess(proc) };
}

/** wrk's GET rate; the header is sent to the server with credentials, and to the other too when `always`. */
function httpGet(t: Target, header: string, always = false): number {
  const [c, ...args] = onLoadCpu(['wrk', '-t1', '-c64', `-d${SECONDS}s`, '-s', 'bench/wrk/get-keys.lua', ...(t.auth || always ? ['-H', `Authorization: ${header}`] : []), `http://127.0.0.1:${t.port}`]);
  const out = execFileSync(c, args, { encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

function wsGet(t: Target): number {
  const [cmd, ...pin] = onLoadCpu([process.execPath]);
  const out = execFileSync(cmd, [...pin, '--import', 'tsx', 'bench/fixtures/ws-load.ts', `ws://127.0.0.1:${t.port}/v1/ws`, 'get', '16', '50', String(SECONDS), String(KEYS), ...(t.auth ? [BEARER] : [])], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { opsPerSecond: number; errors: number };
  if (r.errors) throw new Error(`WebSocket cell answered ${r.errors} errors`);
  return r.opsPerSecond;
}

function respGet(t: Target): number {
  const [c, ...args] = onLoadCpu(['redis-benchmark', '-h', '127.0.0.1', '-p', String(t.respPort), ...(t.auth ? ['--user', 'app', '-a', 'app-pass'] : []), '-t', 'get', '-P', '16', '-c', '50', '-d', '100', '-r', String(KEYS), '-n', String(REQUESTS), '--csv']);
  const out = execFileSync(c, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(JSON.parse(`[${out.split('\n').find((l) => l.startsWith('"GET"'))!}]`)[1]);
}

const cells: Record<string, (t: Target) => number> = {
  'HTTP GET, Basic': (t) => httpGet(t, BASIC),
  'HTTP GET, Bearer': (t) => httpGet(t, BEARER),
  // The same bytes to both: what checking costs, without what the header's bytes cost.
  'HTTP GET, Bearer sent to both': (t) => httpGet(t, BEARER, true),
  'WebSocket GET, depth 16': wsGet,
  'RESP GET -P 16': respGet,
};
let results: Record<string, { a: number[]; b: number[] }> = {};
const off = await start(false);
const on = await start(true);
try {
  results = runPaired(cells, off, on, ROUNDS, ['off', 'on']);
} finally {
  await off.stop();
  await on.stop();
  rmSync(dir, { recursive: true, force: true });
}
const lines = [
  '# Credentials on against off',
  '',
  `Node ${process.version}; one server thread each${PIN ? ` on CPU ${SERVER_CPUS}, load on CPU ${LOAD_CPU}` : ' (unpinned)'}; ${KEYS} keys of 100 B; ${ROUNDS} rounds, both servers up at once, alternating order; ${new Date().toISOString()}; command: \`npm run bench:auth\``,
  '',
  ...pairedTable(results, 'off', 'on'),
];
writeFileSync(new URL('./results/auth.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/auth.json', import.meta.url), JSON.stringify({ node: process.version, rounds: ROUNDS, results }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
