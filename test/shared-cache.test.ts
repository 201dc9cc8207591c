import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Piscina } from 'piscina';
import { SharedCache, SabcacheError } from '../src/index.ts';
import { cacheContract, type CacheClient } from './contract/cache-contract.ts';

const shared = SharedCache.create({ memoryBytes: '8mb', maxValueBytes: '64kb', maxKeyBytes: 1024 });
process.on('exit', () => shared.close());

cacheContract('in-process', (): CacheClient => ({
  get: async (k) => shared.get(k),
  getBytes: async (k) => shared.getBytes(k),
  set: async (k, v, options) => shared.set(k, v, options),
  version: async (k) => shared.getEntry(k)?.version,
  incr: async (k, by) => shared.incr(k, by),
  expire: async (k, s) => shared.expire(k, s),
  persist: async (k) => shared.persist(k),
  ttl: async (k) => shared.ttl(k),
  getMany: async (keys) => shared.getMany(keys),
  setMany: async (entries) => { shared.setMany(entries); },
  scan: async (o) => shared.scan(o),
  delete: async (k) => shared.delete(k),
  has: async (k) => shared.has(k),
  errorCode: async (call) => {
    try {
      await call();
    } catch (e) {
      assert.ok(e instanceof SabcacheError);
      return e.code;
    }
    return 'no error';
  },
}));

test('getEntry gives value, version, TTL and type; flush removes everything', () => {
  const c = SharedCache.create({ memoryBytes: '1mb', maxValueBytes: 1024 });
  const version = c.set('s', 'text', { ttlSeconds: 30 });
  c.set('b', new Uint8Array([1, 2]));
  c.incr('n', 5);
  const e = c.getEntry('s')!;
  assert.equal(e.version, version);
  assert.equal(new TextDecoder().decode(e.value), 'text');
  assert.ok(e.ttlSeconds >= 29 && e.ttlSeconds <= 31);
  assert.deepEqual([e.type, c.getEntry('b')!.type, c.getEntry('n')!.type], ['string', 'bytes', 'integer']);
  assert.throws(() => c.set('s', 'x', { ifAbsent: true, ifPresent: true }), { code: 'SABCACHE_ERR_BAD_OPTION' });
  assert.equal(c.flush(), 3);
  assert.deepEqual(c.getMany(['s', 'b', 'n']), [undefined, undefined, undefined]);
  assert.equal(c.stats().items, 0);
  c.set('after', 'flush');
  assert.equal(c.get('after'), 'flush');
  c.close();
});

