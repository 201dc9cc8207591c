/**
 * Miss ratio of sabcache's eviction (S3-FIFO over segments) against true LRU (lru-cache
 * with `maxSize`) and Belady's offline optimum (OPT) at the same bytes, on synthetic traces
 * it was not tuned for: Zipf α 0.6/0.8/1.0/1.2 over 1M keys, Zipf polluted by one-time
 * scans, a shifting hot set, mixed TTLs, and heavy-tailed value sizes. Each trace is
 * replayed at cache sizes of 1% and 10% of its working set's bytes.
 *
 * Equal bytes: each policy gets the same bytes for items, an item costing what it costs in
 * sabcache (key + value + 12 B header, rounded up to 8). For sabcache that is the segment
 * area; its index and other metadata come on top (see bench:memory). lru-cache's own
 * per-item overhead (JS objects) is not counted either. Replay: a request is a hit if the
 * key is cached; on a miss the key is written (look-aside caching). Time is virtual (the
 * trace's milliseconds per request) for sabcache's and lru-cache's TTLs; sabcache's owner
 * maintenance runs every 1000 requests (its 50 ms timer cannot fire in a busy loop).
 *
 * Run: npm run bench:eviction   (results: bench/results/eviction.{md,json,svg})
 * A second part compares sabcache with the real servers (Redis, memcached) at the same
 * configured memory, over TCP: see `serversPart` below (results: eviction-servers.{md,json,svg}).
 *
 * Env: BENCH_PART ("policies", "servers" or both, the default), BENCH_KEYS (default 1000000),
 *      BENCH_REQUESTS (default 3000000), BENCH_TRACES (comma-separated trace names to run;
 *      default all), BENCH_SIZES (default "0.01,0.1"); for the servers part BENCH_SERVER_KEYS
 *      (default 200000), BENCH_SERVER_REQUESTS (default 1000000), BENCH_SERVER_MEMORY (MiB,
 *      default "24,64"), BENCH_SERVERS (names to run; default every one installed),
 *      BENCH_SERVER_RATE (requests/s every replay is paced to; default 0, unpaced: each server at
 *      its own speed, which moves real-second TTLs' misses), BENCH_SERVER_OUT (results' file
 *      name, default "eviction-servers").
 */
import { writeFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../src/index.ts';
import { entryBytes } from '../src/table/layout.ts';
import { planGeometry } from '../src/table/sizing.ts';
import { barChartSvg } from './helpers/bar-chart-svg.ts';
import { beladyMissRatio } from './helpers/belady.ts';
import { type CacheServer, installed, startMemcached, startRedis, startSabcache } from './helpers/cache-servers.ts';
import { command, replayTrace, statFields } from './helpers/replay-client.ts';
import { heavyTailTrace, scanTrace, shiftingTrace, type Trace, ttlTrace, withValueSizes, zipfTrace } from './helpers/traces.ts';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3_000_000);
const SIZES = (process.env.BENCH_SIZES ?? '0.01,0.1').split(',').map(Number);
const ONLY = process.env.BENCH_TRACES?.split(',');
const MAX_VALUE_BYTES = 16 * 1024;
const size = { keys: KEYS, requests: REQUESTS };

const keyName = (k: number) => `key:${k}`;
const keyLength = (k: number) => 4 + String(k).length;

interface Row { trace: string; about: string; fraction: number; capacityBytes: number; bufferBytes: number; sabcache: number; lru: number; opt: number; sabcacheStats: object }

/**
 * The working set: every key the trace draws from (the Zipf universe, plus scan keys),
 * its bytes and mean item size.
 */
function workingSet(t: Trace, footprint: (k: number) => number): { bytes: number; meanItemBytes: number } {
  let bytes = 0;
  const n = t.valueBytes.length;
  for (let k = 0; k < n; k++) bytes += footprint(k);
  return { bytes, meanItemBytes: bytes / n };
}

