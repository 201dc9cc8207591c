import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { spawn } from '../helpers/child-processes.ts';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isLoopbackText, listenPlan } from '../../src/server/protected-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('loopback is 127.0.0.0/8, ::1 and IPv4-mapped 127.x; the listen plan serves loopback and refuses the rest', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackText(a), a);
  for (const a of ['192.0.2.2', '::ffff:192.0.2.2', '::2', '1127.0.0.1', '0.0.0.0', undefined]) assert.ok(!isLoopbackText(a), String(a));
  assert.deepEqual(listenPlan('0.0.0.0', true), { serve: ['127.0.0.1'], refuse: '0.0.0.0' });
  assert.deepEqual(listenPlan('::', true), { serve: ['127.0.0.1', '::1'], refuse: '::' });
  assert.deepEqual(listenPlan('192.0.2.1', true), { serve: ['127.0.0.1'], refuse: '192.0.2.1' });
  assert.deepEqual(listenPlan('127.0.0.1', true), { serve: ['127.0.0.1'], refuse: null });
  assert.deepEqual(listenPlan('0.0.0.0', false), { serve: ['0.0.0.0'], refuse: null });
});

// From outside loopback: two network namespaces joined by a veth pair (192.0.2.0/24), the
// server in one, the client in the other.
const id = process.pid % 100_000;
const ns = { server: `sabpm-s-${id}`, client: `sabpm-c-${id}` };
const canNetns = ((): string | false => {
  if (process.getuid?.() !== 0) return 'needs root to make network namespaces';
  if (spawnSync('ip', ['-V']).error) return 'needs ip (apt-get install iproute2)';
  const probe = spawnSync('ip', ['netns', 'add', `sabpm-probe-${id}`]);
  if (probe.status !== 0) return `cannot make a network namespace here: ${probe.stderr.toString().trim()}`;
  spawnSync('ip', ['netns', 'del', `sabpm-probe-${id}`]);
  return false;
})();
const skip = canNetns ? `skipped: ${canNetns}` : false;

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
before(() => {
  if (skip) return;
  ip('netns', 'add', ns.server);
  ip('netns', 'add', ns.client);
  ip('link', 'add', `sps${id}`, 'type', 'veth', 'peer', 'name', `spc${id}`);
  ip('link', 'set', `sps${id}`, 'netns', ns.server);
  ip('link', 'set', `spc${id}`, 'netns', ns.client);
  ip('-n', ns.server, 'addr', 'add', '192.0.2.1/24', 'dev', `sps${id}`);
  ip('-n', ns.client, 'addr', 'add', '192.0.2.2/24', 'dev', `spc${id}`);
  for (const [n, dev] of [[ns.server, `sps${id}`], [ns.client, `spc${id}`]]) {
    ip('-n', n, 'link', 'set', dev, 'up');
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
});
after(() => {
  if (skip) return;
  spawnSync('ip', ['netns', 'del', ns.server]);
  spawnSync('ip', ['netns', 'del', ns.client]);
});

/** Starts the real CLI in the server namespace on all addresses (ports of its own namespace). */
async function startInNamespace(extra: string[]): Promise<ChildProcess> {
  const proc = spawn('ip', ['netns', 'exec', ns.server, process.execPath, '--import', 'tsx', 'src/cli/sabcache.ts', '--host', '0.0.0.0', '--port', '7070',
    '--admin-host', '0.0.0.0', '--admin-port', '7071', '--resp-port', '7379', '--threads', '1', '--memory', '16mb', ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const on = (d: Buffer): void => {
      out += d;
      if (out.includes('"msg":"serving ')) { clearTimeout(timer); resolve(); }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', () => { clearTimeout(timer); reject(new Error(`server exited:\n${out}`)); });
  });
  return proc;
}

async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Seen { get: { status: number; body: string }; admin: { status: number; body: string }; upgrade: string; resp: { text: string; closed: boolean } }

/** What a client in the client namespace sees of the server at 192.0.2.1. */
function fromOutside(): Seen {
  const out = execFileSync('ip', ['netns', 'exec', ns.client, process.execPath, '--import', 'tsx', 'test/fixtures/protected-mode-client.ts', '192.0.2.1', '7070', '7071', '7379'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Seen;
}

/** GET /v1/kv/probe from loopback inside the server namespace. */
function fromLoopback(): number {
  const out = execFileSync('ip', ['netns', 'exec', ns.server, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:7070/v1/kv/probe'], { encoding: 'utf8' });
  return Number(out);
}

test('by default a client outside loopback is refused on every port with the protected-mode answer; loopback is served', { skip }, async () => {
  const proc = await startInNamespace([]);
  try {
    const seen = fromOutside();
    assert.equal(seen.get.status, 403);
    const body = JSON.parse(seen.get.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SABCACHE_ERR_PROTECTED_MODE');
    assert.match(body.error.message, /--protected-mode no/);
    assert.equal(seen.admin.status, 403, 'the admin port too');
    assert.equal(seen.upgrade, 'HTTP/1.1 403 Forbidden', 'a WebSocket upgrade is refused the same way');
    assert.match(seen.resp.text, /^-DENIED sabcache is running in protected mode.*--protected-mode no.*\r\n$/);
    assert.ok(seen.resp.closed, 'RESP: then the connection is closed');
    assert.equal(fromLoopback(), 404, 'loopback needs no configuration (the key is absent)');
  } finally {
    await stop(proc);
  }
});

test('--protected-mode no serves clients outside loopback', { skip }, async () => {
  const proc = await startInNamespace(['--protected-mode', 'no']);
  try {
    const seen = fromOutside();
    assert.equal(seen.get.status, 404);
    assert.equal(seen.admin.status, 200);
    assert.equal(seen.upgrade, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(seen.resp.text, '+PONG\r\n');
  } finally {
    await stop(proc);
  }
});
