import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { KetamaRing } from '../../src/client/ketama.ts';
import { missing, startTwemproxy } from '../helpers/proxies.ts';
import { freePort, type RunningServer, startServer } from '../helpers/server-process.ts';

test('kill -9 of one node behind twemproxy under load: the others\' keys never fail, the dead node\'s keys are written again once it is ejected, and the node restarted on its --data-dir has its keys', { skip: missing('nutcracker', 'nutcracker') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-failover-'));
  const names = ['node1', 'node2', 'node3'];
  const deadResp = await freePort();
  const nodes: RunningServer[] = [
    await startServer(['--threads', '1', '--memory', '16mb']),
    await startServer(['--threads', '1', '--memory', '16mb']),
    await startServer(['--threads', '1', '--memory', '16mb', '--resp-port', String(deadResp), '--data-dir', dir, '--wal', '--fsync', 'always']),
  ];
  const proxy = await startTwemproxy(nodes.map((n, i) => ({ name: names[i], respPort: n.respPort })), { server_failure_limit: 2, server_retry_timeout: 2000 });
  let restarted: RunningServer | undefined;
  try {
    const ring = new KetamaRing(names.map((name) => ({ name })), { hashTag: '{}' });
    const keys = Array.from({ length: 300 }, (_, i) => `f:${i}`);
    const live = keys.filter((k) => ring.nodeOf(k) !== 2);
    const dead = keys.filter((k) => ring.nodeOf(k) === 2);
    const r = new Redis({ port: proxy.port, protocol: 2, disableClientInfo: true, enableReadyCheck: false, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await new Promise((resolve) => r.once('ready', resolve));
    for (const k of keys) await r.set(k, 'before');
    let liveFailures = 0;
    let liveOps = 0;
    let killedAt = 0;
    let deadWriteOkAt = 0;
    const start = Date.now();
    for (let i = 0; Date.now() - start < 6000; i++) {
      if (killedAt === 0 && Date.now() - start > 1000) {
        nodes[2].proc.kill('SIGKILL');
        killedAt = Date.now();
      }
      const k = live[i % live.length];
      try {
        await r.set(k, `v${i}`);
        assert.equal(await r.get(k), `v${i}`);
        liveOps++;
      } catch {
        liveFailures++;
      }
      if (killedAt > 0 && deadWriteOkAt === 0) {
        try {
          await r.set(dead[i % dead.length], 'after');
          deadWriteOkAt = Date.now();
        } catch {
          // the dead node's keys fail until it is ejected
        }
      }
    }
    r.disconnect();
    t.diagnostic(`live nodes: ${liveOps} set+get pairs, ${liveFailures} failed; dead node's keys written again ${deadWriteOkAt - killedAt} ms after the kill`);
    assert.equal(liveFailures, 0, `${liveFailures} of ${liveOps + liveFailures} operations on live nodes failed`);
    assert.ok(deadWriteOkAt > 0, 'a dead node\'s key was written again');
    assert.ok(deadWriteOkAt - killedAt <= 2000 + 1000, `writes to the dead node's keys resumed ${deadWriteOkAt - killedAt} ms after the kill (retry timeout 2000 ms)`);
    // Restarted on its data dir (same RESP port): the keys it held before the kill.
    restarted = await startServer(['--threads', '1', '--memory', '16mb', '--resp-port', String(deadResp), '--data-dir', dir, '--wal', '--fsync', 'always']);
    const direct = new Redis({ port: deadResp, protocol: 2, disableClientInfo: true, enableReadyCheck: false });
    assert.equal(await direct.get(dead[0]), 'before');
    direct.disconnect();
  } finally {
    await proxy.stop();
    for (const n of [nodes[0], nodes[1], restarted]) await n?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
