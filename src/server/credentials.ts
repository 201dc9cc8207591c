/**
 * Who a client is, and what it may do (issue 28; not wired into the ports yet): users from a
 * users file, each with a password hash (password-hash.ts), one role and optional key
 * patterns, and signed tokens (HS256 JWTs, checked with `jsonwebtoken`, whose verification is
 * synchronous: a uWS request must be decided inside its handler) with the claims `sub`, `exp`
 * (both required), `role` and optional `keys`.
 *
 * Roles: `read` (get, has, ttl, scan, watch) < `write` (read plus set, delete, incr, expire)
 * < `admin` (write plus flush, snapshot, stats, worker restart). Key patterns are Redis
 * globs (ACL's `~user:*` without the `~`); none means every key.
 *
 * Users file (JSON, every field checked, unknown ones refused):
 * ```json
 * { "users": [ { "name": "app", "password": "scrypt$16384$8$1$…$…", "role": "write", "keys": ["session:*"] } ] }
 * ```
 *
 * A password is checked with scrypt once per (name, password) pair: a success is remembered
 * (by a SHA-256 of the pair, bounded) so that HTTP Basic on every request does not pay
 * scrypt each time. A token is remembered until it expires (bounded). Failures are never
 * remembered.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { BadOptionError } from '../errors.ts';
import { parsePasswordHash, passwordMatches } from './password-hash.ts';
import { globRegExp } from './redis-glob.ts';

/** A role, weakest first. */
export type Role = 'read' | 'write' | 'admin';
const ROLES: readonly Role[] = ['read', 'write', 'admin'];

/** An authenticated client. */
export interface Principal {
  /** The user's name, or the token's `sub`. */
  name: string;
  role: Role;
  /** The keys it may touch (latin1 text of the key bytes), or null for every key. */
  keys: RegExp | null;
  /** Its key patterns as given (for ACL WHOAMI-like reports). */
  patterns: readonly string[];
}

/** A user of the users file. */
interface User {
  principal: Principal;
  password: ReturnType<typeof parsePasswordHash>;
}

/** Most key patterns of one user or token, and the longest one. */
const MAX_PATTERNS = 64;
const MAX_PATTERN_LENGTH = 256;
/** Remembered successes (see the module comment). */
const MAX_REMEMBERED = 10_000;
/** Shortest token secret, in bytes (HS256's key should be at least its 256-bit output). */
export const MIN_TOKEN_SECRET_BYTES = 32;
/** Claims a token may carry: ours and the registered ones (RFC 7519 §4.1). */
const TOKEN_CLAIMS = new Set(['sub', 'exp', 'role', 'keys', 'iat', 'nbf', 'iss', 'aud', 'jti']);

function compilePatterns(patterns: unknown, where: string): { keys: RegExp | null; patterns: string[] } {
  if (patterns === undefined) return { keys: null, patterns: [] };
  if (!Array.isArray(patterns) || patterns.length > MAX_PATTERNS || !patterns.every((p) => typeof p === 'string' && p.length > 0 && p.length <= MAX_PATTERN_LENGTH)) {
    throw new BadOptionError(where, `keys must be an array of up to ${MAX_PATTERNS} glob patterns (1 to ${MAX_PATTERN_LENGTH} characters each)`);
  }
  const sources = (patterns as string[]).map((p) => globRegExp(p).source.slice(1, -1));
  return { keys: new RegExp(`^(?:${sources.join('|')})$`), patterns: patterns as string[] };
}

function roleOf(value: unknown, where: string): Role {
  if (typeof value !== 'string' || !ROLES.includes(value as Role)) throw new BadOptionError(where, `role must be read, write or admin, got ${JSON.stringify(value)}`);
  return value as Role;
}

/**
 * Parses a users file's text (`where` names it in errors).
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for malformed JSON, a missing or unknown
 *   field, a bad name, role, hash or pattern, or a name given twice.
 */
export function parseUsers(text: string, where: string): Map<string, User> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BadOptionError(where, `not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Object.keys(doc).some((k) => k !== 'users') || !Array.isArray((doc as { users?: unknown }).users)) {
    throw new BadOptionError(where, 'expected { "users": [ … ] } and nothing else');
  }
  const users = new Map<string, User>();
  for (const [i, u] of ((doc as { users: unknown[] }).users).entries()) {
    const at = `${where}: users[${i}]`;
    if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new BadOptionError(at, 'expected an object');
    const unknown = Object.keys(u).filter((k) => !['name', 'password', 'role', 'keys'].includes(k));
    if (unknown.length) throw new BadOptionError(at, `unknown field ${JSON.stringify(unknown[0])} (fields: name, password, role, keys)`);
    const { name, password, role, keys } = u as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new BadOptionError(at, 'name must be 1 to 64 letters, digits or ._@-');
    if (users.has(name)) throw new BadOptionError(at, `user ${JSON.stringify(name)} is given twice`);
    if (typeof password !== 'string') throw new BadOptionError(at, 'password must be a hash (make one with: sabcache --hash-password)');
    users.set(name, { password: parsePasswordHash(password, `${at}.password`), principal: { name, role: roleOf(role, `${at}.role`), ...compilePatterns(keys, `${at}.keys`) } });
  }
  return users;
}

/** Reads and parses a users file. @throws BadOptionError as {@link parseUsers}, or when it cannot be read. */
export function loadUsersFile(path: string): Map<string, User> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadOptionError('--users-file', `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseUsers(text, `--users-file ${path}`);
}

/** Users and tokens, as a server checks them. */
export class Credentials {
  private readonly passwords = new Map<string, Principal>();
  private readonly basics = new Map<string, Principal>();
  private readonly tokens = new Map<string, { principal: Principal; expMs: number }>();
  /**
   * The last `Authorization` value checked good on this thread, its principal and when it
   * expires (unix ms; Infinity for a password): a client that sends the same header on every
   * request is checked with one string comparison (bench:auth).
   */
  private lastHeader = '';
  private lastPrincipal: Principal | null = null;
  private lastExpMs = 0;