test('options are validated at create, naming the option', () => {
  const cases: [object, string][] = [
    [{ memoryBytes: 'lots' }, 'memoryBytes'],
    [{ memoryBytes: 1000 }, 'memoryBytes'],
    [{ memoryBytes: '512kb' }, 'memoryBytes'],
    [{ memoryBytes: '8gb' }, 'memoryBytes'],
    [{ maxKeyBytes: 0 }, 'maxKeyBytes'],
    [{ maxKeyBytes: 70000 }, 'maxKeyBytes'],
    [{ maxValueBytes: -1 }, 'maxValueBytes'],
    [{ segmentBytes: 5000 }, 'segmentBytes'],
    [{ memoryBytes: '4mb', maxValueBytes: '3mb' }, 'maxValueBytes'],
    [{ memoryBytes: '1mb', maxValueBytes: '1mb' }, 'maxValueBytes'],
    [{ expectedItemBytes: 3 }, 'expectedItemBytes'],
    [{ maintenanceIntervalMs: 0 }, 'maintenanceIntervalMs'],
    [{ hashSeeds: [1] }, 'hashSeeds'],
    [{ hashSeeds: [1.5, 2] }, 'hashSeeds'],
    [{ hashSeeds: [0, 2 ** 32] }, 'hashSeeds'],
    [{ hashSeeds: 'abc' }, 'hashSeeds'],
  ];
  for (const [options, name] of cases) {
    assert.throws(() => SharedCache.create(options), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_OPTION' && e.message.includes(name), JSON.stringify(options));
  }
});

test('hashSeeds sets the seeds every thread hashes with; without it each cache draws its own', () => {
  const a = SharedCache.create({ memoryBytes: 2 << 20, maxValueBytes: 1024, hashSeeds: [7, 2 ** 32 - 1] });
  const b = SharedCache.attach(a.handle);
  const c = SharedCache.create({ memoryBytes: 2 << 20, maxValueBytes: 1024 });
  const d = SharedCache.create({ memoryBytes: 2 << 20, maxValueBytes: 1024 });
  try {
    assert.deepEqual([a.table.v.seedA, a.table.v.seedB], [7, -1]);
    assert.deepEqual([b.table.v.seedA, b.table.v.seedB], [7, -1]);
    assert.notDeepEqual([c.table.v.seedA, c.table.v.seedB], [d.table.v.seedA, d.table.v.seedB]);
    a.set('k', 'v');
    assert.equal(b.get('k'), 'v');
  } finally {
    b.close();
    a.close();
    c.close();
    d.close();
  }
});

test('the buffer never exceeds memoryBytes, for many sizes', () => {
  for (const memoryBytes of [1 << 20, 3_000_000, 64 << 20]) {
    const c = SharedCache.create({ memoryBytes, maxValueBytes: 1024 });
    assert.ok(c.handle.buffer.byteLength <= memoryBytes);
    assert.ok(c.stats().segments.total >= 4);
    c.close();
  }
});

test('writing 4× the memory in unique keys stays within the limit and keeps the most recent keys', () => {
  const c = SharedCache.create({ memoryBytes: '4mb', maxValueBytes: 1024 });
  const value = 'v'.repeat(100);
  let written = 0;
  let i = 0;
  while (written < 4 * 4 * 1024 * 1024) {
    c.set(`unique:${i++}`, value);
    written += 20 + 16 + 100;
    if (i % 5000 === 0) c.runMaintenance();
  }
  const s = c.stats();
  assert.ok(s.memoryUsedBytes <= s.memoryLimitBytes, `${s.memoryUsedBytes} ≤ ${s.memoryLimitBytes}`);
  assert.ok(s.evictions > 0 && s.evictedSegments > 0);
  assert.ok(s.items > 0 && s.items < i);
  let recent = 0;
  for (let k = i - 2000; k < i; k++) if (c.get(`unique:${k}`) === value) recent++;
  assert.equal(recent, 2000, 'all of the 2000 most recent keys are readable');
  c.close();
});

test('stats count hits, misses, sets and deletes', () => {
  const c = SharedCache.create({ memoryBytes: '1mb', maxValueBytes: 1024 });
  c.set('a', '1');
  c.get('a');
  c.get('nope');
  c.delete('a');
  const s = c.stats();
  assert.deepEqual([s.sets, s.hits, s.misses, s.deletes, s.items], [1, 1, 1, 1, 0]);
  assert.equal(s.threads.length, 1);
  c.close();
});

test('a closed cache refuses use; attach refuses a bad handle; owner-only methods are owner-only', () => {
  const c = SharedCache.create({ memoryBytes: '1mb', maxValueBytes: 1024 });
  const other = SharedCache.attach(c.handle);
  assert.throws(() => other.repairThread(1), { code: 'SABCACHE_ERR_NOT_OWNER' });
  other.close();
  c.close();
  assert.throws(() => c.get('a'), { code: 'SABCACHE_ERR_CLOSED' });
  assert.throws(() => SharedCache.attach({ kind: 'sabcache', buffer: new SharedArrayBuffer(4096) }), { code: 'SABCACHE_ERR_BAD_HANDLE' });
  assert.throws(() => SharedCache.attach({} as never), { code: 'SABCACHE_ERR_BAD_HANDLE' });
});

test('at most 64 threads attach at once', () => {
  const c = SharedCache.create({ memoryBytes: '1mb', maxValueBytes: 1024 });
  const attached = Array.from({ length: 63 }, () => SharedCache.attach(c.handle));
  assert.throws(() => SharedCache.attach(c.handle), { code: 'SABCACHE_ERR_TOO_MANY_THREADS' });
  attached.pop()!.close();
  SharedCache.attach(c.handle).close();
  for (const a of attached) a.close();
  c.close();
});

test('a piscina pool whose tasks share one cache', async () => {
  const cache = SharedCache.create({ memoryBytes: '8mb', maxValueBytes: '64kb' });
  const pool = new Piscina({
    filename: new URL('./fixtures/piscina-task.mjs', import.meta.url).href,
    workerData: { cache: cache.handle },
    minThreads: 2,
    maxThreads: 2,
  });
  const threadIds: number[] = [];
  pool.on('workerCreate', (w: { id: number }) => threadIds.push(w.id)); // piscina's worker id is its threadId
  // Tasks in any pool thread write; the owner and every other task see the writes.
  await Promise.all(Array.from({ length: 40 }, (_, i) => pool.run({ op: 'set', key: `job:${i}`, value: `result ${i}` })));
  for (let i = 0; i < 40; i++) assert.equal(cache.get(`job:${i}`), `result ${i}`);
  cache.set('from-owner', 'hello pool');
  const seen = await Promise.all(Array.from({ length: 10 }, () => pool.run({ op: 'get', key: 'from-owner' })));
  assert.deepEqual(new Set(seen), new Set(['hello pool']));
  const writers = new Set(await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run({ op: 'set', key: `t:${i}`, value: 'x' }))));
  assert.ok(writers.size >= 1);
  await pool.destroy();
  // Pool threads were terminated, not closed: give their thread blocks back.
  for (const id of threadIds) cache.repairThread(id);
  assert.equal(cache.stats().threads.filter((t) => t.attached).length, 1);
  cache.close();
});