/** The largest memoryBytes whose segment area is at most `capacityBytes`. */
function sabcacheMemoryFor(capacityBytes: number, expectedItemBytes: number, maxValueBytes: number): number {
  const input = { maxKeyBytes: 64, maxValueBytes, expectedItemBytes };
  let memoryBytes = capacityBytes + 2 ** 20;
  for (let i = 0; i < 20; i++) {
    const g = planGeometry({ ...input, memoryBytes });
    const area = g.segmentCount * g.segmentBytes;
    const next = memoryBytes + (capacityBytes - area);
    if (Math.abs(next - memoryBytes) < g.segmentBytes) break;
    memoryBytes = next;
  }
  const area = (m: number) => {
    const g = planGeometry({ ...input, memoryBytes: m });
    return g.segmentCount * g.segmentBytes;
  };
  while (area(memoryBytes) > capacityBytes) memoryBytes -= 4096;
  return memoryBytes;
}

function replaySabcache(t: Trace, capacityBytes: number, expectedItemBytes: number): { missRatio: number; bufferBytes: number; stats: object } {
  let nowMs = 1_700_000_000_000;
  const start = nowMs;
  const maxValueBytes = t.valueBytes.reduce((a, b) => Math.max(a, b), 1);
  const cache = SharedCache.create({
    memoryBytes: sabcacheMemoryFor(capacityBytes, expectedItemBytes, maxValueBytes), maxKeyBytes: 64, maxValueBytes,
    expectedItemBytes, maintenanceIntervalMs: 10_000, now: () => nowMs,
  });
  const value = new Uint8Array(MAX_VALUE_BYTES).fill(120);
  let misses = 0;
  const { keys, valueBytes, ttlSeconds, msPerRequest } = t;
  for (let i = 0; i < keys.length; i++) {
    nowMs = start + i * msPerRequest;
    if (i % 1000 === 0) cache.runMaintenance();
    const k = keys[i];
    const key = keyName(k);
    if (cache.has(key)) continue;
    misses++;
    cache.set(key, value.subarray(0, valueBytes[k]), { ttlSeconds: ttlSeconds[k] });
  }
  const s = cache.stats();
  const stats = { items: s.items, evictions: s.evictions, expired: s.expired, promotions: s.promotions, reinsertions: s.reinsertions, ghostHits: s.ghostHits, compactedSegments: s.compactedSegments, segments: s.segments };
  const bufferBytes = s.bufferBytes;
  cache.close();
  return { missRatio: misses / keys.length, bufferBytes, stats };
}

function replayLru(t: Trace, capacityBytes: number, footprint: (k: number) => number): number {
  let nowMs = 0;
  const lru = new LRUCache<string, number>({
    maxSize: capacityBytes, sizeCalculation: (_v, key) => footprint(Number(key.slice(4))),
    // Virtual time; ttlResolution 0 makes every check read it (the default caches "now"
    // until a timer fires, which never happens inside this loop).
    perf: { now: () => nowMs }, ttlResolution: 0,
  });
  let misses = 0;
  const { keys, ttlSeconds, msPerRequest } = t;
  for (let i = 0; i < keys.length; i++) {
    nowMs = i * msPerRequest;
    const k = keys[i];
    const key = keyName(k);
    if (lru.get(key) !== undefined) continue;
    misses++;
    lru.set(key, k, { ttl: ttlSeconds[k] * 1000 });
  }
  return misses / keys.length;
}

/** Every trace over `sz` keys and requests (scans of a tenth of the keys every fifth of them). */
const tracesFor = (sz: { keys: number; requests: number }): (() => Trace)[] => [
  () => zipfTrace(sz, 0.6),
  () => zipfTrace(sz, 0.8),
  () => zipfTrace(sz, 1.0),
  () => zipfTrace(sz, 1.2),
  () => scanTrace(sz, sz.keys / 5, sz.keys / 10),
  () => shiftingTrace(sz, 6),
  () => ttlTrace(sz),
  () => heavyTailTrace(sz, MAX_VALUE_BYTES),
];
const traces = tracesFor(size);

const PARTS = (process.env.BENCH_PART ?? 'policies,servers').split(',');

