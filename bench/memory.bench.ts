/**
 * Memory efficiency: the table's bytes per item beyond the key and value bytes, at 100k and
 * 1M items of 16-byte keys and 100-byte values; memcached and Redis measured the same way
 * when installed; and a server process's RSS against its `--memory`.
 *
 * sabcache: a cache with default options but `memoryBytes`, planned for about N items, is
 * filled with 3N unique keys so that it is full and evicting (a cache in service is full;
 * an emptier one only spreads its index over fewer items). Per item it holds:
 *  - metadata B/item = (every region but the segments + live entry bytes − items × 116) / items:
 *    entry headers and padding, index, frequency bytes, versions, ghost table, segment table, and the
 *    fixed regions (header, thread blocks, change feed) spread over the items. The target is
 *    about this figure (memcached's and Redis's are per-item structures too);
 *  - buffer B/item = (the whole buffer − items × 116) / items: adds the free segments kept
 *    for writers and evictors, unfilled tails of active segments, and entries already
 *    unlinked whose segment is not yet evicted or compacted.
 * memcached (`stats`: bytes + hash_bytes, slab chunk rounding not counted, which flatters it)
 * and Redis (`INFO memory` used_memory after − before) get the same N SETs.
 *
 * RSS: `npm start`'s server with `--memory 256mb --threads 1`, idle and after filling it
 * with unique keys until it evicts (binary /v1/mset), from /proc/PID/status VmRSS.
 *
 * Run: npm run bench:memory   (results: bench/results/memory.{md,json})
 * Share of the buffer holding items: 24 MiB and 1 GiB, full and evicting, 100 B and
 * 100–999 B values.
 *
 * Env: BENCH_ITEMS (comma-separated, default "100000,1000000"), BENCH_SHARE_MEMORY (MiB,
 *      default "24,1024").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { SharedCache } from '../src/index.ts';
import { BUCKET_BYTES, entryBytes, FREQ_BYTES_PER_BUCKET, GHOST_LINE_BYTES, BUCKET_VERSION_BYTES, WAYS } from '../src/table/layout.ts';
import { freePort } from '../test/helpers/server-process.ts';
import { startProcess, stopProcess } from './helpers/processes.ts';

const ITEMS = (process.env.BENCH_ITEMS ?? '100000,1000000').split(',').map(Number);
const SHARE_MEMORY = (process.env.BENCH_SHARE_MEMORY ?? '24,1024').split(',').map((m) => Number(m) * 2 ** 20);
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const PAYLOAD = KEY_BYTES + VALUE_BYTES;
/** What one item takes in a segment. */
const ITEM_BYTES = entryBytes(KEY_BYTES, VALUE_BYTES);
const value = new Uint8Array(VALUE_BYTES).fill(118);
const keyOf = (i: number) => `k:${String(i).padStart(KEY_BYTES - 2, '0')}`;

interface SabcacheRow {
  items: number; memoryBytes: number; bucketCount: number; wayLoad: number; segments: number; segmentBytes: number; indexSegments: number;
  metadataPerItem: number; bufferPerItem: number; liveShareOfSegments: number;
  parts: { entryHeader: number; index: number; freq: number; versions: number; ghost: number; other: number };
}

/**
 * A cache with default options but `memoryBytes` (about 150 B per item wanted), filled
 * with 3n unique keys so that it is full and evicting, as a cache in service is. Its
 * maintenance runs every 10,000 writes (it grows the index, evicts ahead of writers), as
 * its timer would between bursts.
 */
