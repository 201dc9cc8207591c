/**
 * What each RESP command needs of a credential (credentials.ts), as Redis ACL categories
 * would: before AUTH only AUTH, HELLO and QUIT run; the others need a role, and the keys
 * they name must match the credential's key patterns. A command not classified here needs
 * `admin` (a new command is closed until someone decides).
 *
 * A credential with key patterns may not run the commands that reach the whole keyspace
 * (SCAN, KEYS, RANDOMKEY, SUBSCRIBE, PSUBSCRIBE): their answers could name keys outside its
 * patterns.
 *
 * @module
 */
import { allows, type Principal, type Role } from './credentials.ts';

/** Runs before AUTH. */
const OPEN = new Set(['auth', 'hello', 'quit']);
/** Any authenticated client. */
const ANY = new Set(['ping', 'echo', 'select', 'reset', 'client', 'command', 'time', 'lastsave', 'acl']);
const READ = new Set(['get', 'mget', 'strlen', 'exists', 'type', 'ttl', 'pttl', 'scan', 'keys', 'dbsize', 'randomkey', 'lrange', 'llen', 'lindex', 'hget', 'hmget', 'hgetall', 'hlen', 'hexists', 'hkeys', 'hvals', 'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe']);
const WRITE = new Set(['set', 'setnx', 'setex', 'psetex', 'getset', 'getdel', 'getex', 'mset', 'msetnx', 'append', 'incr', 'decr', 'incrby', 'decrby', 'incrbyfloat', 'del', 'unlink', 'expire', 'pexpire', 'expireat', 'pexpireat', 'persist', 'lpush', 'rpush', 'lpushx', 'rpushx', 'lpop', 'rpop', 'hset', 'hmset', 'hdel', 'hincrby']);
/** Needs admin (listed so that the test can tell a classified command from a forgotten one). */
const ADMIN = new Set(['flushdb', 'flushall', 'save', 'bgsave', 'config', 'info', 'slowlog']);
/** Commands that reach the whole keyspace (see the module comment). */
const KEYSPACE = new Set(['scan', 'keys', 'randomkey', 'subscribe', 'psubscribe']);
/** Commands with no key argument. */
const NO_KEYS = new Set([...OPEN, ...ANY, ...ADMIN, ...KEYSPACE, 'dbsize', 'unsubscribe', 'punsubscribe']);
/** Commands whose every argument is a key; and those of key-value pairs. */
const ALL_KEYS = new Set(['mget', 'del', 'exists', 'unlink']);
const PAIRS = new Set(['mset', 'msetnx']);

/** Whether `name` (lowercase) is classified here. */
export function isClassified(name: string): boolean {
  return OPEN.has(name) || ANY.has(name) || READ.has(name) || WRITE.has(name) || ADMIN.has(name);
}

/** What `name` needs: 'open' (before AUTH), 'any' (authenticated), or a role. */
export function commandNeed(name: string): 'open' | 'any' | Role {
  if (OPEN.has(name)) return 'open';
  if (ANY.has(name)) return 'any';
  if (READ.has(name)) return 'read';
  if (WRITE.has(name)) return 'write';
  return 'admin';
}

/**
 * Redis's error reply when `p` (null: not authenticated) may not run command `name` with
 * `count` arguments (the name included), argument `i` being `arg(i)`; null when it may.
 */
export function refusal(p: Principal | null, name: string, count: number, arg: (i: number) => Uint8Array): string | null {
  const need = commandNeed(name);
  if (need === 'open') return null;
  if (p === null) return 'NOAUTH Authentication required.';
  if (need === 'any') return null;
  if (!allows(p, need)) return `NOPERM User ${p.name} has no permissions to run the '${name}' command`;
  if (p.keys === null) return null;
  if (KEYSPACE.has(name)) return `NOPERM User ${p.name} has key patterns, so it may not run the '${name}' command (it reaches every key)`;
  if (NO_KEYS.has(name)) return null;
  const last = ALL_KEYS.has(name) || PAIRS.has(name) ? count - 1 : Math.min(1, count - 1);
  const step = PAIRS.has(name) ? 2 : 1;
  for (let i = 1; i <= last; i += step) if (!allows(p, need, arg(i))) return 'NOPERM No permissions to access a key';
  return null;
}
