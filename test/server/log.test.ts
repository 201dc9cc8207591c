import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../helpers/server-process.ts';

/** The JSON lines of `text` (other lines ignored). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('JSON lines by default: every line of a start, a worker restart and a stop is one pino object', async () => {
  const srv = await startServer(['--threads', '2', '--memory', '16mb']);
  assert.equal((await fetch(`${srv.admin}/v1/admin/workers/1/restart`, { method: 'POST' })).status, 202);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await srv.stop(), 0);
  const lines = srv.output().split('\n').filter((l) => l.trim() !== '');
  const objects = jsonLines(srv.output());
  assert.equal(objects.length, lines.length, `every line is JSON:\n${srv.output()}`);
  assert.ok(objects.every((o) => typeof o.level === 'number' && typeof o.time === 'number' && o.name === 'sabcache' && typeof o.msg === 'string'));
  const msgs = objects.map((o) => o.msg as string);
  assert.ok(msgs.some((m) => m.startsWith('serving http://')));
  assert.ok(msgs.some((m) => m === 'worker 1 exited with code 0; restarting'));
  assert.ok(msgs.at(-1) === 'stopped');
});

test('--log-level warn keeps info lines out; a worker\'s warning comes through the main thread, tagged with the worker', async () => {
  const users = join(mkdtempSync(join(tmpdir(), 'sabcache-log-')), 'users.json');
  const { hashPassword } = await import('../../src/server/password-hash.ts');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(users, JSON.stringify({ users: [{ name: 'app', password: hashPassword('right'), role: 'write' }] }));
  const srv = await startServer(['--threads', '1', '--memory', '16mb', '--log-level', 'warn', '--users-file', users]);
  try {
    const net = await import('node:net');
    const socket = net.connect(srv.respPort, '127.0.0.1');
    socket.write('AUTH app wrong\r\n');
    const reply = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d))));
    assert.match(reply, /^-WRONGPASS/);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await srv.stop();
    rmSync(users, { force: true });
  }
  const objects = jsonLines(srv.output());
  assert.ok(objects.every((o) => (o.level as number) >= 40), `no line below warn:\n${srv.output()}`);
  const failed = objects.find((o) => String(o.msg).startsWith('failed RESP AUTH'));
  assert.ok(failed, srv.output());
  assert.equal(failed.worker, 0);
});

test('--log-format pretty writes pino-pretty lines; --log-file writes JSON lines to a file rotated by size, and none to standard output', async () => {
  const pretty = await startServer(['--threads', '1', '--memory', '16mb', '--log-format', 'pretty']);
  await pretty.stop();
  assert.match(pretty.output(), /INFO.*serving http:\/\//);
  assert.equal(jsonLines(pretty.output()).length, 0);

  const dir = mkdtempSync(join(tmpdir(), 'sabcache-logfile-'));
  try {
    // The helper waits for the "serving" line on standard output; with a file there is
    // none, so the server is started by hand and the file is polled.
    const { spawn } = await import('../helpers/child-processes.ts');
    const { freePort } = await import('../helpers/server-process.ts');
    const adminPort = await freePort();
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', '2', '--memory', '16mb', '--log-file', join(dir, 'sabcache.log'), '--log-rotate-size', '1kb'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    const file = (): string => readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    for (let i = 0; i < 200 && !file().includes('"msg":"serving '); i++) await new Promise((r) => setTimeout(r, 50));
    // About 200 bytes a line: the start's and six restarts' lines pass 1 KiB.
    for (let round = 0; round < 3; round++) {
      for (const w of [0, 1]) assert.equal((await fetch(`http://127.0.0.1:${adminPort}/v1/admin/workers/${w}/restart`, { method: 'POST' })).status, 202);
      for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
    assert.ok(files.length >= 2, `rotated at 1 KiB: ${files}`);
    const msgs = jsonLines(file()).map((o) => o.msg);
    assert.ok(msgs.includes('stopped') && msgs.some((m) => String(m).startsWith('serving')), file());
    assert.equal(out, '', 'nothing on standard output');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
