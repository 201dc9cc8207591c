import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCampaign } from '../../fuzz/campaign.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

// A small, seeded part of the fuzzing campaign (`npm run fuzz` sends 100,000 inputs per
// protocol): the same inputs every run, so a failure here is reproducible.
let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '64mb', '--max-value-bytes', '64kb']);
});
after(async () => {
  await srv.stop();
});

test('2,000 hostile inputs per protocol (HTTP, WebSocket binary and text, RESP), slowloris and 1,000 idle connections: nothing lost, hung, crashed or failed inside', async () => {
  const report = await runCampaign({ host: '127.0.0.1', port: srv.port, adminPort: srv.adminPort, respPort: srv.respPort, pid: srv.proc.pid!, output: srv.output }, {
    seed: 20261206, perProtocol: 2000, batch: 500, rssBoundBytes: (64 + 700) * 2 ** 20, slowlorisConnections: 100, idleConnections: 1000,
  });
  assert.deepEqual(report.inputs, { http: 2000, 'ws-binary': 2000, 'ws-text': 2000, resp: 2000 });
  assert.equal(report.lostOrChanged, 0);
  assert.equal(report.hangs, 0);
  assert.equal(report.crashes, 0);
  assert.equal(report.internalErrors, 0);
  assert.ok(report.peakRssBytes < report.rssBoundBytes, `RSS ${report.peakRssBytes}`);
  assert.ok(report.slowloris.asked > 0 && report.slowloris.served === report.slowloris.asked, JSON.stringify(report.slowloris));
  assert.ok(report.idleFlood.asked > 0 && report.idleFlood.served === report.idleFlood.asked, JSON.stringify(report.idleFlood));
});
