/**
 * One set of cases run unchanged against every interface to the cache (in-process API,
 * HTTP, WebSocket, RESP): same operations, same expected results (after undici's
 * cache-store tests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

/** Options of a conditional set, as every interface takes them. */
export interface ContractSetOptions {
  ttlSeconds?: number;
  ifVersion?: string;
  ifAbsent?: boolean;
  ifPresent?: boolean;
}

/** The operations every interface offers, as promises. */
export interface CacheClient {
  /**
   * Whether the interface has versions (ETags, CAS); false for RESP (Redis has no
   * compare-and-swap on a version): its version cases are skipped. Default true.
   */
  versions?: boolean;
  get(key: string): Promise<string | undefined>;
  getBytes(key: string): Promise<Uint8Array | undefined>;
  /** Resolves with the new version, or undefined when a condition failed. */
  set(key: string, value: string | Uint8Array, options?: ContractSetOptions): Promise<string | undefined>;
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** The value's version, or undefined when absent. */
  version(key: string): Promise<string | undefined>;
  incr(key: string, by?: number | bigint): Promise<number | bigint>;
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  persist(key: string): Promise<boolean>;
  ttl(key: string): Promise<number>;
  getMany(keys: string[]): Promise<(string | undefined)[]>;
  setMany(entries: { key: string; value: string; ttlSeconds?: number }[]): Promise<void>;
  scan(options: { prefix?: string; cursor?: string; count?: number }): Promise<{ keys: string[]; cursor: string }>;
  /** The error code a failing call produced (SABCACHE_ERR_…). */
  errorCode(call: () => Promise<unknown>): Promise<string>;
}

