import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, parsePasswordHash, passwordMatches } from '../../src/server/password-hash.ts';

test('a hash matches its password only, and each hash has its own salt', () => {
  const a = hashPassword('correct horse');
  const b = hashPassword('correct horse');
  assert.notEqual(a, b, 'a new salt each time');
  assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.ok(passwordMatches('correct horse', parsePasswordHash(a, 'test')));
  assert.ok(passwordMatches('correct horse', parsePasswordHash(b, 'test')));
  assert.ok(!passwordMatches('correct horsf', parsePasswordHash(a, 'test')));
  assert.ok(!passwordMatches('', parsePasswordHash(a, 'test')));
});

test('malformed or out-of-range hashes are refused, naming where', () => {
  const salt = Buffer.alloc(16, 1).toString('base64');
  const hash = Buffer.alloc(32, 2).toString('base64');
  for (const bad of ['', 'plain-password', `scrypt$1000$8$1$${salt}$${hash}`, `scrypt$16384$8$1$${salt}`, `scrypt$16384$8$99$${salt}$${hash}`, `scrypt$16384$8$1$AAAA$${hash}`, `bcrypt$16384$8$1$${salt}$${hash}`]) {
    assert.throws(() => parsePasswordHash(bad, 'users[0].password'), (e: Error & { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION' && /users\[0\]\.password/.test(e.message), bad);
  }
});
