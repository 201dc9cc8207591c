/**
 * The Redis commands sabcache answers on its RESP port, each on the command layer
 * (src/commands/), with Redis's semantics and error replies. The table is the README's
 * "Redis protocol" section; a command not in it answers `-ERR unknown command`, as Redis.
 *
 * Errors of the command layer map to Redis's replies: a bad TTL to `ERR invalid expire
 * time in '<cmd>' command`, a value that is not an integer to `ERR value is not an integer
 * or out of range`, an overflow to `ERR increment or decrement would overflow`, no memory
 * to `OOM command not allowed when used memory > 'maxmemory'.`, the others to `ERR
 * <message>`.
 *
 * @module
 */
import { EntryResult, expectString, MAX_TTL_SECONDS, remainingTtlMs, remainingTtlSeconds } from '../commands/entry.ts';
import { hashDelete, hashGet, hashGetMany, hashIncrBy, hashItems, hashSet } from '../commands/hash.ts';
import { listIndex, listLength, pop, push, range } from '../commands/list.ts';
import { getInto, getSliceInto, has, typeOf } from '../commands/read.ts';
import { randomKey, scanKeys } from '../commands/scan.ts';
import { itemCount } from '../commands/stats.ts';
import { append, getDel, getEx, incrByFloat, parseFloatText, setGet, setManyIfAbsent } from '../commands/string-rewrite.ts';
import { decr, del, expire, expireAt, flush, incr, incrSlice, persist, set, setSlice, setWith } from '../commands/write.ts';
import { SabcacheError } from '../errors.ts';
import type { RespParser } from '../protocol/resp-parser.ts';
import { globPrefix, globRegExp } from './redis-glob.ts';
import { commandNeed, refusal } from './resp-acl.ts';
import { CLASS_BATCH, CLASS_OTHER, CLASS_READ, CLASS_WRITE } from './metrics-words.ts';
import { allows } from './credentials.ts';
import { ACL, AUTH, BGSAVE, CLIENT, HELLO, infoText, PING, SAVE, SLOWLOG, SUBSCRIBE, SUBSCRIBED_CONTEXT, UNSUBSCRIBE } from './resp-connection-commands.ts';
import { type Handler, intArg, lower, NOT_INTEGER, type RespContext, SYNTAX, upper } from './resp-context.ts';
import { log } from './log.ts';

export type { RespContext, RespServerInfo, RespSession } from './resp-context.ts';

/**
 * A handler that reads its arguments where the parser left them (no Buffer per argument):
 * for the hot commands. Returns false to hand the command to the general handler instead
 * (a form it does not take, such as SET with options).
 */
type FastHandler = (c: RespContext, p: RespParser) => boolean;

/** A command: its handler and arity (Redis's: > 0 exact, < 0 at least -arity, the name included). */
interface Command {
  run: Handler;
  arity: number;
  fast?: FastHandler;
}

const found = new EntryResult();
const written = new EntryResult();
const keysOut: Uint8Array[] = [];

/** Copies the value of `key` into a bulk reply straight from shared memory; a null on a miss. */
function bulkOfKey(c: RespContext, key: Buffer): void {
  let room = 4096;
  for (;;) {
    const at = c.w.bulkStart(room);
    const n = getInto(c.cx, key, c.w.bytes, at, found);
    if (n < 0) return c.w.nil();
    if (n <= room) return c.w.bulkEnd(at, n);
    room = n;
  }
}

/** GET with the key read where it was received, the value copied straight into the reply. */
const GET_FAST: FastHandler = (c, p) => {
  const src = p.bytes;
  const start = p.argStart(1);
  const len = p.argLength(1);
  let room = 4096;
  for (let attempt = 0; ; attempt++) {
    const at = c.w.bulkStart(room);
    // A retry with more room is the same GET: counted once (a hit, and the key's frequency).
    const n = getSliceInto(c.cx, src, start, len, c.w.bytes, at, found, attempt === 0);
    if (n < 0) c.w.nil();
    else if (n > room) {
      room = n;
      continue;
    } else c.w.bulkEnd(at, n);
    return true;
  }
};

/** SET key value (no options). */
const SET_FAST: FastHandler = (c, p) => {
  if (p.argCount !== 3) return false;
  setSlice(c.cx, p.bytes, p.argStart(1), p.argLength(1), p.arg(2), 0, written);
  c.w.ok();
  return true;
};

