/**
 * `npm run fuzz`: the fuzzing campaign (fuzz/campaign.ts) against a fresh server.
 * Flags: --seed N (default: the time), --inputs N per protocol (default 100000), --batch N
 * (default 1000), --idle N idle connections for the flood (default 5000). Prints the report
 * as JSON and exits 1 when anything was lost or changed, hung, crashed or failed inside, or
 * the RSS passed its bound. Results: fuzz/results/fuzz-<seed>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startServer } from '../test/helpers/server-process.ts';
import { runCampaign } from './campaign.ts';

const { values } = parseArgs({ options: { seed: { type: 'string' }, inputs: { type: 'string' }, batch: { type: 'string' }, idle: { type: 'string' } }, strict: true });
const seed = Number(values.seed ?? Date.now() % 1_000_000_000);
const perProtocol = Number(values.inputs ?? 100_000);
const MEMORY_MB = 64;
const srv = await startServer(['--threads', '2', '--memory', `${MEMORY_MB}mb`, '--max-value-bytes', '64kb']);
try {
  const report = await runCampaign({ host: '127.0.0.1', port: srv.port, adminPort: srv.adminPort, respPort: srv.respPort, pid: srv.proc.pid!, output: srv.output }, {
    seed, perProtocol, batch: Number(values.batch ?? 1000), idleConnections: Number(values.idle ?? 5000),
    // The cache's memory, Node, V8 and uWS (about 180 MiB idle), and room for buffers in flight.
    rssBoundBytes: (MEMORY_MB + 700) * 2 ** 20,
    log: (line) => console.log(line),
  });
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/fuzz-${seed}.json`, import.meta.url), JSON.stringify({ command: `npm run fuzz -- --seed ${seed} --inputs ${perProtocol}`, node: process.version, ...report }, null, 2) + '\n');
  console.log(JSON.stringify(report, null, 2));
  const failed = report.lostOrChanged > 0 || report.hangs > 0 || report.crashes > 0 || report.internalErrors > 0 || report.peakRssBytes > report.rssBoundBytes;
  await srv.stop();
  process.exit(failed ? 1 : 0);
} catch (e) {
  console.error(e);
  await srv.stop();
  process.exit(1);
}