export function cacheContract(name: string, client: () => CacheClient): void {
  const unique = () => `${name}:${Math.random().toString(36).slice(2)}`;

  test(`[${name}] set then get returns the value; absent keys are undefined`, async () => {
    const c = client();
    const k = unique();
    assert.equal(await c.get(k), undefined);
    assert.equal(await c.has(k), false);
    await c.set(k, 'hello');
    assert.equal(await c.get(k), 'hello');
    assert.equal(await c.has(k), true);
  });

  test(`[${name}] set replaces; delete removes once`, async () => {
    const c = client();
    const k = unique();
    await c.set(k, 'one');
    await c.set(k, 'two');
    assert.equal(await c.get(k), 'two');
    assert.equal(await c.delete(k), true);
    assert.equal(await c.delete(k), false);
    assert.equal(await c.get(k), undefined);
  });

  test(`[${name}] binary values and unicode keys round-trip`, async () => {
    const c = client();
    const k = `${unique()}/ключ ✓ ?&=%`;
    const bytes = new Uint8Array(300).map((_, i) => (i * 37) & 255);
    await c.set(k, bytes);
    assert.deepEqual(await c.getBytes(k), bytes);
    await c.set(k, '');
    assert.equal(await c.get(k), '');
  });

  test(`[${name}] a TTL keeps the key at least that long, then it is gone`, async () => {
    const c = client();
    const k = unique();
    await c.set(k, 'brief', { ttlSeconds: 1 });
    await c.set(`${k}:forever`, 'stays');
    assert.equal(await c.get(k), 'brief');
    await new Promise((r) => setTimeout(r, 2200));
    assert.equal(await c.get(k), undefined);
    assert.equal(await c.get(`${k}:forever`), 'stays');
  });

  test(`[${name}] bad input gets its error code and changes nothing`, async () => {
    const c = client();
    const k = unique();
    await c.set(k, 'kept');
    assert.equal(await c.errorCode(() => c.set(k, 'x', { ttlSeconds: -1 })), 'SABCACHE_ERR_BAD_TTL');
    assert.equal(await c.errorCode(() => c.set('k'.repeat(2000), 'x')), 'SABCACHE_ERR_KEY_TOO_LARGE');
    assert.equal(await c.errorCode(() => c.set(k, new Uint8Array(70_000))), 'SABCACHE_ERR_VALUE_TOO_LARGE');
    assert.equal(await c.get(k), 'kept');
  });

  test(`[${name}] compare-and-swap: a write succeeds only against the current version`, async (t) => {
    const c = client();
    if (c.versions === false) return t.skip(`${name} has no versions`);
    const k = unique();
    const v1 = await c.set(k, 'one');
    assert.ok(v1);
    assert.equal(await c.version(k), v1);
    const v2 = await c.set(k, 'two', { ifVersion: v1 });
    assert.ok(v2 && v2 !== v1);
    assert.equal(await c.set(k, 'stale', { ifVersion: v1 }), undefined, 'the old version no longer matches');
    assert.equal(await c.set(k, 'junk', { ifVersion: 'not-a-version' }), undefined);
    assert.equal(await c.get(k), 'two');
    assert.equal(await c.set(unique(), 'x', { ifVersion: v2 }), undefined, 'an absent key matches no version');
  });

  test(`[${name}] add-only (NX) and replace-only (XX)`, async () => {
    const c = client();
    const k = unique();
    assert.equal(await c.set(k, 'x', { ifPresent: true }), undefined);
    assert.equal(await c.get(k), undefined);
    assert.ok(await c.set(k, 'first', { ifAbsent: true }));
    assert.equal(await c.set(k, 'second', { ifAbsent: true }), undefined);
    assert.equal(await c.get(k), 'first');
    assert.ok(await c.set(k, 'third', { ifPresent: true }));
    assert.equal(await c.get(k), 'third');
  });

  test(`[${name}] incr and decr with 64-bit signed semantics`, async () => {
    const c = client();
    const k = unique();
    assert.equal(await c.incr(k), 1);
    assert.equal(await c.incr(k, 41), 42);
    assert.equal(await c.incr(k, -50), -8);
    assert.equal(await c.get(k), '-8');
    await c.set(k, '9223372036854775806');
    assert.equal(await c.incr(k), 9223372036854775807n);
    assert.equal(await c.errorCode(() => c.incr(k)), 'SABCACHE_ERR_OVERFLOW');
    assert.equal(await c.get(k), '9223372036854775807', 'an overflow changes nothing');
    await c.set(k, 'twelve');
    assert.equal(await c.errorCode(() => c.incr(k)), 'SABCACHE_ERR_NOT_INTEGER');
    for (const bad of ['', ' 1', '+1', '01', '1.5', '-0', '99999999999999999999']) {
      await c.set(k, bad);
      assert.equal(await c.errorCode(() => c.incr(k)), 'SABCACHE_ERR_NOT_INTEGER', JSON.stringify(bad));
    }
  });

  test(`[${name}] expire, persist and ttl`, async () => {
    const c = client();
    const k = unique();
    assert.equal(await c.ttl(k), -2);
    assert.equal(await c.expire(k, 10), false);
    await c.set(k, 'v');
    assert.equal(await c.ttl(k), -1);
    const version = c.versions === false ? undefined : await c.version(k);
    assert.equal(await c.expire(k, 100), true);
    const ttl = await c.ttl(k);
    assert.ok(ttl >= 99 && ttl <= 101, String(ttl));
    if (c.versions !== false) assert.equal(await c.version(k), version, 'a TTL change keeps the version');
    assert.equal(await c.persist(k), true);
    assert.equal(await c.ttl(k), -1);
    assert.equal(await c.incr(`${k}:n`), 1);
    await c.expire(`${k}:n`, 50);
    await c.incr(`${k}:n`);
    assert.ok((await c.ttl(`${k}:n`)) > 40, 'incr keeps the TTL');
    assert.equal(await c.expire(k, 0), true, 'expire 0 deletes');
    assert.equal(await c.get(k), undefined);
  });

  test(`[${name}] getMany and setMany`, async () => {
    const c = client();
    const k = unique();
    await c.setMany([{ key: `${k}:a`, value: 'A' }, { key: `${k}:b`, value: 'B', ttlSeconds: 100 }]);
    assert.deepEqual(await c.getMany([`${k}:a`, `${k}:missing`, `${k}:b`]), ['A', undefined, 'B']);
    assert.ok((await c.ttl(`${k}:b`)) > 90);
  });

  test(`[${name}] scan returns every key of a prefix exactly once`, async () => {
    const c = client();
    const prefix = `${unique()}:scan:`;
    const expected = new Set(Array.from({ length: 150 }, (_, i) => `${prefix}${i}`));
    await c.setMany([...expected].map((key) => ({ key, value: 'v' })));
    const seen: string[] = [];
    let cursor = '0';
    let pages = 0;
    do {
      const page = await c.scan({ prefix, cursor, count: 40 });
      seen.push(...page.keys);
      cursor = page.cursor;
      pages++;
    } while (cursor !== '0' && pages < 100_000);
    assert.equal(seen.length, expected.size, 'no duplicates');
    assert.deepEqual(new Set(seen), expected);
    assert.ok(pages > 1, 'paged');
    assert.equal(await c.errorCode(() => c.scan({ cursor: 'nope' })), 'SABCACHE_ERR_BAD_OPTION');
  });
}
