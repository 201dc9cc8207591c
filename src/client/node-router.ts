/**
 * Routing over several sabcache nodes, for the clients' `nodes` option: each key goes to
 * the node ketama picks among the live ones (ketama.ts: the node twemproxy would pick), each
 * node behind its own circuit breaker (circuit-breaker.ts); a request that gets no answer is
 * retried with exponential backoff, on the node its key maps to by then (an opened circuit
 * moves the key, as twemproxy's `auto_eject_hosts` does).
 *
 * @module
 */
import { BadOptionError, ConnectionError, SabcacheError } from '../errors.ts';
import { CircuitBreaker, type CircuitOptions } from './circuit-breaker.ts';
import { type KeyHash, KetamaRing, type Md5 } from './ketama.ts';

/** A node: its name on the ring (twemproxy's server name) and its URL. */
export interface ClusterNode {
  /** The name twemproxy's config gives it (ketama hashes the name). @default the URL's host:port */
  name?: string;
  url: string;
  /** @default 1 */
  weight?: number;
}

/** Options of the `nodes` routing (twemproxy's names in brackets where it has them). */
export interface RoutingOptions extends CircuitOptions {
  /** Hash tag, two characters (`{}`): only the part between them is hashed [hash_tag]. @default none */
  hashTag?: string;
  /** The key hash, as twemproxy's config names it [hash]. @default 'md5' */
  hash?: KeyHash;
  /** Retries after a request that got no answer (not for incr/decr, which may have been applied). @default 2 */
  retries?: number;
  /** Wait before the first retry, ms; doubled each time, with ±50% jitter. @default 50 */
  backoffMs?: number;
  /** MD5, where node:crypto is missing (browsers). */
  md5?: Md5;
}

/** A node with its client and breaker. */
export interface RoutedNode<C> {
  name: string;
  url: string;
  client: C;
  breaker: CircuitBreaker;
}

/** Whether `e` means the node did not answer (a connection failure or a timeout). */
export function noAnswer(e: unknown): boolean {
  return e instanceof SabcacheError && (e.code === 'SABCACHE_ERR_CONNECTION' || e.code === 'SABCACHE_ERR_TIMEOUT');
}

/** Routes keys to the clients of several nodes. */
export class NodeRouter<C> {
  readonly nodes: RoutedNode<C>[];
  private ring: KetamaRing | null = null;
  /** The live nodes' indices the ring was built over, as a string ('' before any). */
  private ringOf = '';
  private readonly retries: number;
  private readonly backoffMs: number;
  /** Each node's ketama weight. */
  private readonly weights: number[];

  /**
   * @param nodes the nodes, in the order twemproxy's config lists them
   * @param makeClient a client of one node
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for no node, two nodes of one name, or a bad option.
   */
  constructor(nodes: readonly (string | ClusterNode)[], makeClient: (url: string) => C, private readonly options: RoutingOptions = {}) {
    if (nodes.length === 0) throw new BadOptionError('nodes', 'give at least one node URL');
    this.nodes = nodes.map((n) => {
      const node = typeof n === 'string' ? { url: n } : n;
      const name = node.name ?? new URL(node.url).host;
      return { name, url: node.url, client: makeClient(node.url), breaker: new CircuitBreaker(options) };
    });
    const names = new Set(this.nodes.map((n) => n.name));
    if (names.size !== this.nodes.length) throw new BadOptionError('nodes', 'two nodes have the same name');
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 50;
    if (!(Number.isInteger(this.retries) && this.retries >= 0)) throw new BadOptionError('retries', 'a whole number ≥ 0');
    this.weights = nodes.map((n) => (typeof n === 'string' ? 1 : n.weight ?? 1));
  }

  /** The node `key` goes to now (among the nodes whose circuit is not open); undefined when every circuit is open. */
  nodeFor(key: string): RoutedNode<C> | undefined {
    const live: number[] = [];
    for (let i = 0; i < this.nodes.length; i++) if (this.nodes[i].breaker.live) live.push(i);
    if (live.length === 0) return undefined;
    const sig = live.join(',');
    if (sig !== this.ringOf || this.ring === null) {
      // Rebuilt over the live nodes only, as twemproxy rebuilds its continuum on an ejection.
      this.ring = new KetamaRing(live.map((i) => ({ name: this.nodes[i].name, weight: this.weights[i] })), { hashTag: this.options.hashTag, hash: this.options.hash, md5: this.options.md5 });
      this.ringOf = sig;
    }
    return this.nodes[live[this.ring.nodeOf(key)]];
  }

  /**
   * Runs `op` on the client of `key`'s node. A node that does not answer counts a failure
   * on its breaker; the request is then retried (`retries` times, after a backoff) when
   * `idempotent`, on whichever node the key maps to by then.
   * @throws ConnectionError (`SABCACHE_ERR_CONNECTION`) when every circuit is open; what the
   *   last try threw otherwise.
   */
  async run<T>(key: string, op: (client: C) => Promise<T>, idempotent = true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const node = this.nodeFor(key);
      if (node === undefined) throw new ConnectionError('every node is unreachable (every circuit is open)');
      if (!node.breaker.allow()) {
        // Half-open, its probe under way: wait and look again.
        if (attempt >= this.retries) throw new ConnectionError(`node ${node.name} is being probed after failures; try again`);
        await this.backoff(attempt);
        continue;
      }
      try {
        const result = await op(node.client);
        node.breaker.success();
        return result;
      } catch (e) {
        if (!noAnswer(e)) {
          node.breaker.success(); // it answered, with an error
          throw e;
        }
        node.breaker.failure();
        if (!idempotent || attempt >= this.retries) throw e;
        await this.backoff(attempt);
      }
    }
  }

  /**
   * One page of a walk through every node, one after the other: `cursor` is
   * `{node}:{cursor}` (or `0` to start), `page` reads one node's page.
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for a cursor scan did not return.
   */
  async scan(cursor: string, page: (client: C, cursor: string) => Promise<{ keys: string[]; cursor: string }>): Promise<{ keys: string[]; cursor: string }> {
    const m = /^(\d+):(\d+)$/.exec(cursor) ?? (cursor === '0' ? ['', '0', '0'] : null);
    if (m === null || Number(m[1]) >= this.nodes.length) throw new BadOptionError('cursor', 'a cursor of several nodes is {node}:{cursor}, as scan returned it');
    const at = Number(m[1]);
    const p = await page(this.nodes[at].client, m[2]);
    return { keys: p.keys, cursor: p.cursor !== '0' ? `${at}:${p.cursor}` : at + 1 < this.nodes.length ? `${at + 1}:0` : '0' };
  }

  private backoff(attempt: number): Promise<void> {
    const ms = this.backoffMs * 2 ** attempt * (0.5 + Math.random());
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
