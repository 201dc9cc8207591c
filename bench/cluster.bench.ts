/**
 * What the proxies cost (issue 30): `redis-benchmark` GET through twemproxy in front of 2
 * nodes against straight to one node, and `wrk` GET through HAProxy in front of 2 nodes
 * against straight to one node. Each node one server thread; rounds alternate the order;
 * ratios are per round, inside this run (this VM swings between runs).
 *
 * Run: npm run bench:cluster   (results: bench/results/cluster.{md,json})
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { missing, startHaproxy, startTwemproxy } from '../test/helpers/proxies.ts';
import { startServer } from '../test/helpers/server-process.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const gone = [missing('nutcracker', 'nutcracker'), missing('haproxy', 'haproxy'), spawnSync('wrk', ['--version']).error ? 'wrk is not installed (apt-get install wrk)' : false, spawnSync('redis-benchmark', ['--version']).error ? 'redis-benchmark is not installed (apt-get install redis-tools)' : false].filter(Boolean);
if (gone.length) {
  console.log(`bench:cluster needs: ${gone.join('; ')}`);
  process.exit(0);
}

const nodes = [await startServer(['--threads', '1', '--memory', '64mb']), await startServer(['--threads', '1', '--memory', '64mb'])];
const twem = await startTwemproxy(nodes.map((n, i) => ({ name: `node${i + 1}`, respPort: n.respPort })));
const ha = await startHaproxy(nodes.map((n, i) => ({ name: `node${i + 1}`, port: n.port, adminPort: n.adminPort })));
await new Promise((r) => setTimeout(r, 1500)); // HAProxy's health checks
// The keys: 10,000 of 100 B through twemproxy (each on its node), one HTTP key on each node.
spawnSync('redis-benchmark', ['-p', String(twem.port), '-t', 'set', '-n', '50000', '-r', '10000', '-d', '100', '-P', '16', '-q']);
for (const n of nodes) await fetch(`${n.base}/v1/kv/bench-key`, { method: 'PUT', body: 'v'.repeat(100) });
await fetch(`http://127.0.0.1:${ha.port}/v1/kv/bench-key`, { method: 'PUT', body: 'v'.repeat(100) });

function respGet(port: number): number {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-t', 'get', '-n', '300000', '-r', '10000', '-d', '100', '-P', '16', '-c', '50', '-q'], { encoding: 'utf8' });
  return Number(/GET: ([\d.]+) requests per second/.exec(out)?.[1] ?? 0);
}
function httpGet(url: string): number {
  const out = execFileSync('wrk', ['-t1', '-c64', '-d3s', url], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

const rows: { round: number; respDirect: number; respTwem: number; httpDirect: number; httpHa: number }[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const proxyFirst = round % 2 === 1;
    const row = { round, respDirect: 0, respTwem: 0, httpDirect: 0, httpHa: 0 };
    if (proxyFirst) row.respTwem = respGet(twem.port);
    row.respDirect = respGet(nodes[0].respPort);
    if (!proxyFirst) row.respTwem = respGet(twem.port);
    if (proxyFirst) row.httpHa = httpGet(`http://127.0.0.1:${ha.port}/v1/kv/bench-key`);
    row.httpDirect = httpGet(`${nodes[0].base}/v1/kv/bench-key`);
    if (!proxyFirst) row.httpHa = httpGet(`http://127.0.0.1:${ha.port}/v1/kv/bench-key`);
    rows.push(row);
    console.log(`round ${round + 1}: RESP direct ${row.respDirect.toFixed(0)}/s, twemproxy ${row.respTwem.toFixed(0)}/s; HTTP direct ${row.httpDirect.toFixed(0)}/s, HAProxy ${row.httpHa.toFixed(0)}/s`);
  }
} finally {
  await ha.stop();
  await twem.stop();
  for (const n of nodes) await n.stop();
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ratios = (a: (r: typeof rows[0]) => number, b: (r: typeof rows[0]) => number): number[] => rows.map((r) => a(r) / b(r));
const fmt = (xs: number[]): string => `${median(xs).toFixed(2)}× (${xs.map((x) => x.toFixed(2)).join(', ')})`;
const lines = [
  '# The proxies\' cost',
  '',
  `Node ${process.version}; 2 sabcache nodes of one server thread each, the proxies and the load on the same 2-core VM (no pinning: the proxies need a core too); ${ROUNDS} rounds, order alternating; ${new Date().toISOString()}; command: \`npm run bench:cluster\``,
  '',
  '| path | direct to one node (median) | through the proxy to 2 nodes (median) | proxy / direct, median of per-round ratios (per round) |',
  '|---|---:|---:|---|',
  `| RESP GET, redis-benchmark -P 16 -c 50, 10,000 keys of 100 B; twemproxy | ${median(rows.map((r) => r.respDirect)).toFixed(0)} | ${median(rows.map((r) => r.respTwem)).toFixed(0)} | ${fmt(ratios((r) => r.respTwem, (r) => r.respDirect))} |`,
  `| HTTP GET, wrk -t1 -c64, one key of 100 B; HAProxy (balance uri) | ${median(rows.map((r) => r.httpDirect)).toFixed(0)} | ${median(rows.map((r) => r.httpHa)).toFixed(0)} | ${fmt(ratios((r) => r.httpHa, (r) => r.httpDirect))} |`,
];
writeFileSync(new URL('./results/cluster.md', import.meta.url), lines.join('\n') + '\n');
writeFileSync(new URL('./results/cluster.json', import.meta.url), JSON.stringify({ node: process.version, rows }, null, 2) + '\n');
console.log(lines.join('\n'));
process.exit(0);
