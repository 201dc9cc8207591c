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
 * Run: npm run bench:ws   (results: bench/results/ws.{json,md})
 * Env: BENCH_CONNECTIONS (default 50), BENCH_SECONDS (per cell, default 4).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/server-process.ts';
import { CORES, LOAD_CPU, onLoadCpu, onServerCpus, PIN, ROOT, SERVER_CPUS, SERVER_THREADS, startProcess, stopProcess } from './helpers/processes.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const KEYS = 10_000;
const DEPTHS = [1, 16, 128];
const rows: { server: string; op: string; depth: number; opsPerSecond: number }[] = [];

// sabcache
const port = await freePort();
const adminPort = await freePort();
const sab = await startProcess(onServerCpus([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--threads', String(SERVER_THREADS), '--memory', '256mb']), /sabcache: serving/);
const value = new Uint8Array(100).fill(118);
for (let i = 0; i < KEYS; i += 100) {
  await Promise.all(Array.from({ length: 100 }, (_, j) => fetch(`http://127.0.0.1:${port}/v1/kv/key:${String(i + j).padStart(12, '0')}`, { method: 'PUT', body: value })));
}
for (const op of ['get', 'set']) {
  for (const depth of DEPTHS) {
    const out = execFileSync(onLoadCpu([process.execPath])[0], [...onLoadCpu([process.execPath]).slice(1), '--import', 'tsx', 'bench/fixtures/ws-load.ts', `ws://127.0.0.1:${port}/v1/ws`, op, String(depth), String(CONNECTIONS), String(SECONDS), String(KEYS)], { cwd: ROOT, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { opsPerSecond: number; errors: number };
    if (r.errors) throw new Error(`sabcache answered ${r.errors} errors`);
    rows.push({ server: 'sabcache (WebSocket)', op, depth, opsPerSecond: r.opsPerSecond });
    console.log(`sabcache ${op} depth ${depth}: ${Math.round(r.opsPerSecond).toLocaleString('en-US')} ops/s`);
  }
}
await stopProcess(sab);

// Redis, when installed
const hasRedis = spawnSync('redis-server', ['--version']).error === undefined && spawnSync('redis-benchmark', ['--version']).error === undefined;
let redisNote = '';
if (hasRedis) {
  const redisPort = await freePort();
  const redis = await startProcess(onServerCpus(['redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']), /Ready to accept connections/);
  execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(redisPort), '-t', 'set', '-n', String(KEYS * 10), '-r', String(KEYS), '-d', '100', '-q'], { encoding: 'utf8' });
  const versionLine = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  redisNote = `Redis: ${versionLine.split(' ').slice(0, 3).join(' ')}, persistence off, redis-benchmark -c ${CONNECTIONS} -d 100 -r ${KEYS}.`;
  for (const op of ['get', 'set']) {
    for (const depth of DEPTHS) {
      // Enough requests for about SECONDS at the rate Redis reaches on this machine.
      const n = Math.round(SECONDS * (depth === 1 ? 80_000 : depth === 16 ? 600_000 : 900_000));
      const out = execFileSync(onLoadCpu(['redis-benchmark'])[0], [...onLoadCpu(['redis-benchmark']).slice(1), '-h', '127.0.0.1', '-p', String(redisPort), '-t', op, '-n', String(n), '-c', String(CONNECTIONS), '-P', String(depth), '-d', '100', '-r', String(KEYS), '-q'], { encoding: 'utf8' });
      const m = /([\d.]+) requests per second/.exec(out);
      if (!m) throw new Error(`unexpected redis-benchmark output: ${out}`);
      rows.push({ server: 'Redis (redis-benchmark)', op, depth, opsPerSecond: Number(m[1]) });
      console.log(`redis ${op} -P ${depth}: ${Math.round(Number(m[1])).toLocaleString('en-US')} ops/s`);
    }
  }
  await stopProcess(redis);
} else {
  console.log('redis-server / redis-benchmark not installed (apt-get install redis-server): the Redis rows are skipped');
}

const cell = (server: string, op: string, depth: number) => rows.find((r) => r.server.startsWith(server) && r.op === op && r.depth === depth)?.opsPerSecond;
const lines = [
  '# Pipelined GET/SET over WebSocket vs Redis',
  '',
  `Node ${process.version}, ${CORES} cores; servers on CPU ${SERVER_CPUS}, load generators on CPU ${LOAD_CPU}; ${CONNECTIONS} connections, ` +
    `100 B values, ${KEYS} keys; ${SECONDS} s per sabcache cell; ${new Date().toISOString()}; command: \`npm run bench:ws\``,
  '',
  '| op | depth (requests in flight per connection) | sabcache WebSocket ops/s | Redis ops/s (redis-benchmark -P depth) | sabcache / Redis |',
  '|---|---:|---:|---:|---:|',
  ...['get', 'set'].flatMap((op) => DEPTHS.map((d) => {
    const s = cell('sabcache', op, d)!;
    const r = cell('Redis', op, d);
    return `| ${op.toUpperCase()} | ${d} | ${Math.round(s).toLocaleString('en-US')} | ${r ? Math.round(r).toLocaleString('en-US') : 'not installed'} | ${r ? `${(s / r).toFixed(2)}×` : '—'} |`;
  })),
  '',
  redisNote,
];
writeFileSync(new URL('./results/ws.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/ws.json', import.meta.url), JSON.stringify({ node: process.version, connections: CONNECTIONS, seconds: SECONDS, pinned: PIN, rows }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
