import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { fnv1a64Twemproxy, hashedPart, KetamaRing } from '../../src/client/ketama.ts';
import { hashPassword } from '../../src/server/password-hash.ts';
import { missing, type Proxy, startTwemproxy } from '../helpers/proxies.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('the key hash is twemproxy\'s fnv1a_64 (32-bit arithmetic); hash tags hash the part inside', () => {
  assert.equal(fnv1a64Twemproxy(enc('')), 0x84222325);
  // By hand: (0x84222325 ^ 0x61) * 0x1b3 mod 2^32.
  assert.equal(fnv1a64Twemproxy(enc('a')), Number((BigInt((0x84222325 ^ 0x61) >>> 0) * 0x1b3n) % 2n ** 32n));
  assert.deepEqual(hashedPart(enc('{user:1}:name'), '{}'), enc('user:1'));
  assert.deepEqual(hashedPart(enc('no tag'), '{}'), enc('no tag'));
  assert.deepEqual(hashedPart(enc('{open'), '{}'), enc('{open'));
  const ring = new KetamaRing([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { hashTag: '{}' });
  assert.equal(ring.nodeOf('{user:1}:name'), ring.nodeOf('{user:1}:email'));
});

test('adding a 4th node to 3 moves about a quarter of the keys (ideal 1/4; at most 1.4× that)', () => {
  const three = new KetamaRing([{ name: 'node1' }, { name: 'node2' }, { name: 'node3' }]);
  const four = new KetamaRing([{ name: 'node1' }, { name: 'node2' }, { name: 'node3' }, { name: 'node4' }]);
  let moved = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) if (three.nodeOf(`key:${i}`) !== four.nodeOf(`key:${i}`)) moved++;
  assert.ok(moved / n <= 0.35, `${((100 * moved) / n).toFixed(1)}% moved`);
  assert.ok(moved / n >= 0.15, `${((100 * moved) / n).toFixed(1)}% moved`);
});

const noTwemproxy = missing('nutcracker', 'nutcracker');

describe('behind twemproxy (Debian\'s nutcracker), 3 nodes', { skip: noTwemproxy }, () => {
  const names = ['node1', 'node2', 'node3'];
  const nodes: RunningServer[] = [];
  let proxy: Proxy;
  const KEYS = 3000;
  const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
  before(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await startServer(['--threads', '1', '--memory', '32mb']));
    proxy = await startTwemproxy(nodes.map((n, i) => ({ name: names[i], respPort: n.respPort })));
    const r = new Redis({ port: proxy.port, protocol: 2, disableClientInfo: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    const p = r.pipeline();
    for (const k of keys) p.set(k, `v-${k}`);
    await p.exec();
    r.disconnect();
  });
  after(async () => {
    await proxy?.stop();
    for (const n of nodes) await n.stop();
  });

  test('keys spread evenly (each node 33% ± 10%), and each is where this client\'s ketama puts it', async () => {
    const ring = new KetamaRing(names.map((name) => ({ name })), { hashTag: '{}' });
    const counts: number[] = [];
    let agree = 0;
    for (let i = 0; i < 3; i++) {
      const r = new Redis({ port: nodes[i].respPort, enableReadyCheck: false });
      counts.push(await r.dbsize());
      const p = r.pipeline();
      for (const k of keys) p.exists(k);
      const held = (await p.exec())!.map(([, v]) => v === 1);
      keys.forEach((k, j) => { if (held[j] && ring.nodeOf(k) === i) agree++; });
      r.disconnect();
    }
    assert.equal(counts.reduce((a, b) => a + b, 0), KEYS);
    for (const c of counts) assert.ok(Math.abs(c / KEYS - 1 / 3) <= 0.1, `spread ${counts.join(', ')}`);
    assert.equal(agree, KEYS, 'every key on the node ketama.ts names');
  });

  test('a 4th node behind a new twemproxy: about a quarter of the keys move (read back as misses), at most 35%', async () => {
    const fourth = await startServer(['--threads', '1', '--memory', '32mb']);
    const four = await startTwemproxy([...nodes.map((n, i) => ({ name: names[i], respPort: n.respPort })), { name: 'node4', respPort: fourth.respPort }]);
    try {
      const r = new Redis({ port: four.port, protocol: 2, disableClientInfo: true, enableReadyCheck: false });
      const p = r.pipeline();
      for (const k of keys) p.get(k);
      const misses = (await p.exec())!.filter(([, v]) => v === null).length;
      r.disconnect();
      assert.ok(misses / KEYS <= 0.35 && misses / KEYS >= 0.15, `${misses} of ${KEYS} moved`);
    } finally {
      await four.stop();
      await fourth.stop();
    }
  });
});

test('twemproxy with redis_auth in front of nodes that need a password: it authenticates to each node; a client that skips it is refused', { skip: noTwemproxy }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-twem-auth-'));
  const users = join(dir, 'users.json');
  writeFileSync(users, JSON.stringify({ users: [{ name: 'default', password: hashPassword('node-secret'), role: 'write' }] }));
  const nodes = [await startServer(['--threads', '1', '--memory', '16mb', '--users-file', users]), await startServer(['--threads', '1', '--memory', '16mb', '--users-file', users])];
  const proxy = await startTwemproxy(nodes.map((n, i) => ({ name: `node${i + 1}`, respPort: n.respPort })), { redis_auth: 'node-secret' });
  try {
    // twemproxy asks its clients for the same password (AUTH to the proxy), then AUTHs to each node.
    const r = new Redis({ port: proxy.port, password: 'node-secret', protocol: 2, disableClientInfo: true, enableReadyCheck: false });
    for (let i = 0; i < 20; i++) await r.set(`a:${i}`, String(i));
    assert.equal(await r.get('a:7'), '7');
    r.disconnect();
    const direct = new Redis({ port: nodes[0].respPort, protocol: 2, disableClientInfo: true, enableReadyCheck: false, lazyConnect: true, maxRetriesPerRequest: 0 });
    await direct.connect();
    await assert.rejects(direct.get('a:1'), /NOAUTH/);
    direct.disconnect();
  } finally {
    await proxy.stop();
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
