import type { Redis } from 'ioredis';
import type { CacheClient } from './cache-contract.ts';

/**
 * Redis's error replies as the contract's codes: what Redis answers where it has the
 * concept, and sabcache's own codes where the reply names one (`… (SABCACHE_ERR_…)`).
 */
const REPLY_CODES: [RegExp, string][] = [
  [/\((SABCACHE_ERR_[A-Z_]+)/, '$1'],
  [/^ERR invalid expire time/, 'SABCACHE_ERR_BAD_TTL'],
  [/^ERR value is not an integer/, 'SABCACHE_ERR_NOT_INTEGER'],
  [/^ERR increment or decrement would overflow/, 'SABCACHE_ERR_OVERFLOW'],
  [/^ERR Protocol error: invalid bulk length/, 'SABCACHE_ERR_VALUE_TOO_LARGE'],
  [/^ERR invalid cursor/, 'SABCACHE_ERR_BAD_OPTION'],
  [/^WRONGTYPE/, 'SABCACHE_ERR_WRONG_TYPE'],
];

const escapeGlob = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Runs the contract over the Redis protocol, with ioredis (`stringNumbers: true`, so that
 * 64-bit integers arrive whole, as text: every integer reply is read with Number() here). RESP has no versions: Redis has no compare-and-swap on a
 * value's version, so `set` resolves with `'OK'` and the version cases are skipped.
 */
export function adaptResp(c: () => Redis): CacheClient {
  const integer = (text: string | number): number | bigint => {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  };
  return {
    versions: false,
    get: async (k) => (await c().get(k)) ?? undefined,
    getBytes: async (k) => {
      const b = await c().getBuffer(k);
      return b === null ? undefined : new Uint8Array(b);
    },
    set: async (k, v, o = {}) => {
      if (o.ifVersion !== undefined) throw new Error('RESP has no versions');
      const args: (string | number)[] = [];
      if (o.ttlSeconds) args.push('EX', o.ttlSeconds);
      if (o.ifAbsent) args.push('NX');
      if (o.ifPresent) args.push('XX');
      const r = await c().call('SET', k, Buffer.from(v), ...args);
      return r === null ? undefined : String(r);
    },
    delete: async (k) => Number(await c().del(k)) === 1,
    has: async (k) => Number(await c().exists(k)) === 1,
    version: async () => {
      throw new Error('RESP has no versions');
    },
    incr: async (k, by = 1) => integer((await c().call('INCRBY', k, String(by))) as string),
    expire: async (k, s) => Number(await c().expire(k, s)) === 1,
    persist: async (k) => Number(await c().persist(k)) === 1,
    ttl: async (k) => Number(await c().ttl(k)),
    getMany: async (keys) => (await c().mget(...keys)).map((v) => v ?? undefined),
    setMany: async (entries) => {
      const p = c().pipeline();
      for (const e of entries) {
        if (e.ttlSeconds) p.set(e.key, e.value, 'EX', e.ttlSeconds);
        else p.set(e.key, e.value);
      }
      const replies = await p.exec();
      const failed = replies?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    scan: async ({ prefix, cursor = '0', count = 10 }) => {
      const args: (string | number)[] = [cursor];
      if (prefix !== undefined) args.push('MATCH', `${escapeGlob(prefix)}*`);
      args.push('COUNT', count);
      const [next, keys] = (await c().call('SCAN', ...args)) as [string, string[]];
      return { cursor: next, keys };
    },
    errorCode: async (call) => {
      try {
        await call();
      } catch (e) {
        const message = (e as Error).message;
        for (const [re, code] of REPLY_CODES) {
          const m = re.exec(message);
          if (m) return code.replace('$1', m[1] ?? '');
        }
        return message;
      }
      return 'no error';
    },
  };
}
