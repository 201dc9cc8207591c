import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { type RunningServer, startServer } from '../helpers/server-process.ts';
import { cacheContract } from '../contract/cache-contract.ts';
import { adaptResp } from '../contract/resp-adapter.ts';

let srv: RunningServer;
let r: Redis;
before(async () => {
  srv = await startServer(['--threads', '2', '--memory', '32mb', '--max-value-bytes', '64kb']);
  r = new Redis({ port: srv.respPort, host: '127.0.0.1', lazyConnect: true });
  await r.connect();
});
let contractClient: Redis | undefined;
after(async () => {
  r.disconnect();
  contractClient?.disconnect();
  await srv.stop();
});

cacheContract('RESP', () => adaptResp(() => (contractClient ??= new Redis({ port: srv.respPort, host: '127.0.0.1', stringNumbers: true }))));

test('connection commands: PING, ECHO, SELECT, HELLO, CLIENT, COMMAND, unknown commands', async () => {
  assert.equal(await r.ping(), 'PONG');
  assert.equal(await r.echo('hi'), 'hi');
  assert.equal(await r.select(0), 'OK');
  await assert.rejects(r.select(1), /ERR DB index is out of range/);
  assert.equal(await r.client('SETNAME', 'tester'), 'OK');
  assert.equal(await r.client('GETNAME'), 'tester');
  assert.equal(typeof (await r.client('ID')), 'number');
  assert.ok(((await r.call('COMMAND', 'COUNT')) as number) > 30);
  await assert.rejects(r.call('NOSUCH', 'a'), /ERR unknown command 'NOSUCH', with args beginning with: 'a'/);
  await assert.rejects(r.call('GET'), /ERR wrong number of arguments for 'get' command/);
  const hello = (await r.call('HELLO', '2')) as unknown[];
  assert.deepEqual(hello.slice(0, 4), ['server', 'redis', 'version', '7.0.0']);
  await assert.rejects(r.call('HELLO', '4'), /NOPROTO/);
});

test('strings: GET, SET with EX/PX/EXAT/NX/XX, SETNX, SETEX, PSETEX, MGET, MSET, STRLEN, INCR/DECR/INCRBY/DECRBY', async () => {
  assert.equal(await r.set('s', 'v'), 'OK');
  assert.equal(await r.get('s'), 'v');
  assert.equal(await r.get('none'), null);
  assert.equal(await r.set('s', 'w', 'NX'), null);
  assert.equal(await r.set('new', 'w', 'XX'), null);
  assert.equal(await r.set('s', 'w', 'XX'), 'OK');
  assert.equal(await r.set('ex', 'v', 'EX', 100), 'OK');
  assert.equal(await r.ttl('ex'), 100);
  assert.equal(await r.set('px', 'v', 'PX', 1500), 'OK');
  assert.ok([1, 2].includes(await r.ttl('px')), 'TTL rounds the milliseconds left, as Redis');
  const pttl = await r.pttl('px');
  assert.ok(pttl > 1000 && pttl <= 1500, `PTTL ${pttl}: to the millisecond`);
  assert.equal(await r.set('at', 'v', 'EXAT', Math.floor(Date.now() / 1000) + 50), 'OK');
  assert.ok(Math.abs((await r.ttl('at')) - 50) <= 1);
  assert.equal(await r.set('past', 'v', 'EXAT', 1), 'OK');
  assert.equal(await r.exists('past'), 0, 'an absolute time already past stores nothing lasting');
  await assert.rejects(r.set('bad', 'v', 'EX', 0), /ERR invalid expire time in 'set' command/);
  await assert.rejects(r.call('SET', 'bad', 'v', 'EX'), /ERR syntax error/);
  await assert.rejects(r.call('SET', 'bad', 'v', 'NX', 'XX'), /ERR syntax error/);
  assert.equal(await r.setnx('nx', '1'), 1);
  assert.equal(await r.setnx('nx', '2'), 0);
  assert.equal(await r.setex('sx', 30, 'v'), 'OK');
  assert.equal(await r.ttl('sx'), 30);
  assert.equal(await r.psetex('psx', 2500, 'v'), 'OK');
  assert.equal(await r.mset('m1', 'a', 'm2', 'b'), 'OK');
  assert.deepEqual(await r.mget('m1', 'nope', 'm2'), ['a', null, 'b']);
  assert.equal(await r.strlen('m1'), 1);
  assert.equal(await r.strlen('nope'), 0);
  assert.equal(await r.incr('n'), 1);
  assert.equal(await r.incrby('n', 41), 42);
  assert.equal(await r.decr('n'), 41);
  assert.equal(await r.decrby('n', 40), 1);
  await assert.rejects(r.incr('s'), /ERR value is not an integer or out of range/);
  await r.set('big', '9223372036854775807');
  await assert.rejects(r.incr('big'), /ERR increment or decrement would overflow/);
  await assert.rejects(r.incrby('n', 'x' as never), /ERR value is not an integer or out of range/);
});

