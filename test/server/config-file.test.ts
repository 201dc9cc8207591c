import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SabcacheError } from '../../src/errors.ts';
import { configValueText, readConfigFile } from '../../src/server/config-file.ts';
import { parseConfig, printConfigText, type ServerConfig } from '../../src/server/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'sabcache-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A config file holding `text`. */
function file(text: string): string {
  const path = join(dir, `c${n++}.conf`);
  writeFileSync(path, text);
  return path;
}
const configOf = (argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig => {
  const r = parseConfig(argv, env);
  assert.ok(!r.help);
  return r.config;
};
const badOption = (where: RegExp) => (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && where.test(e.message);

test('a config file sets options by the flags\' names; flags win over variables, variables over the file, the file over defaults', () => {
  const conf = file('# a comment\n\nport 7000\nmemory 64mb\nthreads 3\nwal yes\ndata-dir "/var/lib/my cache"\nadmin-port 7100\n');
  const c = configOf(['--config', conf, '--port', '7001'], { SABCACHE_PORT: '7002', SABCACHE_MEMORY: '32mb' });
  assert.equal(c.port, 7001, 'flag over variable and file');
  assert.equal(c.memoryBytes, 32 * 1024 ** 2, 'variable over file');
  assert.equal(c.threads, 3, 'file over default');
  assert.equal(c.wal, true);
  assert.equal(c.dataDir, '/var/lib/my cache', 'a quoted value');
  assert.equal(c.respPort, 7379, 'default');
  assert.equal(configOf([], { SABCACHE_CONFIG: conf }).adminPort, 7100, 'SABCACHE_CONFIG names the file too');
  const r = parseConfig(['--config', conf, '--port', '7001'], { SABCACHE_MEMORY: '32mb' });
  assert.ok(!r.help);
  assert.deepEqual([r.sources.port, r.sources.memory, r.sources.threads, r.sources.host], [
    { from: 'flag', where: '--port', text: '7001' },
    { from: 'env', where: 'SABCACHE_MEMORY', text: '32mb' },
    { from: 'file', where: `${conf}:5`, text: '3' },
    { from: 'default', where: '', text: '0.0.0.0' },
  ]);
});

test('an unknown or malformed entry stops the start with its file and line number', () => {
  const cases: [string, RegExp][] = [
    ['port 7000\nmemry 64mb\n', /c\d+\.conf:2: unknown name "memry"; did you mean memory\?/],
    ['\n\nport\n', /:3: port has no value/],
    ['port 70000\n', /:1: port: expected a port from 1 to 65535/],
    ['port 7000\nport 7001\n', /:2: port is given twice \(first at .*:1\)/],
    ['data-dir /a b\n', /:1: data-dir: a value with spaces/],
    ['data-dir "/a b\n', /:1: data-dir: a value with spaces/],
    ['= 3\n', /:1: expected "name value"/],
    ['help yes\n', /:1: unknown name "help"/],
  ];
  for (const [text, where] of cases) assert.throws(() => parseConfig(['--config', file(text)], {}), badOption(where), text);
  assert.throws(() => parseConfig(['--config', join(dir, 'missing.conf')], {}), badOption(/cannot read .*missing\.conf.*ENOENT/));
});

test('quoting: configValueText writes what readConfigFile reads back', () => {
  for (const v of ['plain', '', 'with space', 'a"quote', 'back\\slash', '#hash']) {
    const path = file(`data-dir ${configValueText(v)}\n`);
    assert.equal(readConfigFile(path, ['data-dir']).get('data-dir')!.text, v);
  }
});

test('--print-config prints a config file giving the same configuration, with each value\'s source; secrets are not shown', () => {
  const conf = file('memory 64mb\nslowlog-threshold -1\nallowed-origins "https://a.example, https://b.example"\n');
  const secret = 's'.repeat(40);
  const r = parseConfig(['--config', conf, '--threads', '2', '--print-config'], { SABCACHE_TOKEN_SECRET: secret });
  assert.ok(!r.help && r.printConfig);
  const text = printConfigText(r.sources);
  assert.match(text, /^memory\s+64mb {2}# file .*:1$/m);
  assert.match(text, /^threads\s+2 {2}# flag --threads$/m);
  assert.match(text, /^port\s+7070 {2}# default$/m);
  assert.match(text, /^# token-secret\s+\(set; not shown\) {2}# environment SABCACHE_TOKEN_SECRET$/m);
  assert.ok(!text.includes(secret));
  // Read back as a config file (with the secret from the environment again): the same server.
  const again = parseConfig(['--config', file(text)], { SABCACHE_TOKEN_SECRET: secret });
  assert.ok(!again.help);
  assert.deepEqual(again.config, r.config);
  // The CLI prints it and exits 0.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--config', conf, '--print-config'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^memory\s+64mb/m);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--config', file('x 1\n')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /\.conf:1: unknown name "x"/);
});

test('the example config in docs/ (the systemd unit\'s) is a valid config file', () => {
  const c = configOf(['--config', 'docs/sabcache.conf'], {});
  assert.equal(c.memoryBytes, 2 * 1024 ** 3);
  assert.equal(c.wal, true);
});
