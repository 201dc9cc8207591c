import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { hashPassword } from '../../src/server/password-hash.ts';
import { exchangeUntilClose } from '../helpers/raw-exchange.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

// With a users file and a token secret, each role can do exactly what it may over HTTP,
// WebSocket and RESP, and nothing works without a credential.
const SECRET = 'a test token secret of 32 bytes!!';
let dir: string;
let srv: RunningServer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sabcache-auth-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [
    { name: 'reader', password: hashPassword('r-pass'), role: 'read' },
    { name: 'writer', password: hashPassword('w-pass'), role: 'write', keys: ['w:*'] },
    { name: 'boss', password: hashPassword('b-pass'), role: 'admin' },
  ] }));
  srv = await startServer(['--threads', '2', '--memory', '16mb', '--users-file', join(dir, 'users.json')], { SABCACHE_TOKEN_SECRET: SECRET });
});
after(async () => {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const token = (claims: object, seconds = 60): string => jwt.sign({ exp: Math.floor(Date.now() / 1000) + seconds, ...claims }, SECRET);
async function http(path: string, init: RequestInit & { auth?: string } = {}, base = srv.base): Promise<{ status: number; code?: string; wwwAuthenticate: string | null }> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { ...(init.auth ? { authorization: init.auth } : {}) } });
  const text = await res.text();
  let code: string | undefined;
  try { code = (JSON.parse(text) as { error?: { code: string } }).error?.code; } catch { /* not JSON */ }
  return { status: res.status, code, wwwAuthenticate: res.headers.get('www-authenticate') };
}

test('HTTP: no credential 401 (with WWW-Authenticate), roles and key patterns 403, the admin port needs admin but its health checks', async () => {
  const none = await http('/v1/kv/x');
  assert.deepEqual([none.status, none.code], [401, 'SABCACHE_ERR_UNAUTHORIZED']);
  assert.match(none.wwwAuthenticate ?? '', /^Basic realm="sabcache", charset="UTF-8", Bearer realm="sabcache"$/, 'two challenges, Basic first (fetch joins the headers)');
  assert.equal((await http('/v1/kv/x', { auth: basic('reader', 'wrong') })).status, 401);
  assert.equal((await http('/v1/kv/x', { auth: basic('nobody', 'r-pass') })).status, 401);
  assert.equal((await http('/v1/kv/x', { auth: basic('reader', 'r-pass') })).status, 404, 'reader may read');
  const put = await http('/v1/kv/x', { method: 'PUT', body: 'v', auth: basic('reader', 'r-pass') });
  assert.deepEqual([put.status, put.code], [403, 'SABCACHE_ERR_FORBIDDEN']);
  assert.equal((await http('/v1/kv/w:1', { method: 'PUT', body: 'v', auth: basic('writer', 'w-pass') })).status, 204);
  assert.equal((await http('/v1/kv/other', { method: 'PUT', body: 'v', auth: basic('writer', 'w-pass') })).status, 403, 'outside its key patterns');
  assert.equal((await http('/v1/mget', { method: 'POST', body: '["w:1"]', auth: basic('writer', 'w-pass') })).status, 403, 'patterns: single-key routes only');
  assert.equal((await http('/v1/kv/anything', { method: 'PUT', body: 'v', auth: basic('boss', 'b-pass') })).status, 204);
  assert.equal((await http('/v1/kv/t:1', { method: 'PUT', body: 'v', auth: `Bearer ${token({ sub: 'svc', role: 'write', keys: ['t:*'] })}` })).status, 204);
  assert.equal((await http('/v1/kv/t:1', { auth: `Bearer ${token({ sub: 'svc', role: 'write' }, -10)}` })).status, 401, 'an expired token');
  assert.equal((await http('/healthz', {}, srv.admin)).status, 200, 'health checks need no credential');
  assert.equal((await http('/v1/stats', {}, srv.admin)).status, 401);
  assert.equal((await http('/v1/stats', { auth: basic('writer', 'w-pass') }, srv.admin)).status, 403);
  assert.equal((await http('/v1/stats', { auth: basic('boss', 'b-pass') }, srv.admin)).status, 200);
});

test('WebSocket: the upgrade needs a credential (header, or a token as a subprotocol); each request is checked', async () => {
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => {});
  });
  assert.equal(refused, 401);
  const ask = async (ws: WebSocket, q: object): Promise<{ status: string; value?: string; error?: { code: string } }> => {
    const answer = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
    ws.send(JSON.stringify(q));
    return JSON.parse(await answer);
  };
  const t = token({ sub: 'browser', role: 'write', keys: ['b:*'] });
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`, [`sabcache.bearer.${t}`]);
  await new Promise<void>((resolve, reject) => { ws.on('open', () => resolve()); ws.on('error', reject); });
  assert.equal(ws.protocol, `sabcache.bearer.${t}`, 'the offered token is the protocol chosen');
  assert.equal((await ask(ws, { id: 1, op: 'set', key: 'b:1', value: 'x' })).status, 'stored');
  assert.equal((await ask(ws, { id: 2, op: 'set', key: 'other', value: 'x' })).error?.code, 'SABCACHE_ERR_FORBIDDEN');
  assert.equal((await ask(ws, { id: 3, op: 'watch', key: 'b:', prefix: true })).error?.code, 'SABCACHE_ERR_FORBIDDEN', 'no prefix watch with key patterns');
  ws.close();
  const reader = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws`, { headers: { authorization: basic('reader', 'r-pass') } });
  await new Promise<void>((resolve, reject) => { reader.on('open', () => resolve()); reader.on('error', reject); });
  assert.equal((await ask(reader, { id: 1, op: 'get', key: 'b:1' })).value, 'x');
  assert.equal((await ask(reader, { id: 2, op: 'del', key: 'b:1' })).error?.code, 'SABCACHE_ERR_FORBIDDEN');
  reader.close();
});