test('strings: SET GET/KEEPTTL, GETSET, GETDEL, GETEX, MSETNX, APPEND, INCRBYFLOAT, RANDOMKEY', async () => {
  await r.set('g', 'one', 'EX', 100);
  assert.equal(await r.call('SET', 'g', 'two', 'KEEPTTL', 'GET'), 'one');
  assert.equal(await r.ttl('g'), 100, 'KEEPTTL keeps the TTL');
  assert.equal(await r.call('SET', 'g', 'three', 'GET'), 'two');
  assert.equal(await r.ttl('g'), -1);
  assert.equal(await r.call('SET', 'g-none', 'x', 'NX', 'GET'), null);
  assert.equal(await r.call('SET', 'g', 'four', 'NX', 'GET'), 'three', 'NX GET on a present key answers the old value and stores nothing');
  assert.equal(await r.get('g'), 'three');
  await assert.rejects(r.call('SET', 'g', 'x', 'KEEPTTL', 'EX', '5'), /ERR syntax error/);
  assert.equal(await r.getset('g', 'five'), 'three');
  assert.equal(await r.getdel('g'), 'five');
  assert.equal(await r.getdel('g'), null);
  await r.set('gx', 'v');
  assert.equal(await r.getex('gx', 'EX', 40), 'v');
  assert.equal(await r.ttl('gx'), 40);
  assert.equal(await r.getex('gx', 'PERSIST'), 'v');
  assert.equal(await r.ttl('gx'), -1);
  await assert.rejects(r.call('GETEX', 'gx', 'EX', '1', 'PX', '1'), /ERR syntax error/);
  assert.equal(await r.msetnx('mn1', 'a', 'mn2', 'b'), 1);
  assert.equal(await r.msetnx('mn2', 'x', 'mn3', 'y'), 0);
  assert.deepEqual(await r.mget('mn1', 'mn2', 'mn3'), ['a', 'b', null]);
  assert.equal(await r.append('ap', 'hello'), 5);
  assert.equal(await r.append('ap', ' world'), 11);
  assert.equal(await r.get('ap'), 'hello world');
  assert.equal(await r.incrbyfloat('fl', '10.5'), '10.5');
  assert.equal(await r.incrbyfloat('fl', '0.1'), '10.6');
  await assert.rejects(r.incrbyfloat('ap', '1'), /ERR value is not a valid float/);
  await assert.rejects(r.incrbyfloat('fl', 'abc'), /ERR value is not a valid float/);
  assert.equal(typeof (await r.randomkey()), 'string');
});

test('sub-second TTLs expire at their millisecond (PX, PSETEX, PEXPIRE, PEXPIREAT, GETEX PX, SET … GET PX), not at a whole second', async () => {
  const t0 = Date.now();
  await r.set('ms:px', 'v', 'PX', 150);
  await r.psetex('ms:psetex', 150, 'v');
  await r.set('ms:pe', 'v');
  assert.equal(await r.pexpire('ms:pe', 150), 1);
  await r.set('ms:pat', 'v');
  assert.equal(await r.pexpireat('ms:pat', t0 + 150), 1);
  await r.set('ms:gx', 'v');
  assert.equal(await r.call('GETEX', 'ms:gx', 'PX', '150'), 'v');
  assert.equal(await r.call('SET', 'ms:sg', 'v2', 'PX', '150', 'GET'), null);
  const keys = ['ms:px', 'ms:psetex', 'ms:pe', 'ms:pat', 'ms:gx', 'ms:sg'];
  for (const k of keys) {
    const left = await r.pttl(k);
    assert.ok(left > 0 && left <= 150, `${k}: PTTL ${left}`);
  }
  // Whole-second rounding would keep them for up to a second more.
  await new Promise((res) => setTimeout(res, Math.max(0, t0 + 400 - Date.now())));
  assert.equal(await r.exists(...keys), 0, 'all gone 400 ms after a 150 ms TTL');
  assert.equal(await r.pttl('ms:px'), -2);
});