test('unknown option names are refused with SABCACHE_ERR_BAD_OPTION, naming the nearest valid one', () => {
  const refused = (fn: () => unknown, name: string, nearest: string) => assert.throws(fn, (e: SabcacheError) =>
    e.code === 'SABCACHE_ERR_BAD_OPTION' && e.message.includes(name) && e.message.includes(`did you mean ${nearest}?`));
  refused(() => SharedCache.create({ memory: '24mb' } as never), 'memory', 'memoryBytes');
  const cache = SharedCache.create({ memoryBytes: '4mb', maxValueBytes: '64kb' });
  try {
    refused(() => cache.set('k', 'v', { ttl: 60 } as never), 'ttl', 'ttlSeconds');
    assert.equal(cache.has('k'), false, 'nothing stored');
    refused(() => cache.scan({ limit: 5 } as never), 'limit', 'count');
    refused(() => cache.setMany([{ key: 'a', value: 'b', ttl: 5 } as never]), 'ttl', 'ttlSeconds');
    refused(() => SharedCache.attach({ ...cache.handle, memoryBytes: 1 } as never), 'memoryBytes', 'buffer');
  } finally {
    cache.close();
  }
});

test('a key with a lone surrogate is refused (SABCACHE_ERR_BAD_KEY), never stored as U+FFFD', () => {
  const cache = SharedCache.create({ memoryBytes: '4mb', maxValueBytes: '64kb' });
  try {
    assert.throws(() => cache.set('a\ud800', 'x'), (e: SabcacheError) => e.code === 'SABCACHE_ERR_BAD_KEY');
    assert.equal(cache.has('a\ufffd'), false);
    cache.set('é\ud83d\ude00', 'ok'); // a well-formed pair is fine
    assert.equal(cache.get('é\ud83d\ude00'), 'ok');
  } finally {
    cache.close();
  }
});
