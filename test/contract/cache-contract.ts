/**
 * One set of cases run unchanged against every interface to the cache (in-process API,
 * HTTP API): same operations, same expected results (after undici's cache-store tests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

/** The operations every interface offers, as promises. */
export interface CacheClient {
  get(key: string): Promise<string | undefined>;
  getBytes(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: string | Uint8Array, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
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
    await c.set(k, 'brief', 1);
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
    assert.equal(await c.errorCode(() => c.set(k, 'x', -1)), 'SABCACHE_ERR_BAD_TTL');
    assert.equal(await c.errorCode(() => c.set('k'.repeat(2000), 'x')), 'SABCACHE_ERR_KEY_TOO_LARGE');
    assert.equal(await c.errorCode(() => c.set(k, new Uint8Array(70_000))), 'SABCACHE_ERR_VALUE_TOO_LARGE');
    assert.equal(await c.get(k), 'kept');
  });
}
