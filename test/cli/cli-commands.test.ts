import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { spawn } from '../helpers/child-processes.ts';
import { after, before, test } from 'node:test';
import { splitWords } from '../../src/cli/cli-commands.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

const cwd = new URL('../..', import.meta.url);
let srv: RunningServer;
before(async () => {
  srv = await startServer(['--threads', '1', '--memory', '8mb', '--max-value-bytes', '64kb']);
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache-cli.ts', '--url', srv.base, '--admin-url', srv.admin, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

test('one-shot commands print results and exit 0 / 1 / 2', () => {
  assert.match(cli('set', 'greeting', 'hello world', '--ttl', '60').out, /^[0-9a-z]+\.[0-9a-z]+$/);
  assert.deepEqual(cli('get', 'greeting'), { code: 0, out: 'hello world', err: '' });
  assert.equal(cli('get', 'missing').code, 1);
  assert.equal(cli('set', 'greeting', 'x', '--if-absent').code, 1);
  const ttl = cli('ttl', 'greeting');
  assert.equal(ttl.code, 0);
  assert.ok(Number(ttl.out) >= 40 && Number(ttl.out) <= 60, ttl.out); // whole seconds left, as Redis (each CLI run takes seconds here)
  assert.deepEqual([cli('incr', 'n', '5').out, cli('decr', 'n').out], ['5', '4']);
  assert.equal(cli('persist', 'greeting').code, 0);
  assert.equal(cli('ttl', 'greeting').out, '-1');
  assert.equal(cli('expire', 'greeting', '100').code, 0);
  assert.equal(cli('del', 'greeting').code, 0);
  assert.equal(cli('del', 'greeting').code, 1);
  for (const k of ['ls:a', 'ls:b', 'other']) cli('set', k, 'v');
  assert.deepEqual(cli('scan', 'ls:').out.split('\n').sort(), ['ls:a', 'ls:b']);
  const err = cli('incr', 'ls:a');
  assert.equal(err.code, 2);
  assert.match(err.err, /SABCACHE_ERR_NOT_INTEGER/);
  assert.equal(cli('frobnicate').code, 2);
  assert.equal(cli('get').code, 2);
  assert.equal(cli('--nope').code, 2);
  const down = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache-cli.ts', '--url', 'http://127.0.0.1:1', 'get', 'x'], { cwd, encoding: 'utf8' });
  assert.equal(down.status, 2);
  assert.match(down.stderr, /SABCACHE_ERR_CONNECTION/);
});

test('--json prints one parseable object per command', () => {
  cli('set', 'j', 'v');
  assert.deepEqual({ ...JSON.parse(cli('--json', 'get', 'j').out), version: 'x' }, { key: 'j', found: true, value: 'v', version: 'x', ttlSeconds: -1 });
  assert.deepEqual(JSON.parse(cli('--json', 'get', 'nope').out), { key: 'nope', found: false });
  assert.equal(JSON.parse(cli('--json', 'incr', 'j').out).error.code, 'SABCACHE_ERR_NOT_INTEGER');
  assert.equal(typeof JSON.parse(cli('--json', 'stats').out).items, 'number');
});

test('interactive mode reads commands line by line', async () => {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache-cli.ts', '--url', srv.base], { cwd });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stdin.end('set "two words" \'a b c\'\nget "two words"\nhelp\nexit\nget never\n');
  const code = await new Promise((r) => p.once('exit', r));
  assert.equal(code, 0);
  assert.match(out, /a b c/);
  assert.match(out, /commands:/);
  assert.doesNotMatch(out, /\(nil\)/, 'nothing after exit runs');
});

test('REPL words: quotes keep spaces and escapes', () => {
  assert.deepEqual(splitWords(`set "a \\"b\\"" 'c d' e`), ['set', 'a "b"', 'c d', 'e']);
});

test('--nodes name=url,…: each key goes to its ketama node; a bad list is a usage error', async () => {
  const { parseNodes } = await import('../../src/cli/cli-commands.ts');
  const { KetamaRing } = await import('../../src/client/ketama.ts');
  assert.deepEqual(parseNodes('a=http://h:1, http://h:2'), [{ name: 'a', url: 'http://h:1' }, { url: 'http://h:2' }]);
  assert.throws(() => parseNodes('a=ftp://x'), /not name=http/);
  assert.throws(() => parseNodes(' , '), /no node/);
  const other = await startServer(['--threads', '1', '--memory', '16mb']);
  try {
    const nodes = `n1=${srv.base},n2=${other.base}`;
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache-cli.ts', '--nodes', nodes, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
    const ring = new KetamaRing([{ name: 'n1' }, { name: 'n2' }]);
    const keys = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f'];
    for (const k of keys) assert.equal(run('set', k, `v-${k}`).status, 0);
    for (const k of keys) {
      assert.equal(run('get', k).stdout.trim(), `v-${k}`);
      const holder = [srv, other][ring.nodeOf(k)];
      assert.equal(await (await fetch(`${holder.base}/v1/kv/${k}`)).text(), `v-${k}`, `${k} on its node`);
    }
    assert.equal(run('set', 'x', 'y').status, 0);
    assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache-cli.ts', '--nodes', 'bad', 'get', 'x'], { cwd, encoding: 'utf8' }).status, 2);
  } finally {
    await other.stop();
  }
});
