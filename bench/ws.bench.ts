/**
 * Pipelined GET and SET over WebSocket at depth 1, 16 and 128 (requests in flight per
 * connection), and — when `redis-server` and `redis-benchmark` are installed — the same
 * machine's Redis at -P 1, -P 16 and -P 128 in the same run, side by side.
 *
 * Both servers get one core and their load generators the other (taskset, when present);
 * same connections, 100-byte values, random keys out of 10k preloaded. sabcache's generator
 * (bench/fixtures/ws-load.ts, Node + ws) sends pre-encoded messages, as redis-benchmark
 * sends pre-built commands. Only 127.0.0.1 is used; every run is bounded in time.
 *
 * Method: both servers run at once (an idle one costs nothing); each round runs every cell
 * once, sabcache then Redis for the same op and depth, and each cell reports the median
 * over the rounds, so drift on a shared machine hits both sides alike.
 *
 * Run: npm run bench:ws   (results: bench/results/ws.{json,md})
 * Env: BENCH_CONNECTIONS (default 50), BENCH_SECONDS (per cell, default 4), BENCH_ROUNDS
 *      (default 3), BENCH_OPS (comma-separated, default get,set), BENCH_DEPTHS (default
 *      1,16,128). A run of a subset writes bench/results/ws-<ops>-<depths>.{json,md}.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { CORES, LOAD_CPU, onLoadCpu, onServerCpus, PIN, ROOT, SERVER_CPUS, SERVER_THREADS, startProcess, stopProcess } from './helpers/processes.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = 10_000;
const DEPTHS = (process.env.BENCH_DEPTHS ?? '1,16,128').split(',').map(Number);
const OPS = (process.env.BENCH_OPS ?? 'get,set').split(',') as ('get' | 'set')[];
const SUBSET = process.env.BENCH_DEPTHS !== undefined || process.env.BENCH_OPS !== undefined;
const RESULT = SUBSET ? `ws-${OPS.join('+')}-${DEPTHS.join('+')}` : 'ws';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// sabcache
const port = await freePort();
const adminPort = await freePort();
const sab = await startProcess(onServerCpus([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', String(SERVER_THREADS), '--memory', '256mb']), /sabcache: serving|"msg":"serving /);
const value = new Uint8Array(100).fill(118);
for (let i = 0; i < KEYS; i += 100) {
  await Promise.all(Array.from({ length: 100 }, (_, j) => fetch(`http://127.0.0.1:${port}/v1/kv/key:${String(i + j).padStart(12, '0')}`, { method: 'PUT', body: value })));
}

/** One sabcache cell: ops/s. */
function sabcacheCell(op: string, depth: number): number {
  const [cmd, ...pin] = onLoadCpu([process.execPath]);
  const out = execFileSync(cmd, [...pin, '--import', 'tsx', 'bench/fixtures/ws-load.ts', `ws://127.0.0.1:${port}/v1/ws`, op, String(depth), String(CONNECTIONS), String(SECONDS), String(KEYS)], { cwd: ROOT, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { opsPerSecond: number; errors: number };
  if (r.errors) throw new Error(`sabcache answered ${r.errors} errors`);
  return r.opsPerSecond;
}

// Redis, when installed
const hasRedis = spawnSync('redis-server', ['--version']).error === undefined && spawnSync('redis-benchmark', ['--version']).error === undefined;
let redisNote = '';
let redisPort = 0;
let redis: Awaited<ReturnType<typeof startProcess>> | undefined;
if (hasRedis) {
  redisPort = await freePort();
  redis = await startProcess(onServerCpus(['redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']), /Ready to accept connections/);
  execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(redisPort), '-t', 'set', '-n', String(KEYS * 10), '-r', String(KEYS), '-d', '100', '-q'], { encoding: 'utf8' });
  const versionLine = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  redisNote = `Redis: ${versionLine.split(' ').slice(0, 3).join(' ')}, persistence off, redis-benchmark -c ${CONNECTIONS} -d 100 -r ${KEYS}.`;
} else {
  console.log('redis-server / redis-benchmark not installed (apt-get install redis-server): the Redis rows are skipped');
}

/** One Redis cell: ops/s. */
function redisCell(op: string, depth: number): number {
  // Enough requests for about SECONDS at the rate Redis reaches on this machine.
  const n = Math.round(SECONDS * (depth === 1 ? 80_000 : depth === 16 ? 600_000 : 900_000));
  const [cmd, ...pin] = onLoadCpu(['redis-benchmark']);
  const out = execFileSync(cmd, [...pin, '-h', '127.0.0.1', '-p', String(redisPort), '-t', op, '-n', String(n), '-c', String(CONNECTIONS), '-P', String(depth), '-d', '100', '-r', String(KEYS), '-q'], { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out);
  if (!m) throw new Error(`unexpected redis-benchmark output: ${out}`);
  return Number(m[1]);
}

const cells = OPS.flatMap((op) => DEPTHS.map((depth) => ({ op, depth, sabcache: [] as number[], redis: [] as number[] })));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cells) {
    c.sabcache.push(sabcacheCell(c.op, c.depth));
    if (redis) c.redis.push(redisCell(c.op, c.depth));
    console.log(`round ${round + 1}: ${c.op} depth ${c.depth}: sabcache ${Math.round(c.sabcache.at(-1)!).toLocaleString('en-US')}` +
      (redis ? `, redis ${Math.round(c.redis.at(-1)!).toLocaleString('en-US')} ops/s` : ' ops/s'));
  }
}
await stopProcess(sab);
if (redis) await stopProcess(redis);

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const lines = [
  '# Pipelined GET/SET over WebSocket vs Redis',
  '',
  `Node ${process.version}, ${CORES} cores; servers on CPU ${SERVER_CPUS}, load generators on CPU ${LOAD_CPU}; ${CONNECTIONS} connections, ` +
    `100 B values, ${KEYS} keys; ${SECONDS} s per cell; median of ${ROUNDS} rounds, each running every cell once ` +
    `(sabcache then Redis); ${new Date().toISOString()}; command: \`${SUBSET ? `BENCH_OPS=${OPS.join(',')} BENCH_DEPTHS=${DEPTHS.join(',')} BENCH_ROUNDS=${ROUNDS} ` : ''}npm run bench:ws\``,
  '',
  '| op | depth (requests in flight per connection) | sabcache WebSocket ops/s | Redis ops/s (redis-benchmark -P depth) | sabcache / Redis (medians) | median of per-round ratios | per-round ratios |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...cells.map((c) => {
    const s = median(c.sabcache);
    const r = redis ? median(c.redis) : undefined;
    const perRound = r ? c.sabcache.map((x, i) => `${(x / c.redis[i]).toFixed(2)}`).join(', ') : '—';
    const medianOfRatios = r ? `${median(c.sabcache.map((x, i) => x / c.redis[i])).toFixed(2)}×` : '—';
    return `| ${c.op.toUpperCase()} | ${c.depth} | ${fmt(s)} | ${r ? fmt(r) : 'not installed'} | ${r ? `${(s / r).toFixed(2)}×` : '—'} | ${medianOfRatios} | ${perRound} |`;
  }),
  '',
  redisNote,
];
writeFileSync(new URL(`./results/${RESULT}.md`, import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL(`./results/${RESULT}.json`, import.meta.url), JSON.stringify({ node: process.version, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, pinned: PIN, cells }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
