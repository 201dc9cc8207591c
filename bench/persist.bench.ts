/**
 * Durability costs, the snapshot part:
 *
 * 1. Snapshot write speed: a full cache (16 B keys, 100 B values) snapshotted as the
 *    server snapshots (its Snapshotter: the walk in segment order on the two pool threads,
 *    lead and helper, encode, write, fsync, rename, directory fsync; after one warm-up
 *    snapshot, as a server has taken one before) against the ceiling: a plain sequential write of the same
 *    number of bytes to the same disk in 1 MiB writes, with the same fsync, rename and
 *    directory fsync. Interleaved rounds, medians.
 * 2. Snapshot load speed: loadSnapshot into an empty cache of the same size, each load in
 *    a fresh process as at a server start (bench/fixtures/snapshot-load.mjs: cold JIT, the
 *    helper threads booted for it), in MB/s of file and entries/s, against reading the
 *    same file with 1 MiB reads (page cache warm for both: the file was just written).
 *    Five ways, interleaved: the compiled code (dist/, as the `sabcache` command runs it;
 *    this bench builds it first) with the server's default threads and the cache made with
 *    the file's hash seeds, as the server makes it; the same with the main thread alone;
 *    the same from the TypeScript sources under tsx (as `npm start` runs it); the
 *    compiled code with the cache's own random seeds (index filled at random); and the
 *    first way without huge pages. Every other way starts Node with glibc asked for
 *    transparent huge pages, as `sabcache` and `npm start` do (src/server/huge-pages.ts),
 *    and so do the servers of parts 3 and 4 (Redis is started without), and this process
 *    itself when started by `npm run bench:persist` (part 1's writes).
 * 3. GET p99 during a snapshot against without: the real server (1 thread, `--data-dir`),
 *    filled with 1M keys by wrk PUTs, then wrk GETs with `--latency`, alternating runs
 *    with no snapshot and runs during which `POST /v1/admin/snapshot` is called back to
 *    back. Needs wrk (Debian package `wrk`); without it that part is skipped.
 *
 * 4. SET ops/s over HTTP with the WAL off and with `--fsync no`, `everysec` and `always`
 *    (wrk PUTs, 1 server thread), and, when redis-server, redis-benchmark and redis-cli are
 *    installed, Redis SET with the AOF off and `appendfsync no`, `everysec`, `always` in the
 *    same rounds: within a round, for each mode, HTTP, then Redis, then WebSocket, back to
 *    back. The ratios are medians of each round's own ratio (runs a few seconds apart),
 *    not ratios of the medians: this VM's speed drifts by up to 2× between minutes, alike
 *    for every server (same instructions per request, more cycles), and a ratio of runs
 *    made back to back cancels most of that drift. The raw rates of every round are printed.
 *
 * Run: npm run bench:persist   (results: bench/results/persist.{json,md})
 * Env: BENCH_MEMORY_MB (cache size for parts 1-2, default 512), BENCH_ROUNDS (rounds of part 1,
 *      default 3), BENCH_LOAD_ROUNDS (rounds of part 2, default 7),
 *      BENCH_SECONDS (wrk run length, default 5), BENCH_P99_ROUNDS (rounds of part 3, default 5),
 *      BENCH_WAL_ROUNDS (rounds of part 4, default 5).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Snapshotter } from '../src/persist/snapshotter.ts';
import { SharedCache } from '../src/shared-cache.ts';
import { freePort } from '../test/helpers/server-process.ts';
import { hugePagesTunable } from '../src/server/huge-pages.ts';
import { CORES, HUGE_PAGES_ENV, LOAD_CPU, onLoadCpu, onServerCpus, PIN, PLAIN_ENV, ROOT, SERVER_CPUS, startProcess, stopProcess } from './helpers/processes.ts';

const MEMORY_MB = Number(process.env.BENCH_MEMORY_MB ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LOAD_ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// GET p99 swings from run to run on this machine (0.3 to 0.8 ms without a snapshot): more rounds.
const P99_ROUNDS = Number(process.env.BENCH_P99_ROUNDS ?? 5);
// SET/s swings too (Redis `always` from 96k to 208k in one run): more rounds, paired ratios.
const WAL_ROUNDS = Number(process.env.BENCH_WAL_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** The median of the rounds' own ratios a[i] / b[i] (each pair measured in the same round). */
const pairedRatio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]));
const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const MB = 1e6;
/** Whether this process (the snapshot writes of part 1) asks glibc for huge pages, as the server does. */
const BENCH_HUGE_PAGES = hugePagesTunable(process.env.GLIBC_TUNABLES) === '1';
if (!BENCH_HUGE_PAGES) console.log('this process runs without huge pages (npm run bench:persist asks for them, as the server does): the snapshot writes of part 1 are measured without them');
const dir = mkdtempSync(join(tmpdir(), 'sabcache-persist-bench-'));