function sabcacheRow(n: number): SabcacheRow {
  const memoryBytes = Math.ceil((n * 150) / 2 ** 20) * 2 ** 20;
  const cache = SharedCache.create({ memoryBytes });
  try {
    for (let i = 0; i < 3 * n; i++) {
      cache.set(keyOf(i), value);
      if (i % 10_000 === 0) cache.runMaintenance();
    }
    const s = cache.stats();
    const g = cache.table.v.g;
    const items = s.items;
    const buckets = s.bucketCount;
    // The index: its region and the segments it grew over (their unused tail included).
    const indexBytes = g.bucketCount * BUCKET_BYTES + s.segments.index * g.segmentBytes;
    const versions = (buckets * BUCKET_VERSION_BYTES) / items;
    const freq = (buckets * FREQ_BYTES_PER_BUCKET) / items;
    const index = indexBytes / items - versions - freq;
    const ghost = (g.ghostLines * GHOST_LINE_BYTES) / items;
    const entryHeader = s.liveBytes / items - PAYLOAD;
    const metadataPerItem = (g.segmentsOffset + s.segments.index * g.segmentBytes + s.liveBytes) / items - PAYLOAD;
    const dataSegments = g.segmentCount - s.segments.index;
    return {
      items, memoryBytes, bucketCount: buckets, wayLoad: items / (buckets * WAYS), segments: g.segmentCount, segmentBytes: g.segmentBytes, indexSegments: s.segments.index,
      metadataPerItem, bufferPerItem: s.bufferBytes / items - PAYLOAD, liveShareOfSegments: s.liveBytes / (dataSegments * g.segmentBytes),
      parts: { entryHeader, index, freq, versions, ghost, other: metadataPerItem - entryHeader - index - freq - versions - ghost },
    };
  } finally {
    cache.close();
  }
}

interface ShareRow { memoryBytes: number; values: string; items: number; itemShare: number; payloadShare: number; buckets: number; indexSegments: number }

/**
 * The share of the whole buffer that holds items, full and evicting, at default options
 * but `memoryBytes`: live entries' bytes (key, value, their 12 B header and padding) and
 * the key and value bytes alone, each over the buffer. Filled with unique keys, values
 * of `min`..`max` bytes, until it has evicted its size twice over; maintenance every
 * 10,000 writes.
 */
function shareRow(memoryBytes: number, min: number, max: number): ShareRow {
  const cache = SharedCache.create({ memoryBytes });
  const big = new Uint8Array(max).fill(118);
  try {
    let written = 0;
    let payload = 0;
    const sizes: number[] = [];
    for (let i = 0; written < 3 * memoryBytes; i++) {
      const len = min + ((i * 7919) % (max - min + 1));
      cache.set(keyOf(i), big.subarray(0, len));
      sizes.push(len);
      written += len;
      if (i % 10_000 === 0) cache.runMaintenance();
    }
    for (let k = 0; k < 20; k++) cache.runMaintenance();
    const s = cache.stats();
    // Key and value bytes of the items held: each held item's value size is known by its key.
    let held = 0;
    for (let i = sizes.length - 1; i >= 0 && held < s.items; i--) {
      if (cache.has(keyOf(i))) {
        held++;
        payload += KEY_BYTES + sizes[i];
      }
    }
    return { memoryBytes, values: min === max ? `${min} B` : `${min}–${max} B`, items: s.items, itemShare: s.liveBytes / s.bufferBytes, payloadShare: payload / s.bufferBytes, buckets: s.bucketCount, indexSegments: s.segments.index };
  } finally {
    cache.close();
  }
}

/** Writes `chunks` to a TCP server and resolves with what it answered once `done(chunk)`, called on each chunk received, returns true. */
async function talk(port: number, chunks: Iterable<Buffer>, done: (chunk: string) => boolean): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let last = '';
  const finished = new Promise<void>((resolve) => {
    socket.on('data', (d) => {
      last = d.toString('latin1');
      if (done(last)) resolve();
    });
  });
  for (const c of chunks) if (!socket.write(c)) await new Promise((r) => socket.once('drain', r));
  await finished;
  socket.destroy();
  return last;
}

function* commands(n: number, one: (i: number) => string): Generator<Buffer> {
  const batch = 1000;
  for (let i = 0; i < n; i += batch) {
    let s = '';
    for (let j = i; j < Math.min(n, i + batch); j++) s += one(j);
    yield Buffer.from(s, 'latin1');
  }
}

const v100 = 'v'.repeat(VALUE_BYTES);
const installed = (cmd: string) => spawnSync(cmd, ['--version']).error === undefined;

