import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../../src/server/credentials.ts';
import { commandNeed, isClassified, refusal } from '../../src/server/resp-acl.ts';
import { COMMANDS } from '../../src/server/resp-commands.ts';
import { globRegExp } from '../../src/server/redis-glob.ts';

test('every RESP command is classified (a new one must be, or it needs admin)', () => {
  const missing = [...COMMANDS.keys()].filter((n) => !isClassified(n));
  assert.deepEqual(missing, []);
  assert.equal(commandNeed('some-future-command'), 'admin');
});

test('refusals: NOAUTH before AUTH, NOPERM by role and by key pattern, keyspace commands closed to patterned users', () => {
  const b = (s: string): Uint8Array => Buffer.from(s);
  const args = (...a: string[]) => (i: number): Uint8Array => b(a[i]);
  const reader: Principal = { name: 'r', role: 'read', keys: null, patterns: [] };
  const app: Principal = { name: 'app', role: 'write', keys: new RegExp(`^(?:${globRegExp('s:*').source.slice(1, -1)})$`), patterns: ['s:*'] };
  assert.equal(refusal(null, 'auth', 2, args('auth', 'x')), null);
  assert.equal(refusal(null, 'get', 2, args('get', 'k')), 'NOAUTH Authentication required.');
  assert.equal(refusal(reader, 'get', 2, args('get', 'k')), null);
  assert.match(refusal(reader, 'set', 3, args('set', 'k', 'v'))!, /^NOPERM User r has no permissions to run the 'set' command/);
  assert.match(refusal(reader, 'flushall', 1, args('flushall'))!, /^NOPERM/);
  assert.equal(refusal(app, 'set', 3, args('set', 's:1', 'v')), null);
  assert.equal(refusal(app, 'set', 3, args('set', 'x:1', 'v')), 'NOPERM No permissions to access a key');
  assert.equal(refusal(app, 'mset', 5, args('mset', 's:1', 'v', 's:2', 'x:no')), null, 'values are not keys');
  assert.equal(refusal(app, 'mset', 5, args('mset', 's:1', 'v', 'x:2', 'v')), 'NOPERM No permissions to access a key');
  assert.equal(refusal(app, 'mget', 3, args('mget', 's:1', 'x:2')), 'NOPERM No permissions to access a key');
  assert.match(refusal(app, 'keys', 2, args('keys', '*'))!, /it reaches every key/);
  assert.match(refusal(app, 'psubscribe', 2, args('psubscribe', '*'))!, /it reaches every key/);
  assert.equal(refusal(app, 'ping', 1, args('ping')), null);
});