const rows: Row[] = [];
if (PARTS.includes('policies')) {
for (const make of traces) {
  const t = make();
  if (ONLY && !ONLY.includes(t.name)) continue;
  const footprint = (k: number) => entryBytes(keyLength(k), t.valueBytes[k]);
  const ws = workingSet(t, footprint);
  for (const fraction of SIZES) {
    const capacityBytes = Math.floor(ws.bytes * fraction);
    const expectedItemBytes = Math.max(24, Math.round(ws.meanItemBytes));
    const s = replaySabcache(t, capacityBytes, expectedItemBytes);
    const lru = replayLru(t, capacityBytes, footprint);
    const opt = beladyMissRatio(t, capacityBytes, footprint);
    rows.push({ trace: t.name, about: t.about, fraction, capacityBytes, bufferBytes: s.bufferBytes, sabcache: s.missRatio, lru, opt, sabcacheStats: s.stats });
    console.log(`${t.name} @ ${fraction * 100}% (${(capacityBytes / 2 ** 20).toFixed(1)} MiB): sabcache ${s.missRatio.toFixed(4)}, LRU ${lru.toFixed(4)}, OPT ${opt.toFixed(4)}`);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const lines = [
  '# Miss ratio: sabcache (S3-FIFO over segments) vs LRU vs OPT',
  '',
  `Node ${process.version}; ${KEYS} keys, ${REQUESTS} requests per trace; ${new Date().toISOString()}; command: \`npm run bench:eviction\``,
  '',
  'Cache size = that fraction of the bytes of every item the trace draws from (the Zipf universe plus scan keys) (items sized as in sabcache: key + value + 12 B header, 8-byte aligned). sabcache gets that many bytes of segments (its index and metadata on top: "buffer"); lru-cache gets it as `maxSize`; OPT is Belady\'s furthest-next-use rule with bypass.',
  '',
  '| trace | size | bytes for items | sabcache buffer | sabcache miss ratio | LRU miss ratio | OPT miss ratio | sabcache vs LRU (fewer misses) | gap to OPT (sabcache − OPT) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.trace} | ${r.fraction * 100}% | ${(r.capacityBytes / 2 ** 20).toFixed(1)} MiB | ${(r.bufferBytes / 2 ** 20).toFixed(1)} MiB | ${pct(r.sabcache)} | ${pct(r.lru)} | ${pct(r.opt)} | ${((1 - r.sabcache / r.lru) * 100).toFixed(1)}% | ${((r.sabcache - r.opt) * 100).toFixed(2)} points |`),
  '',
  'Traces:',
  ...[...new Map(rows.map((r) => [r.trace, r.about])).entries()].map(([name, about]) => `- \`${name}\`: ${about}`),
  '',
  'Chart: eviction.svg',
];
writeFileSync(new URL('./results/eviction.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/eviction.json', import.meta.url), JSON.stringify({ node: process.version, keys: KEYS, requests: REQUESTS, rows }, null, 2) + '\n');
writeFileSync(new URL('./results/eviction.svg', import.meta.url), barChartSvg(
  `Miss ratio at equal bytes (${KEYS} keys, ${REQUESTS} requests)`, 'miss ratio', ['sabcache (S3-FIFO)', 'LRU (lru-cache)', 'OPT (Belady)'],
  rows.map((r) => ({ label: `${r.trace} ${r.fraction * 100}%`, values: [r.sabcache, r.lru, r.opt] })),
));
console.log('\n' + lines.join('\n'));
}

if (PARTS.includes('servers')) await serversPart();

/**
 * The comparison at equal configured memory: every trace over SERVER_KEYS keys with values
 * of 100–999 B (heavy-tailed sizes keep theirs), replayed over TCP against sabcache (default
 * options but `--memory`, its maintenance on its own timer as in service), Redis
 * `allkeys-lru` and `allkeys-lfu` (`maxmemory`) and memcached (`-m`), each given the same
 * memory; beside them LRU and OPT given that memory for key and value bytes alone (no
 * overhead at all: a bound no server reaches). Each server's own hit counter must equal the
 * client's (else the bench fails), and its eviction counter is shown beside the evictions
 * the client infers (SETs − items held − expired).
 */
async function serversPart(): Promise<void> {
  const keys = Number(process.env.BENCH_SERVER_KEYS ?? 200_000);
  const requests = Number(process.env.BENCH_SERVER_REQUESTS ?? 1_000_000);
  const memories = (process.env.BENCH_SERVER_MEMORY ?? '24,64').split(',').map((m) => Number(m) * 2 ** 20);
  const only = process.env.BENCH_SERVERS?.split(',');
  const rate = Number(process.env.BENCH_SERVER_RATE ?? 0);
  const out = process.env.BENCH_SERVER_OUT ?? 'eviction-servers';
  const starters: { name: string; binary: string; start: (m: number) => Promise<CacheServer> }[] = [
    { name: 'sabcache', binary: process.execPath, start: startSabcache },
    { name: 'Redis allkeys-lru', binary: 'redis-server', start: (m: number) => startRedis(m, 'allkeys-lru') },
    { name: 'Redis allkeys-lfu', binary: 'redis-server', start: (m: number) => startRedis(m, 'allkeys-lfu') },
    { name: 'memcached', binary: 'memcached', start: startMemcached },
  ].filter((s) => (!only || only.includes(s.name)) && installed(s.binary));
  interface ServerCell { misses: number; missRatio: number; serverHits: number; serverEvictions: number; inferredEvictions: number; items: number; setErrors: number }
  interface ServerRow { trace: string; about: string; memoryBytes: number; cells: Record<string, ServerCell>; lru: number; opt: number }
  const serverRows: ServerRow[] = [];
  for (const make of tracesFor({ keys, requests })) {
    const base = make();
    if (ONLY && !ONLY.includes(base.name)) continue;
    const t = base.name === 'heavy-tailed-sizes' ? base : withValueSizes(base, 100, 999);
    const payload = (k: number) => keyLength(k) + t.valueBytes[k];
    for (const memoryBytes of memories) {
      const row: ServerRow = { trace: t.name, about: t.about, memoryBytes, cells: {}, lru: replayLru(t, memoryBytes, payload), opt: beladyMissRatio(t, memoryBytes, payload) };
      for (const s of starters) {
        const server = await s.start(memoryBytes);
        try {
          const c = await replayTrace(server.port, server.protocol, t, 64, rate);
          // The counters are read until two readings agree: a server may still evict after
          // the load stops (sabcache's owner refills its free-segment reserve), and the hits,
          // evictions and items must come from one moment to be compared.
          let serverHits = 0;
          let serverEvictions = 0;
          let items = 0;
          let expired = 0;
          for (let reading = 0, last = ''; reading < 50; reading++) {
            if (server.protocol === 'memcached') {
              const st = statFields(await command(server.port, 'memcached', ['stats']));
              serverHits = Number(st.get('get_hits'));
              serverEvictions = Number(st.get('evictions'));
              items = Number(st.get('curr_items'));
              expired = Number(st.get('reclaimed') ?? 0) + Number(st.get('crawler_reclaimed') ?? 0);
            } else {
              const info = statFields(await command(server.port, 'resp', ['INFO']));
              serverHits = Number(info.get('keyspace_hits'));
              serverEvictions = Number(info.get('evicted_keys'));
              expired = Number(info.get('expired_keys'));
              items = Number(await command(server.port, 'resp', ['DBSIZE']));
            }
            const now = `${serverHits} ${serverEvictions} ${items} ${expired}`;
            if (now === last) break;
            last = now;
            await new Promise((r) => setTimeout(r, 200));
          }
          if (serverHits !== c.hits) throw new Error(`${s.name} on ${t.name}: the server counts ${serverHits} hits, the client ${c.hits}`);
          const inferredEvictions = c.misses - c.setErrors - items - expired;
          row.cells[s.name] = { misses: c.misses, missRatio: c.misses / c.requests, serverHits, serverEvictions, inferredEvictions, items, setErrors: c.setErrors };
          console.log(`${t.name} @ ${memoryBytes / 2 ** 20} MiB: ${s.name} ${(c.misses / c.requests).toFixed(4)} (items ${items}, evictions ${serverEvictions} / inferred ${inferredEvictions}, set errors ${c.setErrors})`);
        } finally {
          await server.stop();
        }
      }
      serverRows.push(row);
    }
  }
  const names = starters.map((s) => s.name);
  const others = names.filter((n) => n !== 'sabcache');
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const worstRatio = (r: ServerRow) => Math.max(...others.map((n) => r.cells.sabcache.misses / r.cells[n].misses));
  const lines = [
    '# Miss ratio at equal configured memory: sabcache vs Redis and memcached',
    '',
    `Node ${process.version}; ${keys} keys, ${requests} requests per trace; ${new Date().toISOString()}; command: \`npm run bench:eviction\` (this part alone: \`${[
      'BENCH_PART=servers', ...['BENCH_TRACES', 'BENCH_SERVER_RATE', 'BENCH_SERVER_OUT'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`)].join(' ')} npm run bench:eviction\`)` +
      (rate > 0 ? `; every replay paced to ${rate} requests/s` : '; every replay at its server\'s own speed'),
    '',
    'Each server is started by the bench with the same configured memory: sabcache `--memory` (every other option at its default; its maintenance runs on its own timer, as in service), Redis 7 `maxmemory` with the policy shown, memcached `-m`. The trace is replayed over one TCP connection, look-aside (a miss is SET before that key is read again), pipelined in windows of 64 requests with no key twice. Each server\'s own hit counter equals the client\'s (the bench fails otherwise). LRU and OPT (Belady) get the same memory for key and value bytes alone, with no overhead: bounds no server reaches. TTLs are real seconds for the servers (the replay takes a few seconds, so few expire) and virtual milliseconds for LRU and OPT.',
    '',
    `| trace | memory | ${names.join(' | ')} | LRU (payload only) | OPT (payload only) | sabcache misses ÷ the fewest of the others' |`,
    `|---|---:|${names.map(() => '---:').join('|')}|---:|---:|---:|`,
    ...serverRows.map((r) => `| ${r.trace} | ${r.memoryBytes / 2 ** 20} MiB | ${names.map((n) => pct(r.cells[n].missRatio)).join(' | ')} | ${pct(r.lru)} | ${pct(r.opt)} | ${r.cells.sabcache && others.length ? `${worstRatio(r).toFixed(3)}×` : '—'} |`),
    '',
    `Cells where sabcache misses more than a server: ${serverRows.filter((r) => r.cells.sabcache && others.some((n) => r.cells.sabcache.misses > r.cells[n].misses)).length} of ${serverRows.length}.`,
    '',
    '## Items held at the end, and evictions (server counter / inferred by the client: SETs − items − expired)',
    '',
    `| trace | memory | ${names.join(' | ')} |`,
    `|---|---:|${names.map(() => '---').join('|')}|`,
    ...serverRows.map((r) => `| ${r.trace} | ${r.memoryBytes / 2 ** 20} MiB | ${names.map((n) => `${r.cells[n].items.toLocaleString('en-US')} items; ${r.cells[n].serverEvictions.toLocaleString('en-US')} / ${r.cells[n].inferredEvictions.toLocaleString('en-US')}${r.cells[n].setErrors ? `; ${r.cells[n].setErrors} SETs refused` : ''}`).join(' | ')} |`),
    '',
    'Traces:',
    ...[...new Map(serverRows.map((r) => [r.trace, r.about])).entries()].map(([name, about]) => `- \`${name}\`: ${about}`),
    '',
    `Chart: ${out}.svg`,
  ];
  writeFileSync(new URL(`./results/${out}.md`, import.meta.url), lines.join('\n') + '\n');
  writeFileSync(new URL(`./results/${out}.json`, import.meta.url), JSON.stringify({ node: process.version, keys, requests, rows: serverRows }, null, 2) + '\n');
  writeFileSync(new URL(`./results/${out}.svg`, import.meta.url), barChartSvg(
    `Miss ratio at equal configured memory (${keys} keys, ${requests} requests)`, 'miss ratio', [...names, 'OPT (payload only)'],
    serverRows.map((r) => ({ label: `${r.trace} ${r.memoryBytes / 2 ** 20} MiB`, values: [...names.map((n) => r.cells[n].missRatio), r.opt] })),
  ));
  console.log('\n' + lines.join('\n'));
}