async function memcachedRow(n: number): Promise<number | string> {
  if (!installed('memcached')) return 'skipped: memcached not installed (apt-get install memcached)';
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : []; // memcached refuses root without -u
  const proc = await startProcess(['memcached', ...asRoot, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(Math.ceil((n * 400) / 2 ** 20) + 64), '-vv'], /slab class/);
  try {
    // noreply sets, then `stats`, which memcached answers after every set before it.
    let stats = '';
    await talk(port, [...commands(n, (i) => `set ${keyOf(i)} 0 0 ${VALUE_BYTES} noreply\r\n${v100}\r\n`), Buffer.from('stats\r\n')], (chunk) => {
      stats += chunk;
      return stats.includes('END\r\n');
    });
    const stat = (name: string) => Number(new RegExp(`STAT ${name} (\\d+)`).exec(stats)?.[1]);
    if (stat('curr_items') !== n) return `only ${stat('curr_items')} of ${n} items stored`;
    return (stat('bytes') + stat('hash_bytes')) / n - PAYLOAD;
  } finally {
    await stopProcess(proc);
  }
}

async function redisRow(n: number): Promise<number | string> {
  if (!installed('redis-server')) return 'skipped: redis-server not installed (apt-get install redis-server)';
  const port = await freePort();
  const proc = await startProcess(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  try {
    const used = async () => {
      let info = '';
      await talk(port, [Buffer.from('INFO memory\r\n')], (chunk) => (info += chunk).includes('used_memory_peak:'));
      return Number(/used_memory:(\d+)/.exec(info)![1]);
    };
    const before = await used();
    let ok = 0;
    // Each reply is +OK\r\n: count line ends.
    await talk(port, commands(n, (i) => `*3\r\n$3\r\nSET\r\n$${KEY_BYTES}\r\n${keyOf(i)}\r\n$${VALUE_BYTES}\r\n${v100}\r\n`), (chunk) => {
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) ok++;
      return ok >= n;
    });
    const after = await used();
    return (after - before) / n - PAYLOAD;
  } finally {
    await stopProcess(proc);
  }
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** The server's RSS idle and full, with --memory 256mb. */
async function rssRow(): Promise<{ memoryBytes: number; idleRssBytes: number; fullRssBytes: number; items: number }> {
  const port = await freePort();
  const adminPort = await freePort();
  const memoryBytes = 256 * 2 ** 20;
  const proc = await startProcess([process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', '1', '--memory', '256mb'], /sabcache: serving|"msg":"serving /);
  try {
    const idleRssBytes = rssBytes(proc.pid!);
    // Binary mset: u16 keyLength | key | u32 ttl | u32 valueLength | value.
    const perEntry = 2 + KEY_BYTES + 4 + 4 + VALUE_BYTES;
    const batch = 1000; // the most /v1/mset takes
    const stats = async () => (await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json()) as { items: number; evictions: number };
    let next = 0;
    for (;;) {
      const body = Buffer.alloc(batch * perEntry);
      for (let j = 0, o = 0; j < batch; j++, next++) {
        o = body.writeUInt16LE(KEY_BYTES, o);
        o += body.write(keyOf(next), o, 'latin1');
        o = body.writeUInt32LE(0, o);
        o = body.writeUInt32LE(VALUE_BYTES, o);
        o += Buffer.from(value).copy(body, o);
      }
      const r = await fetch(`http://127.0.0.1:${port}/v1/mset`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
      if (r.status !== 200) throw new Error(`mset answered ${r.status}: ${await r.text()}`);
      if (next % 100_000 === 0 && next > (2 * memoryBytes) / ITEM_BYTES && (await stats()).evictions > 0) break;
    }
    const s = await stats();
    return { memoryBytes, idleRssBytes, fullRssBytes: rssBytes(proc.pid!), items: s.items };
  } finally {
    await stopProcess(proc);
  }
}

const rows: { items: number; sabcache: SabcacheRow; memcached: number | string; redis: number | string }[] = [];
for (const n of ITEMS) {
  const sabcache = sabcacheRow(n);
  const memcached = await memcachedRow(n);
  const redis = await redisRow(n);
  rows.push({ items: n, sabcache, memcached, redis });
  console.log(JSON.stringify(rows.at(-1)));
}
const shares: ShareRow[] = [];
for (const memoryBytes of SHARE_MEMORY) {
  for (const [min, max] of [[VALUE_BYTES, VALUE_BYTES], [100, 999]]) {
    shares.push(shareRow(memoryBytes, min, max));
    console.log(JSON.stringify(shares.at(-1)));
  }
}
const rss = await rssRow();
console.log(JSON.stringify(rss));

const f1 = (x: number | string) => (typeof x === 'number' ? x.toFixed(1) : x);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const md = [
  '# Memory per item',
  '',
  `Node ${process.version}; ${new Date().toISOString()}; command: \`npm run bench:memory\``,
  '',
  `Items of ${KEY_BYTES}-byte keys and ${VALUE_BYTES}-byte values (${PAYLOAD} B of payload). sabcache: default options but \`memoryBytes\` (150 B per N), filled with 3N unique keys, so it is full and evicting, its maintenance run every 10,000 writes (it grows the index); "items" is what it then holds. "Metadata" = every region but the segments, plus the segments the index grew over, plus the live entries' bytes, minus the payload, per item held ("index" counts the index region and those segments, unused tail included, less the version and frequency words). "Buffer" = the whole SharedArrayBuffer minus the payload, per item held (adds the free segments kept for writers and evictors, unfilled segment tails, and unlinked entries not yet reclaimed). memcached: (\`bytes\` + \`hash_bytes\`) / items − payload (slab chunk rounding not counted). Redis: \`used_memory\` after − before, per item, − payload. memcached and Redis get exactly N items.`,
  '',
  '| N | sabcache items held | sabcache metadata B/item | of which: entry header, index, freq, versions, ghost, other | sabcache buffer B/item (live share of segments) | buckets (way load) | memcached B/item | Redis B/item |',
  '|---:|---:|---:|---|---:|---|---:|---:|',
  ...rows.map((r) => {
    const p = r.sabcache.parts;
    return `| ${r.items.toLocaleString('en-US')} | ${r.sabcache.items.toLocaleString('en-US')} | ${f1(r.sabcache.metadataPerItem)} | ${[p.entryHeader, p.index, p.freq, p.versions, p.ghost, p.other].map(f1).join(', ')} | ${f1(r.sabcache.bufferPerItem)} (${(r.sabcache.liveShareOfSegments * 100).toFixed(0)}%) | ${r.sabcache.bucketCount.toLocaleString('en-US')} (${(r.sabcache.wayLoad * 100).toFixed(0)}%) | ${f1(r.memcached)} | ${f1(r.redis)} |`;
  }),
  '',
  '## Share of the buffer holding items, full and evicting',
  '',
  'Default options but `memoryBytes`; unique 16-byte keys with the values shown, written until three times the memory went through (maintenance every 10,000 writes). "Entries" = live entries\' bytes (key, value, 12 B header, padding to 8) ÷ the whole buffer; "key + value" = the held items\' key and value bytes ÷ the whole buffer.',
  '',
  '| memory | values | items held | entries ÷ buffer | key + value ÷ buffer | buckets | segments taken by the index |',
  '|---:|---|---:|---:|---:|---:|---:|',
  ...shares.map((r) => `| ${mib(r.memoryBytes)} | ${r.values} | ${r.items.toLocaleString('en-US')} | ${(r.itemShare * 100).toFixed(1)}% | ${(r.payloadShare * 100).toFixed(1)}% | ${r.buckets.toLocaleString('en-US')} | ${r.indexSegments} |`),
  '',
  '## Server RSS against `--memory`',
  '',
  `\`--memory 256mb --threads 1\`: RSS idle ${mib(rss.idleRssBytes)}, full (${rss.items.toLocaleString('en-US')} items, evicting) ${mib(rss.fullRssBytes)}, that is ${(rss.fullRssBytes / rss.memoryBytes).toFixed(2)}× \`--memory\`, or ${mib(rss.fullRssBytes - rss.memoryBytes)} beyond it (Node, V8 heaps of the main and server threads, uWS).`,
  '',
];
writeFileSync(new URL('./results/memory.md', import.meta.url), md.join('\n'));
writeFileSync(new URL('./results/memory.json', import.meta.url), JSON.stringify({ rows, shares, rss }, null, 2) + '\n');
console.log(md.join('\n'));
process.exit(0);
