/**
 * TLS against plaintext, same server code: HTTP GET (wrk, 64 connections, keep-alive, so
 * the handshake is paid once per connection) and RESP GET (redis-benchmark --tls, -P 1 and
 * -P 16, 50 connections), one server thread each on the servers' core and the load on the
 * other, a plaintext and a TLS server up at once, every cell against both in alternating
 * order each round. Certificates are made at run time with openssl.
 *
 * Run: npm run bench:tls   (results: bench/results/tls.{md,json})
 * Env: BENCH_ROUNDS (default 3), BENCH_SECONDS (wrk cell, default 3), BENCH_REQUESTS (RESP cell, default 300000).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/server-process.ts';
import { pairedTable, runPaired } from './helpers/paired-table.ts';
import { HUGE_PAGES_ENV, LOAD_CPU, onLoadCpu, onServerCpus, PIN, SERVER_CPUS, startProcess, stopProcess } from './helpers/processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300_000);
const KEYS = 10_000;
const missing = ['openssl', 'wrk', 'redis-benchmark'].filter((c) => spawnSync(c, ['--version']).error !== undefined && spawnSync(c, ['version']).error !== undefined);
if (missing.length) throw new Error(`bench:tls needs ${missing.join(', ')} (apt-get install openssl wrk redis-tools)`);

const dir = mkdtempSync(join(tmpdir(), 'sabcache-tls-bench-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });

interface Target { name: string; tls: boolean; port: number; respPort: number; stop: () => Promise<void> }

async function start(tls: boolean): Promise<Target> {
  const port = await freePort();
  const respPort = await freePort();
  const cmd = [process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(await freePort()), '--resp-port', String(respPort), '--threads', '1', '--memory', '256mb',
    ...(tls ? ['--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem')] : [])];
  const proc = await startProcess(onServerCpus(cmd), /sabcache: serving|"msg":"serving /, HUGE_PAGES_ENV);
  // The keys the GETs read, over RESP (redis-benchmark's SET fills key:__rand_int__).
  const fill = ['redis-benchmark', '-h', '127.0.0.1', '-p', String(respPort), ...(tls ? ['--tls', '--cacert', join(dir, 'cert.pem')] : []), '-t', 'set', '-n', String(KEYS * 5), '-r', String(KEYS), '-d', '100', '-P', '16', '-q'];
  spawnSync(fill[0], fill.slice(1));
  return { name: tls ? 'TLS' : 'plaintext', tls, port, respPort, stop: () => stopProcess(proc) };
}

function httpGet(t: Target): number {
  const [c, ...args] = onLoadCpu(['wrk', '-t1', '-c64', `-d${SECONDS}s`, '-s', 'bench/wrk/get-keys.lua', `${t.tls ? 'https' : 'http'}://127.0.0.1:${t.port}`]);
  const out = execFileSync(c, args, { encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

function respGet(t: Target, pipeline: number): number {
  const [c, ...args] = onLoadCpu(['redis-benchmark', '-h', '127.0.0.1', '-p', String(t.respPort), ...(t.tls ? ['--tls', '--cacert', join(dir, 'cert.pem')] : []), '-t', 'get', '-P', String(pipeline), '-c', '50', '-d', '100', '-r', String(KEYS), '-n', String(REQUESTS), '--csv']);
  const out = execFileSync(c, args, { encoding: 'utf8' });
  const row = out.split('\n').find((l) => l.startsWith('"GET"'))!;
  return Number(JSON.parse(`[${row}]`)[1]);
}

const cells: Record<string, (t: Target) => number> = {
  'HTTP GET (wrk, 64 connections)': httpGet,
  'RESP GET -P 1': (t) => respGet(t, 1),
  'RESP GET -P 16': (t) => respGet(t, 16),
};
let results: Record<string, { a: number[]; b: number[] }> = {};
const plain = await start(false);
const secure = await start(true);
try {
  results = runPaired(cells, plain, secure, ROUNDS, ['plaintext', 'TLS']);
} finally {
  await plain.stop();
  await secure.stop();
  rmSync(dir, { recursive: true, force: true });
}

const lines = [
  '# TLS against plaintext',
  '',
  `Node ${process.version}; one server thread each${PIN ? ` on CPU ${SERVER_CPUS}, load on CPU ${LOAD_CPU}` : ' (unpinned)'}; ${KEYS} keys of 100 B; ${ROUNDS} rounds, both servers up at once, alternating order; RSA 2048 self-signed certificate, TLS as negotiated (TLS 1.3); ${new Date().toISOString()}; command: \`npm run bench:tls\``,
  '',
  ...pairedTable(results, 'plaintext', 'TLS'),
];
writeFileSync(new URL('./results/tls.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/tls.json', import.meta.url), JSON.stringify({ node: process.version, rounds: ROUNDS, results }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