/** MSET key value [key value …]. */
const MSET_FAST: FastHandler = (c, p) => {
  const n = p.argCount;
  if (n % 2 === 0) return false;
  for (let i = 1; i < n; i += 2) setSlice(c.cx, p.bytes, p.argStart(i), p.argLength(i), p.arg(i + 1), 0, written);
  c.w.ok();
  return true;
};

/** INCR / DECR key. */
const INCR_FAST = (by: 1 | -1): FastHandler => (c, p) => {
  c.w.integer(incrSlice(c.cx, p.bytes, p.argStart(1), p.argLength(1), by, written));
  return true;
};

/**
 * A TTL in seconds from now, to the millisecond, from SET's, SETEX's or GETEX's option
 * (`unit` 1 for seconds, 1000 for milliseconds; `absolute` for EXAT/PXAT), or null after
 * writing the error reply. 0: an absolute time already past.
 */
function ttlSeconds(c: RespContext, arg: Buffer, unit: number, absolute: boolean, cmd: string): number | null {
  const n = intArg(arg);
  if (typeof n !== 'number' || n <= 0) {
    c.w.error(`ERR invalid expire time in '${cmd}' command`);
    return null;
  }
  const ms = (n * 1000) / unit;
  const left = absolute ? ms - c.cx.now() : ms;
  if (left / 1000 > MAX_TTL_SECONDS) {
    c.w.error(`ERR invalid expire time in '${cmd}' command`);
    return null;
  }
  return Math.max(left, 0) / 1000;
}

const SET: Handler = (c, argv) => {
  let ttl = 0;
  let nx = false;
  let xx = false;
  let expired = false;
  let keepTtl = false;
  let get = false;
  let timed = false;
  for (let i = 3; i < argv.length; i++) {
    const o = upper(argv[i]);
    if (o === 'NX' && !xx) nx = true;
    else if (o === 'XX' && !nx) xx = true;
    else if (o === 'GET') get = true;
    else if (o === 'KEEPTTL' && !timed) keepTtl = true;
    else if ((o === 'EX' || o === 'PX' || o === 'EXAT' || o === 'PXAT') && i + 1 < argv.length && !timed && !keepTtl) {
      const t = ttlSeconds(c, argv[++i], o[0] === 'P' ? 1000 : 1, o.endsWith('AT'), 'set');
      if (t === null) return;
      if (t === 0) expired = true; // an absolute time already past: Redis stores nothing lasting
      ttl = t;
      timed = true;
    } else return c.w.error(SYNTAX);
  }
  if (get || keepTtl) {
    // Read-modify-write (SET … GET answers the old value; KEEPTTL keeps its expiry).
    const at = expired ? 1 : ttl === 0 ? 0 : Math.ceil(c.cx.now() + ttl * 1000);
    const r = setGet(c.cx, argv[1], argv[2], { expireAtMs: at, keepTtl, ifAbsent: nx, ifPresent: xx }, written);
    if (get) return c.w.bulk(r.old ?? null);
    return r.stored ? c.w.ok() : c.w.nil();
  }
  if (expired) {
    if ((nx && has(c.cx, argv[1])) || (xx && !has(c.cx, argv[1]))) return c.w.nil();
    del(c.cx, argv[1]);
    return c.w.ok();
  }
  if (!nx && !xx) set(c.cx, argv[1], argv[2], ttl, written);
  else if (!setWith(c.cx, argv[1], argv[2], { ttlSeconds: ttl, ifAbsent: nx, ifPresent: xx }, written)) return c.w.nil();
  c.w.ok();
};

const GETEX: Handler = (c, argv) => {
  let change: number | 'persist' | undefined;
  for (let i = 2; i < argv.length; i++) {
    const o = upper(argv[i]);
    if (o === 'PERSIST' && change === undefined) change = 'persist';
    else if ((o === 'EX' || o === 'PX' || o === 'EXAT' || o === 'PXAT') && i + 1 < argv.length && change === undefined) {
      const t = ttlSeconds(c, argv[++i], o[0] === 'P' ? 1000 : 1, o.endsWith('AT'), 'getex');
      if (t === null) return;
      change = t; // 0: an absolute time already past, which deletes
    } else return c.w.error(SYNTAX);
  }
  c.w.bulk(getEx(c.cx, argv[1], change) ?? null);
};