test('RESP: NOAUTH before AUTH, WRONGPASS, NOPERM by role and key pattern, ACL WHOAMI, HELLO 3 AUTH, tokens', async () => {
  // Unauthenticated, on a raw connection (ioredis would stop at its first NOAUTH).
  const reply = await exchangeUntilClose(srv.respPort, 'GET x\r\nHELLO 3\r\nAUTH reader wrong\r\nAUTH reader r-pass\r\nACL WHOAMI\r\nGET x\r\nSET x v\r\nQUIT\r\n');
  assert.equal(reply, '-NOAUTH Authentication required.\r\n' +
    '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n' +
    '-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$6\r\nreader\r\n$-1\r\n' +
    "-NOPERM User reader has no permissions to run the 'set' command\r\n+OK\r\n");
  // INFO needs admin: ioredis's ready check (an INFO) is turned off for the other roles.
  const writer = new Redis({ port: srv.respPort, username: 'writer', password: 'w-pass', enableReadyCheck: false });
  assert.equal(await writer.set('w:2', 'v'), 'OK');
  await assert.rejects(writer.set('nope', 'v'), /NOPERM No permissions to access a key/);
  await assert.rejects(writer.keys('*'), /NOPERM/);
  await assert.rejects(writer.flushdb(), /NOPERM/);
  writer.disconnect();
  const helloAuth = await exchangeUntilClose(srv.respPort, 'HELLO 3 AUTH boss b-pass\r\nDBSIZE\r\nQUIT\r\n');
  assert.match(helloAuth, /^%7\r\n[\s\S]*\$5\r\nproto\r\n:3\r\n[\s\S]*:\d+\r\n\+OK\r\n$/, 'HELLO 3 AUTH authenticates and switches to RESP3');
  const boss = new Redis({ port: srv.respPort, username: 'boss', password: 'b-pass' });
  assert.equal(await boss.flushdb(), 'OK', 'admin may flush');
  boss.disconnect();
  const svc = new Redis({ port: srv.respPort, password: token({ sub: 'svc', role: 'read' }), enableReadyCheck: false });
  assert.equal(await svc.call('ACL', 'WHOAMI'), 'svc');
  await assert.rejects(svc.set('x', 'v'), /NOPERM/);
  svc.disconnect();
});

test('clients: HttpClient (token or username/password), WsClient (token as subprotocol) and sabcache-cli (--user, SABCACHE_PASSWORD, SABCACHE_TOKEN)', async () => {
  const { HttpClient, WsClient } = await import('../../src/client/index.ts');
  const { runCommand } = await import('../../src/cli/cli-commands.ts');
  const writer = new HttpClient({ url: srv.base, username: 'writer', password: 'w-pass' });
  await writer.set('w:client', 'v1');
  await assert.rejects(writer.set('elsewhere', 'v'), (e: { code: string }) => e.code === 'SABCACHE_ERR_FORBIDDEN');
  const byToken = new HttpClient({ url: srv.base, token: token({ sub: 'svc', role: 'read' }) });
  assert.equal(await byToken.get('w:client'), 'v1');
  await assert.rejects(new HttpClient(srv.base).get('w:client'), (e: { code: string }) => e.code === 'SABCACHE_ERR_UNAUTHORIZED');
  assert.throws(() => new HttpClient({ url: srv.base, username: 'x' }), (e: { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION');
  const ws = await WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as never, token: token({ sub: 'svc', role: 'read' }), reconnect: false });
  assert.equal(await ws.get('w:client'), 'v1');
  await assert.rejects(ws.set('w:client', 'v2'), (e: { code: string }) => e.code === 'SABCACHE_ERR_FORBIDDEN');
  ws.close();
  await assert.rejects(WsClient.connect({ url: `ws://127.0.0.1:${srv.port}/v1/ws`, WebSocket: WebSocket as never, token: 'not-a-token', reconnect: false }));
  const d = { url: srv.base, adminUrl: srv.admin };
  assert.equal((await runCommand(['get', 'w:client', '--user', 'reader'], { ...d, password: 'r-pass' })).text, 'v1');
  assert.equal((await runCommand(['get', 'w:client', '--user', 'reader'], d)).code, 2, 'a user without SABCACHE_PASSWORD');
  assert.equal((await runCommand(['stats'], { ...d, token: token({ sub: 'ops', role: 'admin' }) })).code, 0);
  assert.equal((await runCommand(['get', 'w:client'], d)).code, 2, 'no credential: the 401 is an error');
});