  /**
   * @param users from {@link loadUsersFile}, or null
   * @param tokenSecret the HS256 secret (at least {@link MIN_TOKEN_SECRET_BYTES} bytes), or null
   * @param now the clock, unix ms (tests move it)
   * @throws BadOptionError for a secret that is too short
   */
  constructor(private readonly users: Map<string, User> | null, private readonly tokenSecret: string | null, private readonly now: () => number = Date.now) {
    if (tokenSecret !== null && Buffer.byteLength(tokenSecret) < MIN_TOKEN_SECRET_BYTES) {
      throw new BadOptionError('--token-secret', `must be at least ${MIN_TOKEN_SECRET_BYTES} bytes (HS256), got ${Buffer.byteLength(tokenSecret)}`);
    }
  }

  /** Whether any credential is configured (then every client must present one, and protected mode is off). */
  get configured(): boolean {
    return this.users !== null || this.tokenSecret !== null;
  }

  /**
   * Whether the `Authorization` header value `authorization` is a credential checked good
   * before and remembered: its check costs a map lookup, where a new one may cost a scrypt
   * (the rate limiter charges a new one to the client's address first: route-guard.ts).
   */
  remembers(authorization: string): boolean {
    if (authorization === this.lastHeader) return true;
    if (authorization.startsWith('Basic ')) return this.basics.has(authorization.slice(6).trim());
    if (authorization.startsWith('Bearer ')) return this.tokens.has(authorization.slice(7).trim());
    return false;
  }

  /**
   * The principal of an `Authorization` header value (`Bearer <token>` or `Basic
   * <base64 user:password>`), or null (none, malformed, wrong or expired).
   */
  checkAuthorization(header: string): Principal | null {
    if (header === this.lastHeader && (this.lastExpMs === Infinity || this.lastExpMs > this.now())) return this.lastPrincipal;
    let principal: Principal | null = null;
    let expMs = Infinity;
    if (header.startsWith('Bearer ')) {
      const token = header.slice(7).trim();
      principal = this.checkToken(token);
      expMs = principal === null ? 0 : this.tokens.get(token)?.expMs ?? 0;
    } else if (header.startsWith('Basic ')) {
      principal = this.checkBasic(header.slice(6).trim());
    }
    if (principal !== null) {
      this.lastHeader = header;
      this.lastPrincipal = principal;
      this.lastExpMs = expMs;
    }
    return principal;
  }

  /** The user `name` if `password` is theirs, else null (an unknown name costs a scrypt too). */
  checkPassword(name: string, password: string): Principal | null {
    const id = createHash('sha256').update(name).update('\0').update(password).digest('base64');
    const known = this.passwords.get(id);
    if (known) return known;
    const user = this.users?.get(name);
    // An unknown user is checked against a stored hash all the same, so that the time taken
    // does not tell which names exist.
    const against = user ?? this.users?.values().next().value;
    const ok = against !== undefined && passwordMatches(password, against.password) && user !== undefined;
    if (!ok) return null;
    if (this.passwords.size >= MAX_REMEMBERED) this.passwords.clear();
    this.passwords.set(id, user.principal);
    return user.principal;
  }

  /**
   * HTTP Basic: the principal of `encoded` (base64 of `user:password`), or null. A success
   * is remembered by the encoded text itself, so a client that sends the same header on
   * every request costs one map lookup, not a decode and a hash.
   */
  checkBasic(encoded: string): Principal | null {
    const known = this.basics.get(encoded);
    if (known) return known;
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    const p = colon > 0 ? this.checkPassword(text.slice(0, colon), text.slice(colon + 1)) : null;
    if (p === null) return null;
    if (this.basics.size >= MAX_REMEMBERED) this.basics.clear();
    this.basics.set(encoded, p);
    return p;
  }

  /** The token's principal if it is a valid HS256 JWT of this server's secret, unexpired, with `sub`, `exp` and a role; else null. */
  checkToken(token: string): Principal | null {
    if (this.tokenSecret === null || token.length > 8192) return null;
    const known = this.tokens.get(token);
    if (known) {
      if (known.expMs > this.now()) return known.principal;
      this.tokens.delete(token);
      return null;
    }
    let claims: jwt.JwtPayload;
    try {
      const v = jwt.verify(token, this.tokenSecret, { algorithms: ['HS256'], clockTimestamp: Math.floor(this.now() / 1000) });
      if (typeof v === 'string') return null;
      claims = v;
    } catch {
      return null;
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || typeof claims.exp !== 'number') return null;
    if (Object.keys(claims).some((k) => !TOKEN_CLAIMS.has(k))) return null;
    let principal: Principal;
    try {
      principal = { name: claims.sub, role: roleOf(claims.role, 'token role'), ...compilePatterns(claims.keys, 'token keys') };
    } catch {
      return null;
    }
    if (this.tokens.size >= MAX_REMEMBERED) this.tokens.clear();
    this.tokens.set(token, { principal, expMs: claims.exp * 1000 });
    return principal;
  }
}

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/**
 * Whether `p` may do what needs `need`, on `key` when the operation has one (its bytes, or a
 * string as UTF-8): its role is at least `need`, and the key matches one of its patterns.
 */
export function allows(p: Principal, need: Role, key?: string | Uint8Array): boolean {
  if (RANK[p.role] < RANK[need]) return false;
  if (p.keys === null || key === undefined) return true;
  const text = typeof key === 'string' ? Buffer.from(key, 'utf8').toString('latin1') : Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
  return p.keys.test(text);
}