test('lists and hashes: LPUSH/RPUSH/LPOP/RPOP/LRANGE/LLEN/LINDEX, HSET/HGET/HMGET/HDEL/HGETALL/HLEN/HEXISTS/HINCRBY/HKEYS/HVALS, WRONGTYPE', async () => {
  await r.del('L', 'H', 'S');
  assert.equal(await r.lpush('L', 'a', 'b', 'c'), 3);
  assert.equal(await r.rpush('L', 'd'), 4);
  assert.deepEqual(await r.lrange('L', 0, -1), ['c', 'b', 'a', 'd']);
  assert.equal(await r.llen('L'), 4);
  assert.equal(await r.lindex('L', -1), 'd');
  assert.equal(await r.lpop('L'), 'c');
  assert.deepEqual(await r.rpop('L', 2), ['d', 'a']);
  assert.equal(await r.type('L'), 'list');
  assert.equal(await r.lpushx('nolist', 'x'), 0);
  assert.equal(await r.hset('H', 'f1', 'v1', 'f2', 'v2'), 2);
  assert.equal(await r.hset('H', 'f1', 'V1'), 0);
  assert.equal(await r.hget('H', 'f1'), 'V1');
  assert.deepEqual(await r.hmget('H', 'f1', 'nope', 'f2'), ['V1', null, 'v2']);
  assert.deepEqual(await r.hgetall('H'), { f1: 'V1', f2: 'v2' });
  assert.equal(await r.hlen('H'), 2);
  assert.equal(await r.hexists('H', 'f2'), 1);
  assert.equal(await r.hincrby('H', 'n', 7), 7);
  assert.deepEqual(await r.hkeys('H'), ['f1', 'f2', 'n']);
  assert.deepEqual(await r.hvals('H'), ['V1', 'v2', '7']);
  assert.equal(await r.hdel('H', 'f1', 'nope'), 1);
  assert.equal(await r.type('H'), 'hash');
  assert.deepEqual(await r.call('SCAN', '0', 'TYPE', 'hash', 'COUNT', '100000'), ['0', ['H']]);
  await r.set('S', 'str');
  const wrongType = { message: 'WRONGTYPE Operation against a key holding the wrong kind of value' };
  await assert.rejects(r.get('L'), wrongType);
  await assert.rejects(r.incr('H'), wrongType);
  await assert.rejects(r.lpush('S', 'x'), wrongType);
  await assert.rejects(r.hget('L', 'f'), wrongType);
  await assert.rejects(r.append('L', 'x'), wrongType);
  await assert.rejects(r.strlen('H'), wrongType);
  assert.deepEqual(await r.mget('S', 'L'), ['str', null], 'MGET answers nil for a key of another type');
  // A pipeline with a failing command in the middle stays in step.
  const replies = await r.pipeline().get('S').lrange('S', 0, 1).get('S').exec();
  assert.deepEqual(replies!.map(([e, v]) => (e ? 'error' : v)), ['str', 'error', 'str']);
  // Over HTTP, the collections report their type and refuse string reads the same way.
  const res = await fetch(`${srv.base}/v1/kv/L`);
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), { error: { code: 'SABCACHE_ERR_WRONG_TYPE', message: 'Operation against a key holding the wrong kind of value (it holds a list)' } });
  const inc = await fetch(`${srv.base}/v1/kv/H/incr`, { method: 'POST' });
  assert.equal(inc.status, 409);
  assert.equal(((await inc.json()) as { error: { code: string } }).error.code, 'SABCACHE_ERR_WRONG_TYPE');
  // SET replaces a collection, as in Redis.
  assert.equal(await r.set('L', 'now a string'), 'OK');
  assert.equal(await r.get('L'), 'now a string');
});

test('keys: DEL, UNLINK, EXISTS, TYPE, EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, TTL, PTTL, PERSIST, SCAN, KEYS, DBSIZE, FLUSHDB', async () => {
  await r.flushdb();
  await r.mset('k1', 'a', 'k2', 'b', 'other', 'c');
  assert.equal(await r.exists('k1', 'k2', 'zz'), 2);
  assert.equal(await r.type('k1'), 'string');
  assert.equal(await r.type('zz'), 'none');
  assert.equal(await r.dbsize(), 3);
  assert.equal(await r.expire('k1', 100), 1);
  assert.equal(await r.expire('zz', 100), 0);
  assert.equal(await r.ttl('k1'), 100);
  assert.ok((await r.pttl('k1')) > 99_000);
  assert.equal(await r.ttl('k2'), -1);
  assert.equal(await r.ttl('zz'), -2);
  assert.equal(await r.pttl('zz'), -2);
  assert.equal(await r.persist('k1'), 1);
  assert.equal(await r.persist('k1'), 0, 'no TTL to remove');
  assert.equal(await r.pexpire('k2', 5000), 1);
  assert.ok([4, 5].includes(await r.ttl('k2')));
  const p2 = await r.pttl('k2');
  assert.ok(p2 > 4000 && p2 <= 5000, `PTTL ${p2}`);
  assert.equal(await r.expireat('k2', Math.floor(Date.now() / 1000) + 200), 1);
  assert.ok(Math.abs((await r.ttl('k2')) - 200) <= 1);
  assert.equal(await r.pexpireat('k2', Date.now() - 1000), 1, 'a time past deletes');
  assert.equal(await r.exists('k2'), 0);
  assert.deepEqual((await r.keys('k*')).sort(), ['k1']);
  assert.deepEqual((await r.keys('*')).sort(), ['k1', 'other']);
  const seen: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', '?1', 'COUNT', 100);
    seen.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  assert.deepEqual(seen, ['k1']);
  assert.deepEqual(await r.call('SCAN', '0', 'TYPE', 'hash', 'COUNT', '100000'), ['0', []]);
  assert.equal(await r.del('k1', 'other', 'zz'), 2);
  assert.equal(await r.unlink('k1'), 0);
  await r.set('x', '1');
  assert.equal(await r.flushdb(), 'OK');
  assert.equal(await r.dbsize(), 0);
});

