/**
 * Ketama consistent hashing exactly as twemproxy (nutcracker) builds it with
 * `distribution: ketama` and `hash: md5` or `hash: fnv1a_64`, so that a client and a
 * twemproxy in front of the same nodes send each key to the same node (twemproxy's
 * `src/hashkit/nc_ketama.c`, `nc_md5.c` and `nc_fnv.c`; libketama's scheme, last.fm 2007):
 *
 * - each node of weight w gets `floor(w / W × 160 / 4 × N + 1e-10) × 4` points (160 with
 *   equal weights), 4 from each MD5 digest of `"{name}-{i}"` (its 4 little-endian words);
 * - a key's hash is the first little-endian word of its MD5 (`md5`, the default: libketama's),
 *   or FNV-1a as twemproxy computes its "fnv1a_64": in 32-bit arithmetic with the 64-bit
 *   constants' low words (offset 0x84222325, prime 0x1b3), which spreads sequential keys
 *   unevenly (3,000 `key:N` on 3 nodes: 47%, 27%, 26%); with a hash tag (`{}`), only the
 *   bytes between the first `{` and the next `}` are hashed;
 * - the key goes to the first point at or after its hash, wrapping round.
 *
 * @module
 */
import { BadOptionError } from '../errors.ts';

/** A node on the ring: its name (twemproxy's server name) and weight. */
export interface KetamaNode {
  name: string;
  /** @default 1 */
  weight?: number;
}

/** MD5 of bytes, 16 bytes out. */
export type Md5 = (data: Uint8Array) => Uint8Array;

/** Node's MD5 (node:crypto), or undefined where there is none (browsers). */
function nodeMd5(): Md5 | undefined {
  const crypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:crypto') as typeof import('node:crypto') | undefined;
  return crypto === undefined ? undefined : (data) => crypto.createHash('md5').update(data).digest();
}

const encoder = new TextEncoder();

/** twemproxy's `hash_fnv1a_64` (32-bit arithmetic, see the module comment) of `bytes`. */
export function fnv1a64Twemproxy(bytes: Uint8Array): number {
  let h = 0x84222325;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x1b3) >>> 0;
  return h >>> 0;
}

/** The part of `key` that is hashed with hash tag `tag` (two characters, e.g. `{}`), as twemproxy takes it. */
export function hashedPart(key: Uint8Array, tag: string): Uint8Array {
  if (tag.length !== 2) return key;
  const open = key.indexOf(tag.charCodeAt(0));
  if (open < 0) return key;
  const close = key.indexOf(tag.charCodeAt(1), open + 1);
  // As twemproxy: a tag with nothing after its opening character hashes the whole key.
  return close < 0 ? key : key.subarray(open + 1, close);
}

/** The key hashes twemproxy's ketama can use here (its `hash`). */
export type KeyHash = 'md5' | 'fnv1a_64';

/** Options of {@link KetamaRing} (twemproxy's names). */
export interface KetamaOptions {
  /** twemproxy's `hash_tag` (two characters), or '' for none. @default '' */
  hashTag?: string;
  /** twemproxy's `hash`. @default 'md5' */
  hash?: KeyHash;
  /** MD5 of bytes; default node:crypto's (pass one in a browser). */
  md5?: Md5;
}

/** A ketama continuum over some nodes. */
export class KetamaRing {
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;
  private readonly hashTag: string;
  private readonly keyHash: (bytes: Uint8Array) => number;

  /**
   * @param nodes the live nodes, in the order twemproxy's config lists them
   * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for no node, a bad weight or hash, or no MD5.
   */
  constructor(readonly nodes: readonly KetamaNode[], options: KetamaOptions = {}) {
    if (nodes.length === 0) throw new BadOptionError('nodes', 'a ring needs at least one node');
    const md5 = options.md5 ?? nodeMd5();
    if (md5 === undefined) throw new BadOptionError('md5', 'no MD5 here (a browser): pass one to route by ketama');
    this.hashTag = options.hashTag ?? '';
    const hash = options.hash ?? 'md5';
    if (hash !== 'md5' && hash !== 'fnv1a_64') throw new BadOptionError('hash', `md5 or fnv1a_64 (twemproxy's names), got ${JSON.stringify(hash)}`);
    this.keyHash = hash === 'fnv1a_64' ? fnv1a64Twemproxy : (bytes) => { const d = md5(bytes); return (d[3] << 24 | d[2] << 16 | d[1] << 8 | d[0]) >>> 0; };
    const total = nodes.reduce((sum, n) => sum + (n.weight ?? 1), 0);
    const pts: [number, number][] = [];
    nodes.forEach((node, index) => {
      const w = node.weight ?? 1;
      if (!(Number.isInteger(w) && w > 0)) throw new BadOptionError('weight', `node ${node.name}: a weight is a positive whole number, got ${w}`);
      // twemproxy computes this in single precision (floorf of a float product).
      const perServer = Math.floor(Math.fround(Math.fround(Math.fround(Math.fround(w) / Math.fround(total)) * 160 / 4) * nodes.length + 0.0000000001)) * 4;
      for (let i = 0; i < perServer / 4; i++) {
        const d = md5(encoder.encode(`${node.name}-${i}`));
        for (let a = 0; a < 4; a++) pts.push([(d[3 + a * 4] << 24 | d[2 + a * 4] << 16 | d[1 + a * 4] << 8 | d[a * 4]) >>> 0, index]);
      }
    });
    pts.sort((x, y) => x[0] - y[0]);
    this.points = Uint32Array.from(pts, (p) => p[0]);
    this.owners = Int32Array.from(pts, (p) => p[1]);
  }

  /** The index (in `nodes`) of the node that holds `key`. */
  nodeOf(key: string | Uint8Array): number {
    const bytes = typeof key === 'string' ? encoder.encode(key) : key;
    const h = this.keyHash(hashedPart(bytes, this.hashTag));
    // The first point at or after h (twemproxy's ketama_dispatch), wrapping round.
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo];
  }
}