/** Redis's TYPE name of a stored value type. */
function redisType(c: RespContext, key: Buffer): string {
  const t = typeOf(c.cx, key);
  return t === undefined ? 'none' : t === 'list' || t === 'hash' ? t : 'string';
}

/** A list of bulk strings. */
function bulks(c: RespContext, items: readonly Uint8Array[]): void {
  c.w.array(items.length);
  for (const it of items) c.w.bulk(it);
}

/** LPOP/RPOP: one element (bulk) without a count, an array with one. */
const POP = (left: boolean): Handler => (c, argv) => {
  if (argv.length > 3) return c.w.error(`ERR wrong number of arguments for '${left ? 'lpop' : 'rpop'}' command`);
  let count = 1;
  if (argv.length === 3) {
    const n = intArg(argv[2]);
    if (typeof n !== 'number' || n < 0) return c.w.error('ERR value is out of range, must be positive');
    count = n;
  }
  const out = pop(c.cx, argv[1], left, count);
  if (argv.length === 3) return out === undefined ? c.w.nilArray() : bulks(c, out);
  c.w.bulk(out?.[0] ?? null);
};

const PUSH = (left: boolean, onlyIfPresent: boolean): Handler => (c, argv) => c.w.integer(push(c.cx, argv[1], argv.slice(2), left, onlyIfPresent));

const HASH_SET = (reply: 'count' | 'ok'): Handler => (c, argv) => {
  if (argv.length % 2 !== 0) return c.w.error(`ERR wrong number of arguments for '${reply === 'ok' ? 'hmset' : 'hset'}' command`);
  const added = hashSet(c.cx, argv[1], argv.slice(2));
  if (reply === 'ok') c.w.ok();
  else c.w.integer(added);
};

/** HGETALL / HKEYS / HVALS: `every` 1 for all items, 2 from `from` for fields (0) or values (1). */
const HASH_LIST = (from: number, every: number): Handler => (c, argv) => {
  const items = hashItems(c.cx, argv[1]) ?? [];
  const out = every === 1 ? items : items.filter((_, i) => i % 2 === from);
  if (every === 1 && c.w.protocol === 3) {
    c.w.map(items.length / 2);
    for (const it of items) c.w.bulk(it);
    return;
  }
  bulks(c, out);
};

/** MGET's answer for one key: its value, or nil when absent or not a string (as Redis). */
function bulkOfKeyOrNil(c: RespContext, key: Buffer): void {
  const mark = c.w.length;
  try {
    bulkOfKey(c, key);
  } catch (e) {
    if (!(e instanceof SabcacheError && e.code === 'SABCACHE_ERR_WRONG_TYPE')) throw e;
    c.w.truncate(mark);
    c.w.nil();
  }
}

const INCR_BY = (sign: 1 | -1, byArg: boolean): Handler => (c, argv) => {
  let by: number | bigint = 1;
  if (byArg) {
    const n = intArg(argv[2]);
    if (n === null) return c.w.error(NOT_INTEGER);
    by = n;
  }
  c.w.integer(sign === 1 ? incr(c.cx, argv[1], by, written) : decr(c.cx, argv[1], by, written));
};

const EXPIRE_IN = (unit: number, absolute: boolean, name: string): Handler => (c, argv) => {
  const n = intArg(argv[2]);
  if (typeof n !== 'number') return c.w.error(NOT_INTEGER);
  if (argv.length > 3) return c.w.error(`ERR Unsupported option ${argv[3].toString()}`);
  // To the millisecond; a time now or past (0 or less, relative) deletes, as Redis does.
  const seconds = n / unit;
  if ((absolute ? seconds - c.cx.now() / 1000 : seconds) > MAX_TTL_SECONDS) return c.w.error(`ERR invalid expire time in '${name}' command`);
  if (absolute) return c.w.integer(expireAt(c.cx, argv[1], seconds) ? 1 : 0);
  c.w.integer((seconds <= 0 ? del(c.cx, argv[1]) : expire(c.cx, argv[1], seconds)) ? 1 : 0);
};

const TTL_IN = (unit: number): Handler => (c, argv) => {
  if (!has(c.cx, argv[1], found)) return c.w.integer(-2);
  if (found.expireAt === 0) return c.w.integer(-1);
  c.w.integer(unit === 1 ? remainingTtlSeconds(found.expireAt, found.expireCode, c.cx.now) : remainingTtlMs(found.expireAt, found.expireCode, c.cx.now));
};

