/**
 * Peak RSS under the response-amplification attacks of the hostile-input campaign (small
 * requests that ask for many copies of one large value), against `--memory`:
 *
 *  1. WebSocket JSON: 600 GETs of a 1 MiB key in one text message (about 46 KB sent);
 *  2. HTTP JSON `POST /v1/mget` of 1000 × that key;
 *  3. HTTP binary `POST /v1/mget` of 1000 × that key;
 *  4. WebSocket binary: 1000 GETs of that key in one message (about 13 KB sent).
 *
 * The server runs with `--memory 64mb --threads 2` and its defaults otherwise
 * (`--max-value-bytes 1mb`, so `--max-response-bytes` is 5 MiB). Each attack is sent
 * `BENCH_ATTACKS` times (default 20) from `BENCH_CONNECTIONS` connections at once (default 8);
 * VmRSS and VmHWM (peak) come from /proc/PID/status before and after, and whether the
 * process and its workers survived (no "crashed" or "exited" log line).
 *
 * `BENCH_SERVER_DIR` runs another checkout's server (the same attacks, to compare with the
 * code before the budget); it is given 60 s per attack at most and may die. Runs with other
 * than the defaults write `amplification[-other]-<connections>x<attacks>.{md,json}`.
 *
 * Run: npm run bench:amplification   (results: bench/results/amplification.{md,json})
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { ROOT } from './helpers/processes.ts';
import WebSocket from 'ws';
import { OP_GET, RequestWriter } from '../src/protocol/ws-protocol.ts';

const DIR = process.env.BENCH_SERVER_DIR ?? ROOT;
const ATTACKS = Number(process.env.BENCH_ATTACKS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const MEMORY = 64 * 1024 * 1024;
const VALUE = 1024 * 1024;
/** The variables this run was given, as a command prefix. */
const ENV_TEXT = ['BENCH_SERVER_DIR', 'BENCH_CONNECTIONS', 'BENCH_ATTACKS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]} `).join('');
const MB = (n: number): string => (n / 1024 / 1024).toFixed(0);

function status(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)![1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function start(): Promise<{ proc: ChildProcess; port: number; out: () => string }> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), ...(existsSync(`${DIR}/src/server/resp-server.ts`) ? ['--resp-port', '0'] : []), '--memory', String(MEMORY), '--threads', '2'], { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => { if (/sabcache: serving|"msg":"serving /.test(out)) { clearInterval(timer); resolve(); } }, 20);
    proc.once('exit', () => { clearInterval(timer); reject(new Error(out)); });
  });
  return { proc, port, out: () => out };
}

/** Sends `message` on a new WebSocket and resolves with the answer's size, or the close code. */
function wsOnce(port: number, message: string | Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { maxPayload: 2 ** 31 - 1 });
    const timer = setTimeout(() => { ws.terminate(); resolve('timeout'); }, 60_000);
    ws.once('open', () => ws.send(message));
    ws.once('message', (d) => { clearTimeout(timer); resolve(`answer ${MB((d as Buffer).length)} MiB`); ws.close(); });
    ws.once('close', (code) => { clearTimeout(timer); resolve(`closed ${code}`); });
    ws.once('error', (e) => { clearTimeout(timer); resolve(`error ${e.message}`); });
  });
}

async function httpOnce(port: number, body: string | Uint8Array<ArrayBuffer>, type: string): Promise<string> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/mget`, { method: 'POST', headers: { 'content-type': type }, body, signal: AbortSignal.timeout(60_000) });
    const bytes = (await r.arrayBuffer()).byteLength;
    return `${r.status}, ${bytes} B`;
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  }
}

const binaryKeys = new Uint8Array(Buffer.concat(Array.from({ length: 1000 }, () => Buffer.from([3, 0, 0x62, 0x69, 0x67]))));
const wsBinary = (() => {
  const w = new RequestWriter();
  for (let i = 1; i <= 1000; i++) w.add(i, OP_GET, 'big');
  return w.take();
})();
const attacks: [string, (port: number) => Promise<string>][] = [
  ['WebSocket JSON, 600 GETs', (port) => wsOnce(port, JSON.stringify(Array.from({ length: 600 }, (_, i) => ({ id: i + 1, op: 'get', key: 'big' }))))],
  ['HTTP JSON mget, 1000 keys', (port) => httpOnce(port, JSON.stringify({ keys: Array(1000).fill('big') }), 'application/json')],
  ['HTTP binary mget, 1000 keys', (port) => httpOnce(port, binaryKeys, 'application/octet-stream')],
  ['WebSocket binary, 1000 GETs', (port) => wsOnce(port, wsBinary)],
];

const rows: { attack: string; answers: string[]; idle: number; rssAfter: number; hwm: number; crashes: number; alive: boolean }[] = [];
// A fresh server per attack, so that each peak is that attack's own.
for (const [name, attack] of attacks) {
  const server = await start();
  const pid = server.proc.pid!;
  await fetch(`http://127.0.0.1:${server.port}/v1/kv/big`, { method: 'PUT', body: new Uint8Array(VALUE).fill(0x61) });
  const idle = status(pid).rss;
  const answers = new Set<string>();
  for (let i = 0; i < ATTACKS && server.proc.exitCode === null; i += CONNECTIONS) {
    for (const a of await Promise.all(Array.from({ length: Math.min(CONNECTIONS, ATTACKS - i) }, () => attack(server.port)))) answers.add(a);
  }
  const alive = server.proc.exitCode === null;
  const s = alive ? status(pid) : { rss: NaN, hwm: NaN };
  const crashes = (server.out().match(/crashed|exited with code/g) ?? []).length;
  rows.push({ attack: name, answers: [...answers], idle, rssAfter: s.rss, hwm: s.hwm, crashes, alive });
  console.log(`${name}: ${[...answers].join(' | ')}; idle ${MB(idle)} MiB, RSS after ${MB(s.rss)} MiB, peak ${MB(s.hwm)} MiB; worker crashes ${crashes}`);
  if (alive) server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.exitCode === null ? server.proc.once('exit', r) : r(null));
}
const lines = [
  '# Peak RSS under response-amplification attacks',
  '',
  `Node ${process.version}; server from ${DIR === ROOT ? 'this checkout' : DIR}; --memory ${MB(MEMORY)} MiB, --threads 2, --max-value-bytes 1 MiB (so --max-response-bytes 5 MiB); ` +
    `one 1 MiB value; each attack ${ATTACKS} times from ${CONNECTIONS} connections at once; ${new Date().toISOString()}; command: \`${ENV_TEXT}npm run bench:amplification\``,
  '',
  'A fresh server per attack. RSS from /proc/PID/status: idle after storing the value, after the attacks, and the peak (VmHWM).',
  '',
  '| attack | answers | idle RSS (MiB) | RSS after (MiB) | peak RSS (MiB) | peak − idle (MiB) | worker crashes | server |',
  '|---|---|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.attack} | ${r.answers.join('; ')} | ${MB(r.idle)} | ${MB(r.rssAfter)} | ${MB(r.hwm)} | ${MB(r.hwm - r.idle)} | ${r.crashes} | ${r.alive ? 'alive' : 'died'} |`),
];
const name = `amplification${DIR === ROOT ? '' : '-other'}${process.env.BENCH_ATTACKS || process.env.BENCH_CONNECTIONS ? `-${CONNECTIONS}x${ATTACKS}` : ''}`;
writeFileSync(new URL(`./results/${name}.md`, import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify({ node: process.version, dir: DIR, memory: MEMORY, attacks: ATTACKS, connections: CONNECTIONS, rows }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
