import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parsePasswordHash, passwordMatches } from '../../src/server/password-hash.ts';

const cwd = fileURLToPath(new URL('../..', import.meta.url));
const run = (args: string[], input: string) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', ...args], { cwd, encoding: 'utf8', input, timeout: 20_000 });

test('--hash-password prints the scrypt hash of the line on standard input, which a users file takes', () => {
  const r = run(['--hash-password'], 'correct horse\n');
  assert.equal(r.status, 0, r.stderr);
  const hash = r.stdout.trim();
  const parsed = parsePasswordHash(hash, 'test');
  assert.ok(passwordMatches('correct horse', parsed));
  assert.ok(!passwordMatches('correct horse\n', parsed), 'the newline is not part of it');
  assert.notEqual(run(['--hash-password'], 'correct horse\n').stdout.trim(), hash, 'a new salt each time');
});

test('--hash-password refuses an empty password and any other option (exit 2)', () => {
  assert.equal(run(['--hash-password'], '\n').status, 2);
  const r = run(['--hash-password', 'secret'], '');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /takes no other option/);
});