function fsyncDir(d: string): void {
  const fd = openSync(d, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

/**
 * The ceiling: `bytes` written sequentially in 1 MiB writes, fsync, rename, directory fsync.
 * Returns ms. The previous round's file is deleted first, outside the timing, as the
 * snapshot writer deletes its old snapshots after its timing: on this machine's ext4
 * (mounted with `discard`) deleting a 461 MB file takes about 0.8 s, which a rename over it
 * would otherwise add to the ceiling's time (runs before 2026-11-22 did: their ceiling
 * swung between about 0.5 and 7 GB/s from round to round).
 */
function plainWrite(bytes: number): number {
  const chunk = new Uint8Array(1 << 20).fill(7);
  rmSync(join(dir, 'plain.bin'), { force: true });
  const t0 = performance.now();
  const tmp = join(dir, 'plain.tmp');
  const fd = openSync(tmp, 'w');
  for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, 'plain.bin'));
  fsyncDir(dir);
  return performance.now() - t0;
}

/** Reads the file at `path` in 1 MiB reads; returns ms. */
function plainRead(path: string): number {
  const buf = new Uint8Array(1 << 20);
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  for (let pos = 0; ;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    pos += n;
  }
  closeSync(fd);
  return performance.now() - t0;
}

/**
 * POST /v1/admin/snapshot. Retried once when the request never got an answer: uWS closes
 * an HTTP connection idle for 10 s, and fetch may pick that pooled connection as it closes.
 */
async function snapshotNow(adminPort: number): Promise<Response> {
  try {
    return await fetch(`http://127.0.0.1:${adminPort}/v1/admin/snapshot`, { method: 'POST' });
  } catch {
    return fetch(`http://127.0.0.1:${adminPort}/v1/admin/snapshot`, { method: 'POST' });
  }
}

// ── 1, 2: snapshot write and load ────────────────────────────────────────────────────
const cache = SharedCache.create({ memoryBytes: MEMORY_MB << 20, maxValueBytes: 64 << 10 });
const value = new Uint8Array(100).fill(118);
const keyOf = (i: number) => `key:${String(i).padStart(12, '0')}`;
// Unique keys for 1.2× what the memory holds at 128 B per entry: full, and evicting.
const n = Math.ceil(((MEMORY_MB << 20) / 128) * 1.2);
for (let i = 0; i < n; i++) cache.set(keyOf(i), value);
const items = cache.stats().items;
console.log(`cache: ${MEMORY_MB} MiB, ${items.toLocaleString('en-US')} items of 16 B keys and 100 B values`);

/** What one load in a fresh process reported (bench/fixtures/snapshot-load.mjs). */
interface Load { ms: number; stored: number; helperThreads: number; helperBlocks: number }
/** The ways the load is run (see the module comment), the server's way first. */
const LOAD_WAYS = [
  { name: 'compiled, default threads, file seeds', root: 'dist', threads: CORES, seeds: 'file', hugePages: true },
  { name: 'compiled, main thread alone', root: 'dist', threads: 1, seeds: 'file', hugePages: true },
  { name: 'from source (tsx), default threads, file seeds', root: 'src', threads: CORES, seeds: 'file', hugePages: true },
  { name: 'compiled, default threads, random seeds', root: 'dist', threads: CORES, seeds: 'random', hugePages: true },
  { name: 'compiled, default threads, file seeds, without huge pages', root: 'dist', threads: CORES, seeds: 'file', hugePages: false },
] as const;
function loadInChild(way: (typeof LOAD_WAYS)[number]): Load {
  const args = [...(way.root === 'src' ? ['--import', 'tsx'] : []), 'bench/fixtures/snapshot-load.mjs', way.root, dir, String(MEMORY_MB), String(way.threads), way.seeds];
  // As the server starts: with glibc asked for huge pages (the `sabcache` command, npm start), or without.
  const env = way.hugePages ? HUGE_PAGES_ENV : PLAIN_ENV;
  return JSON.parse(execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env }).trim().split('\n').at(-1)!) as Load;
}
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });

