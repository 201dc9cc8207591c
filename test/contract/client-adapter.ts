import type { HttpClient, WsClient } from '../../src/client/index.ts';
import type { CacheClient } from './cache-contract.ts';
import { errorCode } from './error-code.ts';

/** Runs the contract against a client library object (HttpClient or WsClient). */
export function adaptClient(c: () => HttpClient | WsClient): CacheClient {
  return {
    get: (k) => c().get(k),
    getBytes: (k) => c().getBytes(k),
    set: (k, v, o) => c().set(k, v, o),
    delete: (k) => c().delete(k),
    has: (k) => c().has(k),
    version: async (k) => (await c().getEntry(k))?.version,
    incr: (k, by) => c().incr(k, by),
    expire: (k, s) => c().expire(k, s),
    persist: (k) => c().persist(k),
    ttl: (k) => c().ttl(k),
    getMany: (keys) => c().getMany(keys),
    setMany: async (entries) => { await c().setMany(entries); },
    scan: (o) => c().scan(o),
    errorCode,
  };
}
