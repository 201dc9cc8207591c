import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startServer } from '../helpers/server-process.ts';

test('SIGTERM lets an in-flight PUT finish, then exits 0', async () => {
  const srv = await startServer(['--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb']);
  const s = net.connect(srv.port, '127.0.0.1');
  let answer = '';
  s.on('data', (d) => { answer += d; });
  s.on('error', () => {}); // the server closes every connection when it stops
  // Headers and half the body now; the rest after the server was told to stop.
  s.write('PUT /v1/kv/inflight HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nhalf');
  await new Promise((r) => setTimeout(r, 300));
  srv.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  s.write('done');
  assert.equal(await srv.stop(), 0);
  assert.match(answer, /^HTTP\/1\.1 204 /);
  assert.match(srv.output(), /SIGTERM: finishing in-flight requests/);
  s.destroy();
});

test('SIGINT on an idle server with keep-alive connections exits 0', async () => {
  const srv = await startServer(['--threads', '2', '--memory', '8mb', '--max-value-bytes', '64kb']);
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve) => http.get(`${srv.base}/v1/kv/x`, { agent }, (res) => { res.resume(); res.on('end', resolve); }));
  assert.equal(await srv.stop('SIGINT'), 0, srv.output());
  agent.destroy();
});

test('a port already in use is a clear startup error, exit 1', async () => {
  const first = await startServer(['--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb']);
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(first.port), '--admin-port', String(first.adminPort), '--resp-port', '0', '--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot listen on admin port .*the port is in use \(SABCACHE_ERR_LISTEN\)/);
  const r2 = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(first.port), '--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 20_000 });
  assert.equal(r2.status, 1, 'a second server may not share the data port');
  assert.match(r2.stderr, /cannot listen on data port/);
  assert.equal(await first.stop(), 0);
});