const snap: { ms: number; bytes: number; entries: number }[] = [];
const plain: number[] = [];
const loads: Load[][] = LOAD_WAYS.map(() => []);
const read: number[] = [];
const snapshotter = new Snapshotter(cache, { dir, intervalSeconds: 0, keep: 1 }, () => {});
await snapshotter.snapshot(); // warm-up: the pool threads start and compile the walk
let lastPath = '';
for (let r = 0; r < ROUNDS; r++) {
  const w = await snapshotter.snapshot();
  snap.push({ ms: w.durationMs, bytes: w.bytes, entries: w.entries });
  plain.push(plainWrite(w.bytes));
  lastPath = w.path;
  console.log(`round ${r + 1}: snapshot ${(w.bytes / MB / (w.durationMs / 1000)).toFixed(0)} MB/s, plain write ${(w.bytes / MB / (plain.at(-1)! / 1000)).toFixed(0)} MB/s`);
}
// The loads in rounds of their own, of the last snapshot written: more of them (a load
// takes about half a second, and this VM's speed swings from one second to the next).
for (let r = 0; r < LOAD_ROUNDS; r++) {
  // Each way once per round, in a rotating order.
  for (let k = 0; k < LOAD_WAYS.length; k++) {
    const i = (k + r) % LOAD_WAYS.length;
    loads[i].push(loadInChild(LOAD_WAYS[i]));
  }
  read.push(plainRead(lastPath));
  console.log(`load round ${r + 1}: load MB/s ` + LOAD_WAYS.map((way, i) => `${way.name} ${(snap.at(-1)!.bytes / MB / (loads[i].at(-1)!.ms / 1000)).toFixed(0)}`).join('; ') +
    `; plain read ${(snap.at(-1)!.bytes / MB / (read.at(-1)! / 1000)).toFixed(0)} MB/s`);
}
await snapshotter.close();
cache.close();
const bytes = snap.at(-1)!.bytes; // the loads' file (the writes of an idle cache are all this size)
const snapMBs = median(snap.map((s) => s.bytes / MB / (s.ms / 1000)));
const plainMBs = median(plain.map((ms, i) => snap[i].bytes / MB / (ms / 1000)));
const loadMBs = loads.map((ls) => median(ls.map((l) => bytes / MB / (l.ms / 1000))));
const loadEntries = median(loads[0].map((l) => l.stored / (l.ms / 1000)));
const readMBs = median(read.map((ms) => bytes / MB / (ms / 1000)));

