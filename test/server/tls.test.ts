import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { parseConfig } from '../../src/server/config.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

// TLS on every port: certificates made here with openssl (a CA and a server certificate for
// 127.0.0.1), uWS SSLApp for HTTP/WebSocket/admin, node:tls for RESP.
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const skip = hasOpenssl ? false : 'openssl is not installed (apt-get install openssl)';
let dir = '';
const f = (name: string): string => join(dir, name);
let srv: RunningServer;

function makeCertificates(): void {
  dir = mkdtempSync(join(tmpdir(), 'sabcache-tls-'));
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sabcache test CA');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=server');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
}

before(async () => {
  if (skip) return;
  makeCertificates();
  const tls = ['--tls-cert-file', f('server.pem'), '--tls-key-file', f('server.key')];
  srv = await startServer(['--threads', '2', '--memory', '16mb', ...tls]);
});
after(async () => {
  if (skip) return;
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTPS request trusting the test CA; resolves with the status and body, or the error's code. */
function https(port: number, path: string, method = 'GET', body?: string): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: readFileSync(f('ca.pem')) }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end(body);
  });
}

test('HTTPS, WSS, rediss:// and the admin port serve over TLS; plaintext is not served', { skip }, async () => {
  assert.deepEqual(await https(srv.port, '/v1/kv/secret', 'PUT', 'over tls'), { status: 204, body: '' });
  assert.deepEqual(await https(srv.port, '/v1/kv/secret'), { status: 200, body: 'over tls' });
  const admin = await https(srv.adminPort, '/healthz');
  assert.equal(typeof admin === 'object' && admin.status, 200);
  const plain = await fetch(`http://127.0.0.1:${srv.port}/v1/kv/secret`).then((r) => r.status, () => 'refused');
  assert.notEqual(plain, 200, 'plain HTTP gets no value');
  // WebSocket over TLS, text JSON.
  const ws = new WebSocket(`wss://127.0.0.1:${srv.port}/v1/ws`, { ca: readFileSync(f('ca.pem')) });
  const answer = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, op: 'get', key: 'secret' })));
    ws.on('message', (m) => resolve(m.toString()));
    ws.on('error', reject);
  });
  ws.close();
  assert.equal((JSON.parse(answer) as { value: string }).value, 'over tls');
  // RESP over TLS; a plaintext RESP client gets nothing.
  const r = new Redis({ port: srv.respPort, host: '127.0.0.1', tls: { ca: readFileSync(f('ca.pem')) }, lazyConnect: true });
  await r.connect();
  assert.equal(await r.get('secret'), 'over tls');
  assert.equal(await r.set('from-rediss', 'v'), 'OK');
  r.disconnect();
  const plainResp = new Redis({ port: srv.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 });
  plainResp.on('error', () => {});
  const got = await plainResp.connect().then(() => plainResp.get('secret'), (e: Error) => e.message).catch((e: Error) => e.message);
  plainResp.disconnect();
  assert.notEqual(got, 'over tls');
});

test('TLS options: both files or neither, readable; no client-certificate CA (this uWS build cannot require one)', () => {
  const bad = (argv: string[], flag: RegExp): void => assert.throws(() => parseConfig(argv, {}), (e: Error & { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION' && flag.test(e.message), argv.join(' '));
  bad(['--tls-cert-file', '/etc/hostname'], /--tls-key-file/);
  bad(['--tls-key-file', '/etc/hostname'], /--tls-cert-file/);
  bad(['--tls-cert-file', '/nonexistent.pem', '--tls-key-file', '/etc/hostname'], /--tls-cert-file.*ENOENT/);
  bad(['--tls-ca-cert-file', '/etc/hostname'], /--tls-ca-cert-file.*unknown flag/);
});
