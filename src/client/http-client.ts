/**
 * A typed, promise-based client for sabcache's HTTP API (docs/http-api.md). It uses the
 * platform's `fetch`, so it runs in Node 20 and in browsers.
 *
 * @module
 */
import { BadOptionError, ConnectionError, errorFromCode, SabcacheError, TimeoutError } from '../errors.ts';
import { type ClientEntry, EntryClient } from './entry-client.ts';
import { type ClusterNode, NodeRouter, type RoutingOptions } from './node-router.ts';

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** The data port's base URL, e.g. `http://127.0.0.1:7070` (with {@link nodes}: none). */
  url?: string;
  /**
   * Several nodes instead of one `url`: each key goes to its node by ketama, as twemproxy
   * sends it (node-router.ts; name each node as twemproxy's config does), with retries and a
   * circuit breaker per node. Batches are split by node; `scan` walks the nodes one after
   * the other.
   */
  nodes?: readonly (string | ClusterNode)[];
  /** Routing over {@link nodes}: hash tag, retries, backoff, breaker limits (node-router.ts). */
  routing?: RoutingOptions;
  /** A fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout, in milliseconds (0 = none). @default 10000 */
  timeoutMs?: number;
  /** A signed token (server's `--token-secret`), sent as `Authorization: Bearer`. @default none */
  token?: string;
  /** A user of the server's `--users-file`, sent with {@link password} as `Authorization: Basic`. @default none */
  username?: string;
  /** The password of {@link username}. */
  password?: string;
}

/** Conditions and TTL of {@link HttpClient.set} (as the in-process `SetOptions`). */
export interface ClientSetOptions {
  /** Time to live, in whole seconds; 0 or absent = no expiry. */
  ttlSeconds?: number;
  /** Store only if the current version is this one (CAS). */
  ifVersion?: string;
  /** Store only if absent (NX). */
  ifAbsent?: boolean;
  /** Store only if present (XX). */
  ifPresent?: boolean;
}

export type { ClientEntry };


/**
 * HTTP client. Every method rejects with a {@link SabcacheError} carrying the server's code
 * (`SABCACHE_ERR_…`), or `SABCACHE_ERR_CONNECTION` / `SABCACHE_ERR_TIMEOUT` when no answer came.
 */
