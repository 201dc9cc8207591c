import type { SabcacheError } from '../../src/errors.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { helpText, OPTIONS, parseConfig, type ServerConfig } from '../../src/server/config.ts';

test('defaults need no flags and no environment', () => {
  const r = parseConfig([], {});
  assert.deepEqual({ ...r, sources: undefined }, {
    help: false,
    printConfig: false,
    sources: undefined,
    config: {
      host: '0.0.0.0', port: 7070, respPort: 7379, adminHost: '127.0.0.1', adminPort: 7071, threads: availableParallelism(), memoryBytes: 256 * 1024 ** 2, maxKeyBytes: 1024, maxValueBytes: 1024 ** 2,
      wsMaxMessageBytes: 1024 ** 2 + 65536, wsMaxRequests: 1000, wsMaxBackpressureBytes: 16 * 1024 ** 2, wsIdleTimeoutSeconds: 120, allowedOrigins: [], protectedMode: true, tlsCertFile: '', tlsKeyFile: '', usersFile: '', tokenSecret: '',
      dataDir: '', snapshotIntervalSeconds: 300, snapshotKeep: 2, wal: false, fsync: 'everysec', maxResponseBytes: 1024 ** 2 + 4 * 1024 ** 2, recoverPastGaps: false,
      rateLimit: 0, rateLimitBurst: 1, rateLimitGlobal: 0, rateLimitGlobalBurst: 1, maxConnections: 10000, maxConnectionsPerAddress: 0,
      slowlogThresholdUs: 10000, slowlogMaxLen: 128, logLevel: 'info', logFormat: 'json', logFile: '', logRotateSizeBytes: 100 * 1024 ** 2, logRotateInterval: 'daily', logRotateKeep: 7,
    },
  });
});