// ── 3: GET p99 during a snapshot ─────────────────────────────────────────────────────
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
let latency: { without: number[]; during: number[]; snapshotsDuring: number[]; rpsWithout: number[]; rpsDuring: number[]; snapshotMsDuring: number[] } | undefined;
let idleSnapshotMs = 0;
let stats = { items: 0 };
const KEYS = 1_000_000;
if (!hasWrk) console.log('wrk is not installed (apt-get install wrk): the GET p99 rows are skipped');
else {
  const port = await freePort();
  const adminPort = await freePort();
  const dataDir = join(dir, 'server');
  const srv = await startProcess(onServerCpus([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', '1', '--memory', '256mb', '--data-dir', dataDir, '--snapshot-interval', '0']), /sabcache: serving|"msg":"serving /, HUGE_PAGES_ENV);
  const wrk = (kind: 'get' | 'put', seconds: number): { p99Ms: number; rps: number } => {
    const [cmd, ...args] = onLoadCpu(['wrk', '-t1', '-c32', `-d${seconds}s`, '--latency', '-s', `bench/wrk/${kind}-keys.lua`, `http://127.0.0.1:${port}`]);
    const out = execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } });
    const m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
    if (!m) throw new Error(`no p99 in wrk output: ${out}`);
    const p99Ms = Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
    return { p99Ms, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]) };
  };
  wrk('put', 15); // fills the cache with up to 1M keys
  stats = await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json() as { items: number };
  console.log(`server: ${stats.items.toLocaleString('en-US')} items`);
  // Warm-up, not measured. Snapshots: the pool thread starts (and under tsx compiles) at
  // normal priority, and V8 optimizes the walk over the first few. Then a GET run of 10 s:
  // the server's GET path gets optimized, and V8's memory reducer runs its full GCs in the
  // new isolates about 8 s after they go quiet (seen with --trace-gc). Without this, the
  // first round's GET p99 during a snapshot was 1.5 to 3.4 ms against 0.5 to 0.9 ms in the
  // later rounds (probes of this part over 10 server starts).
  for (let i = 0; i < 3; i++) await snapshotNow(adminPort);
  idleSnapshotMs = ((await (await snapshotNow(adminPort)).json()) as { durationMs: number }).durationMs;
  wrk('get', 10);
  latency = { without: [], during: [], snapshotsDuring: [], rpsWithout: [], rpsDuring: [], snapshotMsDuring: [] };
  for (let r = 0; r < P99_ROUNDS; r++) {
    const a = wrk('get', SECONDS);
    latency.without.push(a.p99Ms);
    latency.rpsWithout.push(a.rps);
    // Snapshots back to back for the whole run (wrk runs in a child; this loop keeps asking).
    let stop = false;
    let count = 0;
    const loop = (async () => {
      while (!stop) {
        const res = await snapshotNow(adminPort);
        if (res.status !== 200) throw new Error(`snapshot: ${res.status} ${await res.text()}`);
        latency!.snapshotMsDuring.push(((await res.json()) as { durationMs: number }).durationMs);
        count++;
      }
    })();
    const b = await new Promise<{ p99Ms: number; rps: number }>((resolve, reject) => {
      // execFileSync would block this loop's fetches: run wrk without blocking.
      import('node:child_process').then(({ execFile }) => {
        const [cmd, ...args] = onLoadCpu(['wrk', '-t1', '-c32', `-d${SECONDS}s`, '--latency', '-s', 'bench/wrk/get-keys.lua', `http://127.0.0.1:${port}`]);
        execFile(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: String(KEYS) } }, (err, out) => {
          if (err) return reject(err);
          const m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out)!;
          resolve({ p99Ms: Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1), rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]) });
        });
      }, reject);
    });
    stop = true;
    await loop;
    latency.during.push(b.p99Ms);
    latency.rpsDuring.push(b.rps);
    latency.snapshotsDuring.push(count);
    console.log(`round ${r + 1}: GET p99 ${a.p99Ms.toFixed(2)} ms without, ${b.p99Ms.toFixed(2)} ms during ${count} snapshots`);
  }
  await stopProcess(srv);
}
// ── 4: SET ops/s with the WAL, and Redis with appendfsync ─────────────────────────────
const WAL_MODES = ['off', 'no', 'everysec', 'always'] as const;
const hasRedis = spawnSync('redis-server', ['--version']).error === undefined && spawnSync('redis-benchmark', ['--version']).error === undefined && spawnSync('redis-cli', ['--version']).error === undefined;
let walRows: { mode: string; sabcache: number[]; ws: number[]; redis: number[] }[] | undefined;
if (!hasWrk) console.log('wrk is not installed (apt-get install wrk): the WAL rows are skipped');
else {
  if (!hasRedis) console.log('redis-server / redis-benchmark / redis-cli not installed (apt-get install redis-server): the Redis appendfsync rows are skipped');
  const servers = new Map<string, { port: number; proc: Awaited<ReturnType<typeof startProcess>> }>();
  for (const mode of WAL_MODES) {
    const port = await freePort();
    const adminPort = await freePort();
    const dataDir = join(dir, `wal-${mode}`);
    const flags = mode === 'off' ? [] : ['--data-dir', dataDir, '--wal', '--fsync', mode];
    const proc = await startProcess(onServerCpus([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', '1', '--memory', '256mb', '--snapshot-interval', '0', ...flags]), /sabcache: serving|"msg":"serving /, HUGE_PAGES_ENV);
    servers.set(mode, { port, proc });
  }
  let redisPort = 0;
  let redis: Awaited<ReturnType<typeof startProcess>> | undefined;
  if (hasRedis) {
    redisPort = await freePort();
    const redisDir = join(dir, 'redis');
    execFileSync('mkdir', ['-p', redisDir]);
    // No AOF rewrite (a fork) during the runs, as no sabcache snapshot runs during its own
    // (--snapshot-interval 0): both only append.
    redis = await startProcess(onServerCpus(['redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--auto-aof-rewrite-percentage', '0', '--dir', redisDir, '--protected-mode', 'no']), /Ready to accept connections/, PLAIN_ENV);
  }
  const putRate = (port: number): number => {
    const [cmd, ...args] = onLoadCpu(['wrk', '-t1', '-c32', `-d${SECONDS}s`, '-s', 'bench/wrk/put-keys.lua', `http://127.0.0.1:${port}`]);
    const out = execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SABCACHE_BENCH_KEYS: '100000' } });
    if (/Non-2xx or 3xx responses: [1-9]/.test(out)) throw new Error(`errors from sabcache: ${out}`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  };
  const redisRate = (mode: string): number => {
    const fsync = mode === 'off' ? 'no' : mode;
    execFileSync('redis-cli', ['-p', String(redisPort), 'config', 'set', 'appendonly', mode === 'off' ? 'no' : 'yes']);
    execFileSync('redis-cli', ['-p', String(redisPort), 'config', 'set', 'appendfsync', fsync]);
    // Enough requests for about SECONDS at the rate of each mode on this machine (redis-benchmark
    // takes a count, not a time): about 200k/s with always, 200k-390k/s otherwise.
    const n = Math.round(SECONDS * (mode === 'always' ? 200_000 : 300_000));
    const [cmd, ...args] = onLoadCpu(['redis-benchmark', '-p', String(redisPort), '-t', 'set', '-n', String(n), '-c', '32', '-d', '100', '-r', '100000', '-q']);
    const out = execFileSync(cmd, args, { encoding: 'utf8' });
    return Number(/([\d.]+) requests per second/.exec(out)![1]);
  };
  /** SET over WebSocket (the binary protocol, one request in flight per connection, 32 connections). */
  const wsRate = (port: number): number => {
    const [cmd, ...args] = onLoadCpu([process.execPath, '--import', 'tsx', 'bench/fixtures/ws-load.ts', `ws://127.0.0.1:${port}/v1/ws`, 'set', '1', '32', String(SECONDS), '100000']);
    const r = JSON.parse(execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!) as { opsPerSecond: number; errors: number };
    if (r.errors) throw new Error(`sabcache answered ${r.errors} errors`);
    return r.opsPerSecond;
  };
  walRows = WAL_MODES.map((mode) => ({ mode, sabcache: [] as number[], ws: [] as number[], redis: [] as number[] }));
  for (let r = 0; r < WAL_ROUNDS; r++) {
    for (const row of walRows) {
      // Redis between the two sabcache runs: each ratio pairs runs made back to back.
      row.sabcache.push(putRate(servers.get(row.mode)!.port));
      if (redis) row.redis.push(redisRate(row.mode));
      row.ws.push(wsRate(servers.get(row.mode)!.port));
      console.log(`round ${r + 1}: WAL ${row.mode}: sabcache HTTP ${f0(row.sabcache.at(-1)!)}, WebSocket ${f0(row.ws.at(-1)!)} SET/s${redis ? `, Redis ${f0(row.redis.at(-1)!)} SET/s` : ''}`);
    }
  }
  for (const { proc } of servers.values()) await stopProcess(proc);
  if (redis) await stopProcess(redis);
}
rmSync(dir, { recursive: true, force: true });

const lines = [
  '# Durability: snapshot write and load, GET latency during a snapshot, SET throughput with the WAL',
  '',
  `Node ${process.version}, ${CORES} cores; ${new Date().toISOString()}; command: \`npm run bench:persist\`; medians of ${ROUNDS} interleaved rounds (${LOAD_ROUNDS} for the loads, ${P99_ROUNDS} for GET p99, after a warm-up, and ${WAL_ROUNDS} for SET/s with the WAL: see the source). ` +
    `Files in ${tmpdir()} (the machine's one disk). ` +
    `Huge pages (src/server/huge-pages.ts): the loads and the servers ask glibc for them, as \`sabcache\` and \`npm start\` do, except the load row that says otherwise; the snapshot writes run in this process, which ${BENCH_HUGE_PAGES ? 'asks for them too (npm run bench:persist starts it so)' : 'does not ask for them (started without GLIBC_TUNABLES=glibc.malloc.hugetlb=1)'}.`,
  '',
  `Cache: ${MEMORY_MB} MiB full of ${f0(items)} items (16 B keys, 100 B values); snapshot file ${(bytes / MB).toFixed(0)} MB, ${f0(snap[0].entries)} entries.`,
  '',
  '| measure | sabcache | baseline | ratio |',
  '|---|---:|---:|---:|',
  `| snapshot write as the server takes one (Snapshotter: lead and helper pool threads walk in segment order, encode, write; fsync, rename, dir fsync) | ${snapMBs.toFixed(0)} MB/s | plain sequential write of the same bytes: ${plainMBs.toFixed(0)} MB/s | ${(snapMBs / plainMBs).toFixed(2)}× |`,
  `| snapshot load at a server start (fresh process; check, decode, store): compiled, main thread + ${loads[0][0].helperThreads} helper thread${loads[0][0].helperThreads === 1 ? '' : 's'}, cache made with the file's hash seeds (as the \`sabcache\` command loads) | ${loadMBs[0].toFixed(0)} MB/s (${f0(loadEntries)} entries/s) | plain read of the same file (page cache): ${readMBs.toFixed(0)} MB/s | ${(loadMBs[0] / readMBs).toFixed(2)}× |`,
  `| snapshot load, main thread alone (threads: 1) | ${loadMBs[1].toFixed(0)} MB/s | the load above | ${(loadMBs[1] / loadMBs[0]).toFixed(2)}× |`,
  `| snapshot load from the TypeScript sources under tsx (as \`npm start\` loads: helper threads boot slower) | ${loadMBs[2].toFixed(0)} MB/s | the load above | ${(loadMBs[2] / loadMBs[0]).toFixed(2)}× |`,
  `| snapshot load into a cache with its own random seeds (index filled at random, as before the seeds were recorded) | ${loadMBs[3].toFixed(0)} MB/s | the load above | ${(loadMBs[3] / loadMBs[0]).toFixed(2)}× |`,
  `| snapshot load without huge pages (Node started without GLIBC_TUNABLES, as \`node bin/sabcache.js\`; every row above asks for them, as \`sabcache\` and \`npm start\` do) | ${loadMBs[4].toFixed(0)} MB/s | the load above | ${(loadMBs[4] / loadMBs[0]).toFixed(2)}× |`,
  ...(latency
    ? [`| GET p99, wrk -c32 (1 server thread${PIN ? ` on CPU ${SERVER_CPUS}, wrk on CPU ${LOAD_CPU}` : ''}), ${f0(KEYS)} keys | ${median(latency.during).toFixed(2)} ms during snapshots (${latency.snapshotsDuring.join(', ')} per ${SECONDS} s run) | ${median(latency.without).toFixed(2)} ms without | ${(median(latency.during) / median(latency.without)).toFixed(2)}× |`,
      `| GET req/s, same runs | ${f0(median(latency.rpsDuring))} during | ${f0(median(latency.rpsWithout))} without | ${(median(latency.rpsDuring) / median(latency.rpsWithout)).toFixed(2)}× |`,
      `| server snapshot time (${f0(stats.items)} items) | ${f0(median(latency.snapshotMsDuring))} ms under the GET load | ${f0(idleSnapshotMs)} ms idle | ${(median(latency.snapshotMsDuring) / idleSnapshotMs).toFixed(1)}× |`]
    : ['| GET p99 during a snapshot | skipped: wrk not installed | | |']),
  '',
  'Per round: snapshot MB/s ' + snap.map((s) => (s.bytes / MB / (s.ms / 1000)).toFixed(0)).join(', ') + '; plain write MB/s ' + plain.map((ms, i) => (snap[i].bytes / MB / (ms / 1000)).toFixed(0)).join(', ') +
    '; load MB/s ' + LOAD_WAYS.map((way, i) => `${way.name} ${loads[i].map((l) => (bytes / MB / (l.ms / 1000)).toFixed(0)).join(', ')}`).join('; ') + (latency ? '; GET p99 ms without/during ' + latency.without.map((x, i) => `${x.toFixed(2)}/${latency!.during[i].toFixed(2)}`).join(', ') : '') + '.',
  '',
  'The snapshot thread runs in the SCHED_IDLE class (nice 19 where `chrt` is missing): under a load that keeps the server core busy it only gets the gaps, so GET latency holds and the snapshot takes longer (last row).',
  '',
  ...(walRows
    ? [
      `## SET ops/s with the WAL (100 B values over 100k keys, 32 connections, one request in flight each, 1 server thread${PIN ? ` on CPU ${SERVER_CPUS}, load generator on CPU ${LOAD_CPU}` : ''}; HTTP PUT by wrk -c32, WebSocket SET by bench/fixtures/ws-load.ts; Redis: redis-benchmark SET -c32 -d 100, appendonly yes, no AOF rewrite)`,
      '',
      `${WAL_ROUNDS} rounds; each round runs every mode, and for each mode HTTP, Redis, WebSocket back to back. Rates: medians. Ratios: the median of the ${WAL_ROUNDS} rounds' own ratios (this machine's speed drifts by up to 2× from minute to minute, alike for every server; a ratio of runs made seconds apart cancels most of it). The ratio of the medians is in brackets.`,
      '',
      '| WAL | sabcache HTTP SET/s | vs WAL off | sabcache WebSocket SET/s | vs WAL off | Redis SET/s (appendfsync) | HTTP / Redis | WebSocket / Redis |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...walRows.map((row) => {
        const h = median(row.sabcache);
        const w = median(row.ws);
        const r = row.redis.length ? median(row.redis) : 0;
        const off = walRows![0];
        return `| ${row.mode === 'off' ? 'off' : `--fsync ${row.mode}`} | ${f0(h)} | ${pairedRatio(row.sabcache, off.sabcache).toFixed(2)}× | ${f0(w)} | ${pairedRatio(row.ws, off.ws).toFixed(2)}× | ` +
          `${r ? `${f0(r)} (${row.mode === 'off' ? 'AOF off' : row.mode})` : 'not installed'} | ${r ? `${pairedRatio(row.sabcache, row.redis).toFixed(2)}× (${(h / r).toFixed(2)}×)` : '—'} | ${r ? `${pairedRatio(row.ws, row.redis).toFixed(2)}× (${(w / r).toFixed(2)}×)` : '—'} |`;
      }),
      '',
      'Per round (HTTP / WebSocket / Redis): ' + walRows.map((row) => `${row.mode} ${row.sabcache.map(f0).join(', ')} / ${row.ws.map(f0).join(', ')}${row.redis.length ? ` / ${row.redis.map(f0).join(', ')}` : ''}`).join('; ') + '.',
    ]
    : ['SET ops/s with the WAL: skipped (wrk not installed).']),
];
writeFileSync(new URL('./results/persist.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/persist.json', import.meta.url), JSON.stringify({ node: process.version, cores: CORES, memoryMB: MEMORY_MB, hugePages: BENCH_HUGE_PAGES, items, bytes, snap, plain, loadWays: LOAD_WAYS, loads, read, latency, walRows }, null, 2) + '\n');
console.log('\n' + lines.join('\n'));
