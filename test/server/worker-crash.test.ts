import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startServer } from '../helpers/server-process.ts';

/** GET over a fresh connection; undefined if the connection failed. */
function get(url: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', () => resolve(undefined));
  });
}

test('a worker that crashes on an uncaught error is logged, repaired and restarted; the server keeps its data', async (t) => {
  const srv = await startServer(['--threads', '2', '--memory', '8mb', '--max-value-bytes', '64kb'], { SABCACHE_FAULT_INJECTION: '1' });
  // A failed assertion must not leave the server running (the test runner would wait on it).
  t.after(() => srv.stop());
  await fetch(`${srv.base}/v1/kv/kept`, { method: 'PUT', body: 'safe' });
  const r = await fetch(`${srv.admin}/v1/admin/workers/1/fault`, { method: 'POST' });
  assert.equal(r.status, 202);
  // Requests keep being answered while worker 1 dies and comes back (fresh connections go
  // to a listening worker).
  let answered = 0;
  let failed = 0;
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const res = await get(`${srv.base}/v1/kv/kept`);
    if (res && res.status === 200 && res.body === 'safe') answered++;
    else failed++;
  }
  assert.ok(answered > 50, `answered ${answered}, failed ${failed}`);
  assert.ok(failed <= 2, `at most the connections open on the crashing worker fail (${failed})`);
  assert.match(srv.output(), /"level":60,[^\n]*"worker":1,"err":\{"type":"Error","message":"injected fault[^\n]*"msg":"worker 1 crashed"/);
  assert.match(srv.output(), /worker 1 exited with code 1; restarting/);
  const stats = (await (await fetch(`${srv.admin}/v1/stats`)).json()) as { serverThreads: number; threads: { attached: boolean }[] };
  assert.equal(stats.serverThreads, 2);
  assert.equal(stats.threads.filter((t) => t.attached).length, 3, 'main + 2 workers; the dead one gave its slot back');
  assert.equal(await srv.stop(), 0);
});

test('without SABCACHE_FAULT_INJECTION there is no fault route', async () => {
  const srv = await startServer(['--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb']);
  assert.equal((await fetch(`${srv.admin}/v1/admin/workers/0/fault`, { method: 'POST' })).status, 404);
  assert.equal(await srv.stop(), 0);
});