test('--protected-mode takes yes/no (SABCACHE_PROTECTED_MODE), and refuses anything else', () => {
  const pm = (argv: string[], env: NodeJS.ProcessEnv = {}): boolean => (parseConfig(argv, env) as { config: { protectedMode: boolean } }).config.protectedMode;
  assert.equal(pm(['--protected-mode', 'no']), false);
  assert.equal(pm(['--protected-mode', 'yes']), true);
  assert.equal(pm([], { SABCACHE_PROTECTED_MODE: 'no' }), false);
  assert.equal(pm(['--protected-mode', 'yes'], { SABCACHE_PROTECTED_MODE: 'no' }), true, 'the flag wins');
  for (const bad of ['maybe', '', 'off', '0']) {
    assert.throws(() => parseConfig(['--protected-mode', bad], {}), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && /protected-mode/.test(e.message), JSON.stringify(bad));
  }
  assert.throws(() => parseConfig([], { SABCACHE_PROTECTED_MODE: '' }), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION', 'an empty variable does not turn protection off');
});

test('unknown flags and SABCACHE_* variables are refused, naming the nearest valid one', () => {
  assert.throws(() => parseConfig(['--memroy', '1gb'], {}), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && /--memroy/.test(e.message) && /did you mean --memory\?/.test(e.message));
  assert.throws(() => parseConfig([], { SABCACHE_MEMROY: '1gb' }), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && /SABCACHE_MEMROY/.test(e.message) && /SABCACHE_MEMORY/.test(e.message));
  // The CLI's variables may be set in the same shell: not refused.
  assert.equal(parseConfig([], { SABCACHE_URL: 'http://127.0.0.1:7070', OTHER: 'x' }).help, false);
});

test('--max-response-bytes defaults to max-value-bytes + 4 MiB and must leave room for one value', () => {
  const r = parseConfig(['--max-value-bytes', '64kb'], {});
  assert.ok(!r.help && r.config.maxResponseBytes === 64 * 1024 + 4 * 1024 ** 2);
  assert.throws(() => parseConfig(['--max-value-bytes', '64kb', '--max-response-bytes', '64kb'], {}), /at least --max-value-bytes \+ 1024/);
});

test('rate limits: bursts default to one second of their rate; counts are whole numbers in range', () => {
  const c = (argv: string[], env: NodeJS.ProcessEnv = {}) => (parseConfig(argv, env) as { config: ServerConfig }).config;
  assert.deepEqual([c(['--rate-limit', '200']).rateLimitBurst, c(['--rate-limit-global', '5000']).rateLimitGlobalBurst], [200, 5000]);
  assert.equal(c(['--rate-limit', '200', '--rate-limit-burst', '20']).rateLimitBurst, 20);
  assert.equal(c([], { SABCACHE_MAX_CONNECTIONS_PER_ADDRESS: '8' }).maxConnectionsPerAddress, 8);
  for (const argv of [['--rate-limit', '-1'], ['--rate-limit', '1.5'], ['--rate-limit-burst', '0'], ['--max-connections', 'lots']]) {
    assert.throws(() => parseConfig(argv, {}), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && e.message.includes(argv[0]), argv.join(' '));
  }
});

test('--wal is a flag (its variable takes on/off) and needs --data-dir', () => {
  const r = parseConfig(['--wal', '--data-dir', '/tmp/x', '--fsync', 'always'], {});
  assert.ok(!r.help && r.config.wal === true && r.config.fsync === 'always');
  const e = parseConfig(['--data-dir', '/tmp/x'], { SABCACHE_WAL: 'on' });
  assert.ok(!e.help && e.config.wal === true && e.config.fsync === 'everysec');
});

test('flags win over environment variables; units are parsed', () => {
  const r = parseConfig(['--port', '9000', '--memory', '1gb'], { SABCACHE_PORT: '8000', SABCACHE_ADMIN_PORT: '8001', SABCACHE_MAX_VALUE_BYTES: '64kb' });
  assert.ok(!r.help);
  assert.equal(r.config.port, 9000);
  assert.equal(r.config.adminPort, 8001);
  assert.equal(r.config.memoryBytes, 1024 ** 3);
  assert.equal(r.config.maxValueBytes, 65536);
});

test('bad values and unknown flags name the flag or variable', () => {
  for (const [argv, env, name] of [
    [['--port', '0'], {}, '--port'], [['--port', 'http'], {}, '--port'], [['--memory', '10tb'], {}, '--memory'],
    [['--threads', '0'], {}, '--threads'], [['--max-key-bytes', '70000'], {}, '--max-key-bytes'],
    [[], { SABCACHE_MEMORY: 'lots' }, 'SABCACHE_MEMORY'], [['--frobnicate'], {}, 'frobnicate'], [['--host', 'a b'], {}, '--host'],
    [['--ws-idle-timeout', '3'], {}, '--ws-idle-timeout'], [['--allowed-origins', 'evil'], {}, '--allowed-origins'], [['--ws-max-requests', '0'], {}, '--ws-max-requests'],
    [['--snapshot-keep', '0'], {}, '--snapshot-keep'], [['--wal'], {}, '--wal'], [['--fsync', 'sometimes'], {}, '--fsync'], [[], { SABCACHE_WAL: 'maybe' }, 'SABCACHE_WAL'], [['--snapshot-interval', '-5'], {}, '--snapshot-interval'], [[], { SABCACHE_SNAPSHOT_INTERVAL: '1h' }, 'SABCACHE_SNAPSHOT_INTERVAL'],
  ] as [string[], NodeJS.ProcessEnv, string][]) {
    assert.throws(() => parseConfig(argv, env), (e: Error & { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION' && e.message.includes(name), argv.join(' '));
  }
});

test('--help lists every option with its variable, unit and default', () => {
  const text = helpText();
  for (const o of OPTIONS) {
    assert.ok(text.includes(`--${o.flag}`) && text.includes(o.env) && text.includes(`unit: ${o.unit}`), o.flag);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--help'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.ok(r.stdout.includes('--max-value-bytes'));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--port', 'x'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /SABCACHE|--port/);
});