test('server: INFO with Redis\'s field names, TIME, CONFIG GET', async () => {
  await r.set('i', 'v');
  await r.get('i');
  await r.get('missing');
  const info = await r.info();
  for (const field of ['redis_version:', 'uptime_in_seconds:', 'connected_clients:', 'used_memory:', 'maxmemory:33554432', 'keyspace_hits:', 'keyspace_misses:', 'evicted_keys:', 'expired_keys:', 'db0:keys=']) assert.ok(info.includes(field), field);
  assert.match(await r.info('keyspace'), /^# Keyspace\r\ndb0:keys=\d+,expires=\d+,avg_ttl=\d+/);
  // Under load, the rate of operations shows (sampled every 100 ms over 1.6 s, as Redis).
  const busy = Date.now() + 400;
  while (Date.now() < busy) await r.pipeline(Array.from({ length: 100 }, () => ['get', 'i'])).exec();
  assert.ok(Number(/instantaneous_ops_per_sec:(\d+)/.exec(await r.info('stats'))![1]) > 0);
  const [seconds, micros] = (await r.time()) as unknown as [string, string];
  assert.ok(Math.abs(Number(seconds) - Date.now() / 1000) < 5 && Number(micros) < 1e6);
  assert.deepEqual(await r.config('GET', 'maxmemory'), ['maxmemory', '33554432']);
  await assert.rejects(r.config('SET', 'maxmemory', '1'), /ERR CONFIG is read-only/);
});

test('one store: a key written over RESP reads the same over HTTP with its TTL, and the other way round', async () => {
  await r.set('shared', 'from resp', 'EX', 60);
  const res = await fetch(`${srv.base}/v1/kv/shared`);
  assert.equal(await res.text(), 'from resp');
  assert.equal(res.headers.get('sabcache-ttl'), '60');
  assert.match(res.headers.get('etag')!, /^"[0-9a-f]+\.[0-9a-f]+"$/);
  await fetch(`${srv.base}/v1/kv/from-http?ttl=30`, { method: 'PUT', body: 'over http' });
  assert.equal(await r.get('from-http'), 'over http');
  assert.equal(await r.ttl('from-http'), 30);
  await fetch(`${srv.base}/v1/kv/counter/incr?by=5`, { method: 'POST' });
  assert.equal(await r.incr('counter'), 6);
});

test('node-redis drives the same commands', async () => {
  const c = createClient({ socket: { port: srv.respPort, host: '127.0.0.1' } });
  await c.connect();
  try {
    assert.equal(await c.set('nr', 'x', { EX: 10 }), 'OK');
    assert.equal(await c.get('nr'), 'x');
    assert.equal(await c.ttl('nr'), 10);
    assert.equal(await c.incrBy('nr-n', 3), 3);
    assert.deepEqual(await c.mGet(['nr', 'nope']), ['x', null]);
    assert.equal(await c.del(['nr', 'nr-n']), 2);
    assert.equal(await c.exists('nr'), 0);
    assert.equal(await c.rPush('nr-l', ['a', 'b']), 2);
    assert.deepEqual(await c.lRange('nr-l', 0, -1), ['a', 'b']);
    assert.equal(await c.hSet('nr-h', { f: 'v', g: 'w' }), 2);
    assert.deepEqual({ ...(await c.hGetAll('nr-h')) }, { f: 'v', g: 'w' });
    assert.equal(await c.getDel('nr-l').catch((e: Error) => e.message), 'WRONGTYPE Operation against a key holding the wrong kind of value');
    assert.equal(await c.append('nr-s', 'ab'), 2);
  } finally {
    await c.quit();
  }
});
