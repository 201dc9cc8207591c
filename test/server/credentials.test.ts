import assert from 'node:assert/strict';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { allows, Credentials, parseUsers } from '../../src/server/credentials.ts';
import { hashPassword } from '../../src/server/password-hash.ts';

const SECRET = 's'.repeat(32);
const users = (): string => JSON.stringify({ users: [
  { name: 'reader', password: hashPassword('r-pass'), role: 'read' },
  { name: 'app', password: hashPassword('a-pass'), role: 'write', keys: ['session:*', 'user:?'] },
  { name: 'root', password: hashPassword('x-pass'), role: 'admin' },
] });

test('users: the right password gives the user; a wrong one or an unknown name gives nothing', () => {
  const c = new Credentials(parseUsers(users(), 'test'), null);
  assert.ok(c.configured);
  assert.equal(c.checkPassword('reader', 'r-pass')?.role, 'read');
  assert.equal(c.checkPassword('reader', 'r-pass')?.name, 'reader', 'remembered after the first check');
  assert.equal(c.checkPassword('reader', 'a-pass'), null);
  assert.equal(c.checkPassword('nobody', 'r-pass'), null);
  assert.equal(c.checkToken(jwt.sign({ sub: 'x', role: 'admin' }, SECRET, { expiresIn: 60 })), null, 'no token secret: no tokens');
  assert.equal(new Credentials(null, null).configured, false);
});

test('roles rank read < write < admin, and key patterns (Redis globs) limit the keys', () => {
  const c = new Credentials(parseUsers(users(), 'test'), null);
  const reader = c.checkPassword('reader', 'r-pass')!;
  const app = c.checkPassword('app', 'a-pass')!;
  const root = c.checkPassword('root', 'x-pass')!;
  assert.ok(allows(reader, 'read', 'anything') && !allows(reader, 'write', 'anything'));
  assert.ok(allows(app, 'write', 'session:42') && allows(app, 'read', 'user:7') && !allows(app, 'admin'));
  assert.ok(!allows(app, 'read', 'user:77') && !allows(app, 'write', 'other'), 'outside its patterns');
  assert.ok(allows(app, 'write', Buffer.from('session:\xff', 'latin1')), 'key bytes, as the RESP port has them');
  assert.ok(allows(root, 'admin') && allows(root, 'write', 'any:key'));
});

test('tokens: HS256 with sub and exp; expired, foreign, unsigned or odd tokens give nothing', () => {
  let now = Date.UTC(2026, 11, 6);
  const c = new Credentials(null, SECRET, () => now);
  const sign = (claims: object, opts: jwt.SignOptions = {}): string => jwt.sign({ iat: Math.floor(now / 1000), ...claims }, SECRET, { algorithm: 'HS256', ...opts });
  const good = sign({ sub: 'browser-1', role: 'read', keys: ['public:*'], exp: Math.floor(now / 1000) + 60 });
  const p = c.checkToken(good)!;
  assert.deepEqual([p.name, p.role, allows(p, 'read', 'public:x'), allows(p, 'read', 'private:x')], ['browser-1', 'read', true, false]);
  now += 61_000;
  assert.equal(c.checkToken(good), null, 'expired, even though it was remembered');
  const exp = Math.floor(now / 1000) + 60;
  assert.equal(c.checkToken(sign({ role: 'read', exp })), null, 'no sub');
  assert.equal(c.checkToken(sign({ sub: 'x', role: 'read' })), null, 'no exp');
  assert.equal(c.checkToken(sign({ sub: 'x', role: 'owner', exp })), null, 'no such role');
  assert.equal(c.checkToken(sign({ sub: 'x', role: 'read', exp, scope: 'all' })), null, 'an unknown claim');
  assert.equal(c.checkToken(sign({ sub: 'x', role: 'read', exp, keys: 'x*' })), null, 'keys must be an array');
  assert.equal(c.checkToken(jwt.sign({ sub: 'x', role: 'admin', exp }, 'another secret that is long enough!!')), null, 'another secret');
  assert.equal(c.checkToken(jwt.sign({ sub: 'x', role: 'admin', exp }, SECRET, { algorithm: 'HS512' })), null, 'another algorithm');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ sub: 'x', role: 'admin', exp })).toString('base64url');
  assert.equal(c.checkToken(`${header}.${body}.`), null, 'alg none');
  assert.equal(c.checkToken('not a token'), null);
  assert.equal(c.checkToken(sign({ sub: 'x', role: 'admin', exp }))?.role, 'admin');
  assert.throws(() => new Credentials(null, 'short'), { code: 'SABCACHE_ERR_BAD_OPTION' });
});

