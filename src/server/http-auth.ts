/**
 * Credentials on the uWS ports (HTTP, WebSocket upgrades, admin), with credentials.ts:
 * `Authorization: Bearer <token>` or `Basic <user:password>`; a WebSocket from a browser,
 * which cannot set headers, offers the token as a subprotocol `sabcache.bearer.<token>`.
 * What a request needs follows its route (below); the route guard (route-guard.ts) checks it
 * before any handler runs, so no route can forget it.
 *
 * Data port: GET/HEAD need `read`, other methods `write`, the key being the path segment of
 * `/v1/kv/{key}`; `POST /v1/mget` needs `read`. A credential with key patterns may use the
 * single-key routes only (a batch or key page could name keys outside them). CORS
 * preflights (`OPTIONS`) carry no credentials and need none. Admin port: `admin`, except
 * `/healthz` and `/readyz`, which load balancers ask without credentials.
 *
 * @module
 */
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { allows, type Credentials, type Principal, type Role } from './credentials.ts';
import { type HttpError, httpErrorFrom } from './http-errors.ts';

/** How a port checks credentials. */
export interface HttpAuth {
  credentials: Credentials;
  /** The admin port (every route needs `admin`, but the health checks). */
  admin: boolean;
}

/**
 * The challenges a 401 carries, one `WWW-Authenticate` header each: Chromium reads only the
 * first challenge of a header, so Basic and Bearer in one header left browsers unable to
 * log in (the dashboard's test found it).
 */
export const WWW_AUTHENTICATE = ['Basic realm="sabcache", charset="UTF-8"', 'Bearer realm="sabcache"'] as const;

/** Writes the {@link WWW_AUTHENTICATE} headers on `res`. */
export function writeChallenges(res: { writeHeader(name: string, value: string): unknown }): void {
  for (const c of WWW_AUTHENTICATE) res.writeHeader('WWW-Authenticate', c);
}
/** The answer to a request without a credential, or with a bad one: 401 `SABCACHE_ERR_UNAUTHORIZED` (sent with {@link WWW_AUTHENTICATE}). */
export const UNAUTHORIZED: HttpError = httpErrorFrom(new UnauthorizedError());
/** The WebSocket subprotocol prefix of a token. */
export const BEARER_PROTOCOL = 'sabcache.bearer.';

/** The token a WebSocket upgrade offers as a subprotocol (see the module comment), or ''. */
export function tokenOfProtocols(protocols: string): string {
  for (const p of protocols.split(',')) {
    const t = p.trim();
    if (t.startsWith(BEARER_PROTOCOL)) return t.slice(BEARER_PROTOCOL.length);
  }
  return '';
}

/** What {@link httpRefusal} found out about the client: filled by it, owned by the caller. */
export interface RequestCredential {
  /** The credential the request carried, once checked good; null for none or a bad one. */
  principal: Principal | null;
}

/**
 * The error to answer a request of `method` (lowercase) to `url` with, for a client that
 * sent the `Authorization` header `authorization` ('' when none); null when it may go on.
 * Sets `who.principal` to the request's credential when it is a good one (else null).
 */
export function httpRefusal(auth: HttpAuth, method: string, url: string, authorization: string, who?: RequestCredential): HttpError | null {
  if (who !== undefined) who.principal = null;
  if (method === 'options') return null;
  if (auth.admin && (url === '/healthz' || url === '/readyz')) return null;
  const principal = authorization === '' ? null : auth.credentials.checkAuthorization(authorization);
  if (principal === null) return UNAUTHORIZED;
  if (who !== undefined) who.principal = principal;
  let need: Role = method === 'get' || method === 'head' ? 'read' : 'write';
  if (auth.admin) need = 'admin';
  else if (url === '/v1/mget') need = 'read';
  if (!allows(principal, need)) return httpErrorFrom(new ForbiddenError(`${principal.name} (role ${principal.role}) may not ${method.toUpperCase()} ${url.slice(0, 100)}: it needs ${need}`));
  // The key is decoded only for a credential with key patterns (the common credential has
  // none, and the route decodes it again anyway).
  if (principal.keys === null || auth.admin) return null;
  let key: string | undefined;
  if (url.startsWith('/v1/kv/')) {
    const end = url.indexOf('/', 7);
    try {
      key = decodeURIComponent(url.slice(7, end < 0 ? undefined : end));
    } catch {
      key = undefined; // the route answers 400 for it; a credential with patterns is refused below
    }
  }
  if (key === undefined || !allows(principal, need, key)) {
    return httpErrorFrom(new ForbiddenError(key === undefined ? `${principal.name} has key patterns: it may use the single-key routes only` : `${principal.name} may not use this key (its key patterns)`));
  }
  return null;
}

/** What a WebSocket request of `op` (ws-protocol.ts OP_*) needs: 1 GET, 7 TTL, 8 SCAN, 9 WATCH, 10 UNWATCH read; the rest write. */
function opNeed(op: number): Role {
  return op === 1 || op === 7 || op === 8 || op === 9 || op === 10 ? 'read' : 'write';
}

/**
 * The refusal of a WebSocket request (`op`, its key, whether the key is a prefix) for
 * `principal`, or null when it may run. A credential with key patterns may not SCAN or
 * watch a prefix (either could reach keys outside them).
 */
export function wsRefusal(principal: Principal, op: number, key: string | Uint8Array, prefix: boolean): ForbiddenError | null {
  const need = opNeed(op);
  if (!allows(principal, need)) return new ForbiddenError(`${principal.name} (role ${principal.role}) may not run this request: it needs ${need}`);
  if (principal.keys === null) return null;
  if (op === 8 || (prefix && (op === 9 || op === 10))) return new ForbiddenError(`${principal.name} has key patterns: it may not scan or watch a prefix`);
  return allows(principal, need, key) ? null : new ForbiddenError(`${principal.name} may not use this key (its key patterns)`);
}