const SCAN: Handler = (c, argv) => {
  let count = 10;
  let match: string | undefined;
  let type: string | undefined;
  for (let i = 2; i < argv.length; i += 2) {
    const o = upper(argv[i]);
    if (i + 1 >= argv.length) return c.w.error(SYNTAX);
    if (o === 'COUNT') {
      const n = intArg(argv[i + 1]);
      if (typeof n !== 'number' || n < 1) return c.w.error(n === null ? NOT_INTEGER : SYNTAX);
      count = Math.min(n, 100_000);
    } else if (o === 'MATCH') match = argv[i + 1].toString('latin1');
    else if (o === 'TYPE') type = lower(argv[i + 1]);
    else return c.w.error(SYNTAX);
  }
  if (!/^\d{1,19}$/.test(argv[1].toString('latin1'))) return c.w.error('ERR invalid cursor');
  keysOut.length = 0;
  const prefix = match ? Buffer.from(globPrefix(match), 'latin1') : null;
  const next = scanKeys(c.cx, argv[1].toString('latin1'), count, prefix && prefix.length ? prefix : null, keysOut);
  const re = match ? globRegExp(match) : null;
  let keys = re ? keysOut.filter((k) => re.test(Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1'))) : keysOut;
  if (type !== undefined) keys = keys.filter((k) => redisType(c, Buffer.from(k.buffer, k.byteOffset, k.length)) === type);
  c.w.array(2);
  c.w.bulk(next);
  c.w.array(keys.length);
  for (const k of keys) c.w.bulk(k);
};

const KEYS: Handler = (c, argv) => {
  const glob = argv[1].toString('latin1');
  const re = globRegExp(glob);
  const prefix = Buffer.from(globPrefix(glob), 'latin1');
  const all: Uint8Array[] = [];
  let cursor = '0';
  do {
    keysOut.length = 0;
    cursor = scanKeys(c.cx, cursor, 10_000, prefix.length ? prefix : null, keysOut);
    for (const k of keysOut) if (re.test(Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1'))) all.push(k);
  } while (cursor !== '0');
  c.w.array(all.length);
  for (const k of all) c.w.bulk(k);
};

const COMMAND: Handler = (c, argv) => {
  const sub = argv.length > 1 ? upper(argv[1]) : '';
  if (sub === 'COUNT') return c.w.integer(COMMANDS.size);
  if (sub === 'DOCS') return c.w.map(0); // no docs: clients and redis-cli work without them
  if (sub === 'INFO' || sub === '') {
    const names = sub === '' ? [...COMMANDS.keys()] : argv.slice(2).map(lower);
    c.w.array(names.length);
    for (const n of names) {
      const cmd = COMMANDS.get(n);
      if (!cmd) { c.w.nilArray(); continue; }
      // name, arity, flags, first key, last key, step (Redis 7's first six fields)
      c.w.array(6);
      c.w.bulk(n);
      c.w.integer(cmd.arity);
      c.w.set(0);
      const keyed = !NO_KEYS.has(n);
      c.w.integer(keyed ? 1 : 0);
      c.w.integer(keyed ? (n === 'mget' || n === 'del' || n === 'exists' || n === 'unlink' ? -1 : n === 'mset' ? -1 : 1) : 0);
      c.w.integer(keyed ? (n === 'mset' ? 2 : 1) : 0);
    }
    return;
  }
  c.w.error(`ERR unknown subcommand '${argv[1].toString()}'. Try COMMAND HELP.`);
};

const NO_KEYS = new Set(['auth', 'acl', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'save', 'bgsave', 'lastsave', 'ping', 'echo', 'hello', 'select', 'quit', 'reset', 'client', 'command', 'dbsize', 'flushdb', 'flushall', 'info', 'time', 'scan', 'keys', 'config', 'slowlog']);

/** The commands, by lowercase name. */
export const COMMANDS = new Map<string, Command>([
  ['ping', { arity: -1, run: PING }],
  ['auth', { arity: -2, run: AUTH }],
  ['acl', { arity: -2, run: ACL }],
  ['subscribe', { arity: -2, run: SUBSCRIBE(false) }],
  ['psubscribe', { arity: -2, run: SUBSCRIBE(true) }],
  ['unsubscribe', { arity: -1, run: UNSUBSCRIBE(false) }],
  ['punsubscribe', { arity: -1, run: UNSUBSCRIBE(true) }],
  ['echo', { arity: 2, run: (c, a) => c.w.bulk(a[1]) }],
  ['hello', { arity: -1, run: HELLO }],
  ['select', { arity: 2, run: (c, a) => (a[1].toString() === '0' ? c.w.ok() : c.w.error('ERR DB index is out of range')) }],
  ['quit', { arity: -1, run: (c) => { c.session.quit = true; c.w.ok(); } }],
  ['reset', { arity: 1, run: (c) => {
    c.w.protocol = 2;
    c.session.name = '';
    c.server.pubsub.forget(c.session.subscriber);
    c.session.subscribed = false;
    c.w.simple('RESET');
  } }],
  ['client', { arity: -2, run: CLIENT }],
  ['command', { arity: -1, run: COMMAND }],
  ['get', { arity: 2, run: (c, a) => bulkOfKey(c, a[1]), fast: GET_FAST }],
  ['set', { arity: -3, run: SET, fast: SET_FAST }],
  ['setnx', { arity: 3, run: (c, a) => c.w.integer(setWith(c.cx, a[1], a[2], { ifAbsent: true }, written) ? 1 : 0) }],
  ['setex', { arity: 4, run: (c, a) => { const t = ttlSeconds(c, a[2], 1, false, 'setex'); if (t !== null) { set(c.cx, a[1], a[3], t, written); c.w.ok(); } } }],
  ['psetex', { arity: 4, run: (c, a) => { const t = ttlSeconds(c, a[2], 1000, false, 'psetex'); if (t !== null) { set(c.cx, a[1], a[3], t, written); c.w.ok(); } } }],
  ['mget', { arity: -2, run: (c, a) => { c.w.array(a.length - 1); for (let i = 1; i < a.length; i++) bulkOfKeyOrNil(c, a[i]); } }],
  ['getset', { arity: 3, run: (c, a) => c.w.bulk(setGet(c.cx, a[1], a[2], {}, written).old ?? null) }],
  ['getdel', { arity: 2, run: (c, a) => c.w.bulk(getDel(c.cx, a[1]) ?? null) }],
  ['getex', { arity: -2, run: GETEX }],
  ['msetnx', { arity: -3, run: (c, a) => {
    if (a.length % 2 === 0) return c.w.error("ERR wrong number of arguments for 'msetnx' command");
    const entries = [];
    for (let i = 1; i < a.length; i += 2) entries.push({ key: a[i], value: a[i + 1] });
    c.w.integer(setManyIfAbsent(c.cx, entries) ? 1 : 0);
  } }],
  ['append', { arity: 3, run: (c, a) => c.w.integer(append(c.cx, a[1], a[2], written)) }],
  ['incrbyfloat', { arity: 3, run: (c, a) => {
    const by = parseFloatText(a[2].toString('latin1'));
    if (!Number.isFinite(by)) return c.w.error('ERR value is not a valid float');
    c.w.bulk(incrByFloat(c.cx, a[1], by, written));
  } }],
  ['lpush', { arity: -3, run: PUSH(true, false) }],
  ['rpush', { arity: -3, run: PUSH(false, false) }],
  ['lpushx', { arity: -3, run: PUSH(true, true) }],
  ['rpushx', { arity: -3, run: PUSH(false, true) }],
  ['lpop', { arity: -2, run: POP(true) }],
  ['rpop', { arity: -2, run: POP(false) }],
  ['lrange', { arity: 4, run: (c, a) => {
    const start = intArg(a[2]);
    const stop = intArg(a[3]);
    if (typeof start !== 'number' || typeof stop !== 'number') return c.w.error(NOT_INTEGER);
    bulks(c, range(c.cx, a[1], start, stop));
  } }],
  ['llen', { arity: 2, run: (c, a) => c.w.integer(listLength(c.cx, a[1])) }],
  ['lindex', { arity: 3, run: (c, a) => { const i = intArg(a[2]); if (typeof i !== 'number') return c.w.error(NOT_INTEGER); c.w.bulk(listIndex(c.cx, a[1], i) ?? null); } }],
  ['hset', { arity: -4, run: HASH_SET('count') }],
  ['hmset', { arity: -4, run: HASH_SET('ok') }],
  ['hget', { arity: 3, run: (c, a) => c.w.bulk(hashGet(c.cx, a[1], a[2]) ?? null) }],
  ['hmget', { arity: -3, run: (c, a) => { const vs = hashGetMany(c.cx, a[1], a.slice(2)); c.w.array(vs.length); for (const v of vs) c.w.bulk(v ?? null); } }],
  ['hdel', { arity: -3, run: (c, a) => c.w.integer(hashDelete(c.cx, a[1], a.slice(2))) }],
  ['hgetall', { arity: 2, run: HASH_LIST(0, 1) }],
  ['hkeys', { arity: 2, run: HASH_LIST(0, 2) }],
  ['hvals', { arity: 2, run: HASH_LIST(1, 2) }],
  ['hlen', { arity: 2, run: (c, a) => c.w.integer((hashItems(c.cx, a[1])?.length ?? 0) / 2) }],
  ['hexists', { arity: 3, run: (c, a) => c.w.integer(hashGet(c.cx, a[1], a[2]) === undefined ? 0 : 1) }],
  ['hincrby', { arity: 4, run: (c, a) => { const by = intArg(a[3]); if (by === null) return c.w.error(NOT_INTEGER); c.w.integer(hashIncrBy(c.cx, a[1], a[2], by)); } }],
  ['randomkey', { arity: 1, run: (c) => c.w.bulk(randomKey(c.cx) ?? null) }],
  ['mset', { arity: -3, fast: MSET_FAST, run: (c, a) => { if (a.length % 2 === 0) return c.w.error("ERR wrong number of arguments for 'mset' command"); for (let i = 1; i < a.length; i += 2) set(c.cx, a[i], a[i + 1], 0, written); c.w.ok(); } }],
  ['strlen', { arity: 2, run: (c, a) => c.w.integer(has(c.cx, a[1], found) ? (expectString(found), found.length) : 0) }],
  ['incr', { arity: 2, run: INCR_BY(1, false), fast: INCR_FAST(1) }],
  ['decr', { arity: 2, run: INCR_BY(-1, false), fast: INCR_FAST(-1) }],
  ['incrby', { arity: 3, run: INCR_BY(1, true) }],
  ['decrby', { arity: 3, run: INCR_BY(-1, true) }],
  ['del', { arity: -2, run: (c, a) => { let n = 0; for (let i = 1; i < a.length; i++) if (del(c.cx, a[i])) n++; c.w.integer(n); } }],
  ['unlink', { arity: -2, run: (c, a) => { let n = 0; for (let i = 1; i < a.length; i++) if (del(c.cx, a[i])) n++; c.w.integer(n); } }],
  ['exists', { arity: -2, run: (c, a) => { let n = 0; for (let i = 1; i < a.length; i++) if (has(c.cx, a[i])) n++; c.w.integer(n); } }],
  ['type', { arity: 2, run: (c, a) => c.w.simple(redisType(c, a[1])) }],
  ['expire', { arity: -3, run: EXPIRE_IN(1, false, 'expire') }],
  ['pexpire', { arity: -3, run: EXPIRE_IN(1000, false, 'pexpire') }],
  ['expireat', { arity: -3, run: EXPIRE_IN(1, true, 'expireat') }],
  ['pexpireat', { arity: -3, run: EXPIRE_IN(1000, true, 'pexpireat') }],
  ['ttl', { arity: 2, run: TTL_IN(1) }],
  ['pttl', { arity: 2, run: TTL_IN(1000) }],
  ['persist', { arity: 2, run: (c, a) => { const present = has(c.cx, a[1], found); c.w.integer(present && found.expireAt !== 0 && persist(c.cx, a[1]) ? 1 : 0); } }],
  ['scan', { arity: -2, run: SCAN }],
  ['keys', { arity: 2, run: KEYS }],
  ['dbsize', { arity: 1, run: (c) => c.w.integer(itemCount(c.cx)) }],
  ['flushdb', { arity: -1, run: (c) => { flush(c.cx); c.w.ok(); } }],
  ['flushall', { arity: -1, run: (c) => { flush(c.cx); c.w.ok(); } }],
  ['info', { arity: -1, run: (c, a) => c.w.verbatim(infoText(c, a.length > 1 ? lower(a[1]) : '')) }],
  ['save', { arity: 1, run: SAVE }],
  ['bgsave', { arity: -1, run: BGSAVE }],
  ['slowlog', { arity: -2, run: SLOWLOG }],
  ['lastsave', { arity: 1, run: (c) => c.w.integer(c.server.saves.lastSaveSeconds()) }],
  ['time', { arity: 1, run: (c) => { const us = Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000); c.w.array(2); c.w.bulk(String(Math.floor(us / 1e6))); c.w.bulk(String(us % 1e6)); } }],
  ['config', { arity: -2, run: (c, a) => {
    if (upper(a[1]) !== 'GET') return c.w.error('ERR CONFIG is read-only here: only CONFIG GET');
    const all: Record<string, string> = { maxmemory: String(c.server.memoryLimitBytes), 'maxmemory-policy': 's3fifo', databases: '1', port: String(c.server.port), appendonly: 'no', save: '', 'notify-keyspace-events': 'KEg$xe' };
    const re = a.length > 2 ? globRegExp(a[2].toString('latin1')) : /$^/;
    const hits = Object.entries(all).filter(([k]) => re.test(k));
    c.w.map(hits.length);
    for (const [k, v] of hits) { c.w.bulk(k); c.w.bulk(v); }
  } }],
]);

/**
 * The commands by a hash of their lowercase name, so that a received name is looked up
 * without making a string of it (see {@link findCommand}).
 */
/** A command as the dispatch finds it: its name's bytes and text, and what it needs of a credential (resp-acl.ts). */
interface CommandEntry { name: Uint8Array; cmd: Command; text: string; need: ReturnType<typeof commandNeed>; cls: number }

/** A command's metrics class (metrics-words.ts): what its credential needs, batches and keyspace walks apart. */
function classOfCommand(name: string, need: ReturnType<typeof commandNeed>): number {
  if (name === 'mget' || name === 'mset' || name === 'msetnx' || name === 'scan' || name === 'keys') return CLASS_BATCH;
  return need === 'read' ? CLASS_READ : need === 'write' ? CLASS_WRITE : CLASS_OTHER;
}
const BY_NAME_HASH = new Map<number, CommandEntry[]>();
for (const [name, cmd] of COMMANDS) {
  const bytes = Buffer.from(name, 'latin1');
  const h = nameHash(bytes, 0, bytes.length);
  const list = BY_NAME_HASH.get(h) ?? [];
  const need = commandNeed(name);
  list.push({ name: bytes, cmd, text: name, need, cls: classOfCommand(name, need) });
  BY_NAME_HASH.set(h, list);
}

/** A hash of `len` bytes of `src` from `start`, ASCII letters folded to lowercase. */
function nameHash(src: Uint8Array, start: number, len: number): number {
  let h = len;
  for (let i = 0; i < len; i++) h = (Math.imul(h, 31) + (src[start + i] | 0x20)) | 0;
  return h;
}

/**
 * The command named by `len` bytes of `src` from `start`, case-insensitively, or undefined.
 * `b | 0x20` equals a lowercase letter only for that letter in either case, and command
 * names are letters only, so the comparison is exact.
 */
function findCommand(src: Uint8Array, start: number, len: number): CommandEntry | undefined {
  if (len > 24) return undefined;
  const list = BY_NAME_HASH.get(nameHash(src, start, len));
  if (list === undefined) return undefined;
  next: for (const e of list) {
    if (e.name.length !== len) continue;
    for (let i = 0; i < len; i++) if ((src[start + i] | 0x20) !== e.name[i]) continue next;
    return e;
  }
  return undefined;
}

/**
 * Runs the command the parser holds (after {@link RespParser.nextCommand}) and writes its
 * reply: the hot commands straight from the received bytes, the others through
 * {@link runCommand}. Never throws: a command layer error becomes Redis's error reply.
 * Returns the command's metrics class (metrics-words.ts; CLASS_OTHER for an unknown one).
 */
export function runParsed(c: RespContext, p: RespParser): number {
  const e = findCommand(p.bytes, p.argStart(0), p.argLength(0));
  dispatch(c, p, e);
  return e === undefined ? CLASS_OTHER : e.cls;
}

/** {@link runParsed}'s work, for the command `e` found (undefined: not a known name). */
function dispatch(c: RespContext, p: RespParser, e: CommandEntry | undefined): void {
  const checked = c.server.credentials !== null && e !== undefined;
  if (checked) {
    // With credentials configured, every command is checked (resp-acl.ts) before it runs.
    // The common case is decided here: a credential without key patterns whose role covers
    // the command (its need found once, at start); the rest goes through refusal().
    const principal = c.session.principal;
    const need = e.need;
    if (principal === null || principal.keys !== null || (need !== 'open' && need !== 'any' && !allows(principal, need))) {
      const refused = refusal(principal, e.text, p.argCount, (i) => p.arg(i));
      if (refused !== null) {
        c.server.authRefused();
        return c.w.error(refused);
      }
    }
  }
  const fast = e?.cmd.fast;
  if (fast !== undefined && e !== undefined && !c.session.subscribed) {
    const n = p.argCount;
    const arity = e.cmd.arity;
    if (arity > 0 ? n === arity : n >= -arity) {
      const mark = c.w.length;
      // MSET's fast path is O(N): timed for the slow log as the commands below are.
      const t0 = e.cls === CLASS_BATCH && c.server.slowMs !== Infinity ? performance.now() : -1;
      try {
        if (fast(c, p)) {
          if (t0 >= 0) {
            const ms = performance.now() - t0;
            if (ms >= c.server.slowMs) c.server.slow(ms, p.args(), c.session);
          }
          return;
        }
      } catch (err) {
        c.w.truncate(mark);
        c.w.error(redisError(err, e.text));
        return;
      }
    }
  }
  const argv = p.args();
  if (c.server.slowMs === Infinity) return runCommand(c, argv, checked);
  // Timed alone for the slow log (as Redis's SLOWLOG), except GET, SET and INCR/DECR served
  // straight from the received bytes above: O(1) on one key, and two clock reads (52 ns
  // each here) cost them 4-8% of their throughput (bench/results/ab-29-observability.md).
  const t0 = performance.now();
  runCommand(c, argv, checked);
  const ms = performance.now() - t0;
  if (ms >= c.server.slowMs) c.server.slow(ms, argv, c.session);
}

/**
 * Runs one command (`argv[0]` its name) and writes its reply (`checked`: its credential was
 * checked already). Never throws: a command layer error becomes Redis's error reply.
 */
export function runCommand(c: RespContext, argv: Buffer[], checked = false): void {
  const name = lower(argv[0]);
  const cmd = COMMANDS.get(name);
  if (!cmd) {
    const args = argv.slice(1, 4).map((b) => `'${b.toString().slice(0, 40)}'`).join(' ');
    return c.w.error(`ERR unknown command '${argv[0].toString().slice(0, 40)}', with args beginning with: ${args}`);
  }
  if (cmd.arity > 0 ? argv.length !== cmd.arity : argv.length < -cmd.arity) return c.w.error(`ERR wrong number of arguments for '${name}' command`);
  if (c.server.credentials !== null && !checked) {
    const refused = refusal(c.session.principal, name, argv.length, (i) => argv[i]);
    if (refused !== null) {
      c.server.authRefused();
      return c.w.error(refused);
    }
  }
  if (c.session.subscribed && c.w.protocol === 2 && !SUBSCRIBED_CONTEXT.has(name)) {
    return c.w.error(`ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
  }
  const mark = c.w.length;
  try {
    cmd.run(c, argv);
  } catch (e) {
    // A command that failed half way through its reply (an array header written) answers
    // only the error: the stream stays in step with the client.
    c.w.truncate(mark);
    c.w.error(redisError(e, name));
  }
}

/** Redis's error reply text for an error of the command layer. */
export function redisError(e: unknown, cmd: string): string {
  if (!(e instanceof SabcacheError)) {
    log.error({ err: e }, 'RESP command failed');
    return 'ERR internal error';
  }
  switch (e.code) {
    case 'SABCACHE_ERR_BAD_TTL': return `ERR invalid expire time in '${cmd}' command`;
    case 'SABCACHE_ERR_NOT_INTEGER': return NOT_INTEGER;
    case 'SABCACHE_ERR_OVERFLOW': return 'ERR increment or decrement would overflow';
    case 'SABCACHE_ERR_WRONG_TYPE': return 'WRONGTYPE Operation against a key holding the wrong kind of value';
    case 'SABCACHE_ERR_NOT_FLOAT': return `ERR ${e.message}`; // NotFloatError's messages are Redis's wording
    case 'SABCACHE_ERR_VALUE_TOO_LARGE': return `ERR ${e.message} (${e.code}: a string, list or hash is one entry of at most --max-value-bytes)`;
    case 'SABCACHE_ERR_OUT_OF_MEMORY': return "OOM command not allowed when used memory > 'maxmemory'.";
    case 'SABCACHE_ERR_BAD_OPTION': return `ERR ${e.message}`;
    default: return `ERR ${e.message} (${e.code})`;
  }
}