test('a users file is checked field by field; unknown fields and repeated names are refused', () => {
  const bad = (doc: unknown, re: RegExp): void => assert.throws(() => parseUsers(typeof doc === 'string' ? doc : JSON.stringify(doc), 'users.json'), (e: Error & { code: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION' && re.test(e.message), JSON.stringify(doc));
  const h = hashPassword('p');
  bad('{not json', /not JSON/);
  bad({ users: [], extra: 1 }, /nothing else/);
  bad({ users: [{ name: 'a', password: h, role: 'read', admin: true }] }, /unknown field "admin"/);
  bad({ users: [{ name: 'a b', password: h, role: 'read' }] }, /name must be/);
  bad({ users: [{ name: 'a', password: 'secret', role: 'read' }] }, /password hash/);
  bad({ users: [{ name: 'a', password: h, role: 'superuser' }] }, /role must be read, write or admin/);
  bad({ users: [{ name: 'a', password: h, role: 'read', keys: [''] }] }, /keys must be/);
  bad({ users: [{ name: 'a', password: h, role: 'read' }, { name: 'a', password: h, role: 'write' }] }, /given twice/);
  assert.equal(parseUsers(JSON.stringify({ users: [] }), 'users.json').size, 0);
});

test('HTTP Basic: the encoded user:password, remembered by its text once it was right', () => {
  const c = new Credentials(parseUsers(users(), 'test'), null);
  const enc = (s: string): string => Buffer.from(s).toString('base64');
  assert.equal(c.checkBasic(enc('app:a-pass'))?.name, 'app');
  assert.equal(c.checkBasic(enc('app:a-pass'))?.name, 'app');
  assert.equal(c.checkBasic(enc('app:wrong')), null);
  assert.equal(c.checkBasic(enc('no-colon')), null);
  assert.equal(c.checkBasic('!!!'), null);
});

test('Authorization headers: Bearer and Basic; the last good one is remembered, a token only until it expires', () => {
  let now = Date.UTC(2026, 11, 6);
  const c = new Credentials(parseUsers(users(), 'test'), SECRET, () => now);
  const token = jwt.sign({ sub: 'svc', role: 'write', exp: Math.floor(now / 1000) + 60 }, SECRET, { algorithm: 'HS256' });
  const bearer = `Bearer ${token}`;
  assert.equal(c.checkAuthorization(bearer)?.name, 'svc');
  assert.ok(c.remembers(bearer));
  assert.equal(c.checkAuthorization(bearer)?.name, 'svc', 'again: the remembered one');
  const basic = `Basic ${Buffer.from('app:a-pass').toString('base64')}`;
  assert.equal(c.checkAuthorization(basic)?.name, 'app');
  assert.equal(c.checkAuthorization(bearer)?.name, 'svc', 'another header in between');
  now += 61_000;
  assert.equal(c.checkAuthorization(bearer), null, 'expired, though it was the last one checked');
  assert.equal(c.checkAuthorization(`Basic ${Buffer.from('app:wrong').toString('base64')}`), null);
  assert.equal(c.checkAuthorization('Digest abc'), null);
  assert.equal(c.checkAuthorization(basic)?.name, 'app');
});