export class HttpClient extends EntryClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  /** The Authorization header of every request, or '' for none. */
  private readonly authorization: string;
  /** With `nodes`: the router over one client per node (node-router.ts). */
  readonly router: NodeRouter<HttpClient> | undefined;

  /** @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for both a token and a user, a user without a password, or neither or both of `url` and `nodes`. */
  constructor(options: HttpClientOptions | string) {
    super();
    const o: HttpClientOptions = typeof options === 'string' ? { url: options } : options;
    if ((o.url === undefined) === (o.nodes === undefined)) throw new BadOptionError('url', 'give a url or nodes (one of them)');
    this.router = o.nodes === undefined ? undefined : new NodeRouter(o.nodes, (url) => new HttpClient({ ...o, url, nodes: undefined, routing: undefined }), o.routing);
    this.base = (o.url ?? '').replace(/\/+$/, '');
    this.fetchFn = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = o.timeoutMs ?? 10_000;
    if (o.token !== undefined && o.username !== undefined) throw new BadOptionError('token', 'give a token or a username, not both');
    if ((o.username === undefined) !== (o.password === undefined)) throw new BadOptionError(o.username === undefined ? 'password' : 'username', 'username and password go together');
    this.authorization = o.token !== undefined ? `Bearer ${o.token}` : o.username !== undefined ? `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${o.username}:${o.password}`)))}` : '';
  }

  private key(key: string): string {
    return `${this.base}/v1/kv/${encodeURIComponent(key)}`;
  }

  private async call(url: string, init: RequestInit = {}): Promise<Response> {
    if (this.authorization !== '') init = { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: this.authorization } };
    try {
      return await this.fetchFn(url, this.timeoutMs > 0 ? { ...init, signal: AbortSignal.timeout(this.timeoutMs) } : init);
    } catch (e) {
      const timeout = (e as Error).name === 'TimeoutError';
      const message = `${init.method ?? 'GET'} ${url}: ${(e as Error).message}`;
      throw timeout ? new TimeoutError(message) : new ConnectionError(message);
    }
  }

  /** Throws the server's error for a failed answer. */
  private async fail(r: Response): Promise<never> {
    let code: string = 'SABCACHE_ERR_HTTP';
    let message = `HTTP ${r.status}`;
    try {
      const body = (await r.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch { /* not JSON */ }
    throw errorFromCode(code, message);
  }

  /** The value with its version and TTL, or undefined. */
  async getEntry(key: string): Promise<ClientEntry | undefined> {
    if (this.router) return this.router.run(key, (c) => c.getEntry(key));
    const r = await this.call(this.key(key));
    if (r.status === 404) return (await r.body?.cancel(), undefined);
    if (r.status !== 200) return this.fail(r);
    const ttl = r.headers.get('sabcache-ttl');
    return { value: new Uint8Array(await r.arrayBuffer()), version: r.headers.get('etag')!.slice(1, -1), ttlSeconds: ttl === null ? -1 : Number(ttl) };
  }

  /** Whether the key is present. */
  async has(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.has(key));
    const r = await this.call(this.key(key), { method: 'HEAD' });
    if (r.status === 404) return false;
    if (r.status !== 200) return this.fail(r);
    return true;
  }

  /** Stores a value; the new version, or undefined when a condition did not hold. */
  async set(key: string, value: string | Uint8Array, options: ClientSetOptions = {}): Promise<string | undefined> {
    if (this.router) return this.router.run(key, (c) => c.set(key, value, options));
    const headers: Record<string, string> = {};
    if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
    if (options.ifPresent) headers['if-match'] = '*';
    if (options.ifAbsent) headers['if-none-match'] = '*';
    const query = options.ttlSeconds ? `?ttl=${options.ttlSeconds}` : '';
    const r = await this.call(this.key(key) + query, { method: 'PUT', body: value as BodyInit, headers });
    if (r.status === 412) return (await r.body?.cancel(), undefined);
    if (r.status !== 204) return this.fail(r);
    return r.headers.get('etag')!.slice(1, -1);
  }

  /** Removes a key; whether it was present. */
  async delete(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.delete(key));
    const r = await this.call(this.key(key), { method: 'DELETE' });
    if (r.status === 404) return (await r.body?.cancel(), false);
    if (r.status !== 204) return this.fail(r);
    return true;
  }

  /** Adds `by` (default 1) to the int64 under the key; the result (bigint beyond 2^53). */
  async incr(key: string, by: number | bigint = 1): Promise<number | bigint> {
    // Not retried over several nodes: a request that got no answer may have been applied.
    if (this.router) return this.router.run(key, (c) => c.incr(key, by), false);
    const r = await this.call(`${this.key(key)}/incr?by=${by}`, { method: 'POST' });
    if (r.status !== 200) return this.fail(r);
    const text = await r.text();
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }

  /** Subtracts `by` (default 1); as {@link HttpClient.incr}. */
  decr(key: string, by: number | bigint = 1): Promise<number | bigint> {
    return this.incr(key, -by as number | bigint);
  }

  private async flag(url: string, method = 'POST'): Promise<boolean> {
    const r = await this.call(url, { method });
    if (r.status === 404) return (await r.body?.cancel(), false);
    if (r.status !== 204) return this.fail(r);
    return true;
  }

  /** New TTL in seconds (0 deletes, as Redis EXPIRE); whether the key was present. */
  expire(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.expire(key, ttlSeconds));
    return this.flag(`${this.key(key)}/expire?ttl=${ttlSeconds}`);
  }

  /** Removes the TTL; whether the key was present. */
  persist(key: string): Promise<boolean> {
    if (this.router) return this.router.run(key, (c) => c.persist(key));
    return this.flag(`${this.key(key)}/persist`);
  }

  /** Seconds left, -1 if it never expires, -2 if absent. */
  async ttl(key: string): Promise<number> {
    if (this.router) return this.router.run(key, (c) => c.ttl(key));
    const r = await this.call(this.key(key), { method: 'HEAD' });
    if (r.status === 404) return -2;
    if (r.status !== 200) return this.fail(r);
    const t = r.headers.get('sabcache-ttl');
    return t === null ? -1 : Number(t);
  }

  /** Values of up to 1000 keys (UTF-8), undefined where absent. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    const router = this.router;
    if (router) {
      // Split by node, one batch each, in parallel; answers put back in the keys' order.
      const out: (string | undefined)[] = new Array(keys.length);
      await Promise.all([...this.byNode(keys.map((k, i) => [k, i] as const))].map(async ([, items]) => {
        const values = await router.run(items[0][0], (c) => c.getMany(items.map(([k]) => k)));
        items.forEach(([, i], j) => { out[i] = values[j]; });
      }));
      return out;
    }
    const r = await this.call(`${this.base}/v1/mget`, { method: 'POST', body: JSON.stringify({ keys }), headers: { 'content-type': 'application/json' } });
    if (r.status !== 200) return this.fail(r);
    return ((await r.json()) as { values: (string | null)[] }).values.map((v) => v ?? undefined);
  }

  /** Stores up to 1000 entries (each atomic on its own); their versions. */
  async setMany(entries: readonly { key: string; value: string; ttlSeconds?: number }[]): Promise<string[]> {
    const router = this.router;
    if (router) {
      const out: string[] = new Array(entries.length);
      await Promise.all([...this.byNode(entries.map((e, i) => [e.key, i] as const))].map(async ([, items]) => {
        const versions = await router.run(items[0][0], (c) => c.setMany(items.map(([, i]) => entries[i])));
        items.forEach(([, i], j) => { out[i] = versions[j]; });
      }));
      return out;
    }
    const body = JSON.stringify({ entries: entries.map((e) => ({ key: e.key, value: e.value, ttl: e.ttlSeconds })) });
    const r = await this.call(`${this.base}/v1/mset`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    if (r.status !== 200) return this.fail(r);
    return ((await r.json()) as { versions: string[] }).versions;
  }

  /** `items` ([key, index]) grouped by the node each key goes to now. */
  private byNode(items: readonly (readonly [string, number])[]): Map<string, (readonly [string, number])[]> {
    const groups = new Map<string, (readonly [string, number])[]>();
    for (const item of items) {
      const name = this.router!.nodeFor(item[0])?.name ?? '';
      let g = groups.get(name);
      if (g === undefined) groups.set(name, (g = []));
      g.push(item);
    }
    return groups;
  }

  /**
   * One page of keys (see the in-process `scan` for the guarantee). With `nodes`, the walk
   * goes through the nodes one after the other; its cursor is `{node}:{cursor}`.
   */
  async scan(options: { prefix?: string; cursor?: string; count?: number } = {}): Promise<{ keys: string[]; cursor: string }> {
    if (this.router) return this.router.scan(options.cursor ?? '0', (c, cursor) => c.scan({ ...options, cursor }));
    const q = new URLSearchParams();
    if (options.prefix) q.set('prefix', options.prefix);
    q.set('cursor', options.cursor ?? '0');
    if (options.count !== undefined) q.set('count', String(options.count));
    const r = await this.call(`${this.base}/v1/keys?${q}`);
    if (r.status !== 200) return this.fail(r);
    return (await r.json()) as { keys: string[]; cursor: string };
  }
}
