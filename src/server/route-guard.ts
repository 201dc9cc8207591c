/**
 * Makes every HTTP route of an App answer 500 `SABCACHE_ERR_INTERNAL` (JSON) when its
 * handler throws, instead of letting the error reach the thread (which would end the
 * worker and drop every connection on it); with credentials configured, refuse a
 * request its credential does not allow (401 / 403, http-auth.ts) before the handler; and
 * with rate limits, refuse a request over its client's budget or the server's (429 with
 * `Retry-After`, rate-limiter.ts). Routes call their handlers through this one wrapper, so
 * no route can forget any of them.
 *
 * @module
 */
import { sendError } from './body.ts';
import { RateLimitedError } from '../errors.ts';
import type { Principal } from './credentials.ts';
import { type HttpAuth, httpRefusal, type RequestCredential, UNAUTHORIZED, writeChallenges } from './http-auth.ts';
import { type HttpError, httpErrorFrom } from './http-errors.ts';
import { identityOfAddress, identityOfName, type RateLimiter } from './rate-limiter.ts';
import { CLASS_BATCH, CLASS_READ, CLASS_WRITE } from './metrics-words.ts';
import type { ThreadMetrics } from './thread-metrics.ts';
import type { RefusalCounter } from './refusal-counter.ts';
import type { App, HttpRequest, HttpResponse } from './uws-types.ts';
import { log } from './log.ts';

const ROUTE_METHODS = ['get', 'post', 'put', 'del', 'patch', 'head', 'options', 'any'] as const;

/**
 * Answers `res` for the error `e` a handler threw, closing the connection (the request's
 * body, if any, was not read). If the handler had already answered or the client is gone,
 * uWS refuses the write: nothing more is done.
 */
function answerThrown(res: HttpResponse, e: unknown): void {
  log.error({ err: e }, 'request handler failed');
  try {
    res.cork(() => sendError(res, httpErrorFrom(e), true));
  } catch {
    // answered already, or aborted
  }
}

/** What the guard checks before a route's handler. */
export interface RouteGuard {
  /** Credentials (http-auth.ts); none: every request may go on. */
  auth?: HttpAuth;
  /** Rate limits (rate-limiter.ts); none: no limit. */
  rate?: RateLimiter;
  /** Latency recorder (thread-metrics.ts): the key and batch routes are timed; none: nothing is. */
  metrics?: ThreadMetrics;
  /** Counts requests refused for their credential (refusal-counter.ts); none: not counted. */
  refusals?: RefusalCounter;
}

/** The operation class a route is timed as (metrics-words.ts), or -1 for one that is not (preflights, 404s, the admin port). */
function classOf(method: string, pattern: string): number {
  if (pattern === '/v1/mget' || pattern === '/v1/mset' || pattern === '/v1/keys') return CLASS_BATCH;
  if (!pattern.startsWith('/v1/kv/') || method === 'any' || method === 'options') return -1;
  return method === 'get' || method === 'head' ? CLASS_READ : CLASS_WRITE;
}

/** Answers a refused request; one with a body is answered without reading it, so its connection closes. */
function refuse(res: HttpResponse, method: string, refused: HttpError, retryAfterMs = 0): void {
  const close = method !== 'get' && method !== 'head';
  res.cork(() => {
    res.writeStatus(refused.status).writeHeader('Content-Type', 'application/json');
    if (refused === UNAUTHORIZED) writeChallenges(res);
    if (retryAfterMs > 0) res.writeHeader('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
    res.end(refused.body, close);
  });
}

/** The 429 answer for a client that must wait `waitMs`. */
function rateLimited(waitMs: number): HttpError {
  return httpErrorFrom(new RateLimitedError(`rate limit exceeded: retry in ${waitMs} ms`));
}

/**
 * Wraps every route registered on `app` from now on (see the module comment): with
 * `guard.auth`, a request is checked against the credentials first (http-auth.ts), and with
 * `guard.rate` charged to its client (its credential, or its address when it has none),
 * before any handler. A credential not seen before may cost a scrypt to check, so with both
 * its request is charged to the client's address before the check: guessing passwords is
 * held to the address's rate.
 */
export function guardRoutes(app: App, guard: RouteGuard = {}): void {
  const { auth, rate, metrics, refusals } = guard;
  const who: RequestCredential = { principal: null };
  for (const method of ROUTE_METHODS) {
    const register = app[method].bind(app) as (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => App;
    (app as unknown as Record<string, unknown>)[method] = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void | Promise<void>) => {
      const cls = metrics === undefined ? -1 : classOf(method, pattern);
      return register(pattern, (res, req) => {
        if (auth !== undefined || rate !== undefined) {
          const method = req.getMethod();
          let chargedAddress = false;
          who.principal = null;
          if (auth !== undefined) {
            const authorization = req.getHeader('authorization');
            if (rate !== undefined && authorization !== '' && !auth.credentials.remembers(authorization)) {
              const wait = rate.take(identityOfAddress(res.getRemoteAddressAsText()));
              if (wait > 0) return refuse(res, method, rateLimited(wait), wait);
              chargedAddress = true;
            }
            const refused = httpRefusal(auth, method, req.getUrl(), authorization, who);
            if (refused !== null) {
              refusals?.auth();
              return refuse(res, method, refused);
            }
          }
          // (Read through a cast: TypeScript cannot see that httpRefusal filled it.)
          const principal = who.principal as Principal | null;
          if (rate !== undefined && !(chargedAddress && principal === null)) {
            // The address only when the per-client limit needs it: uWS reads it with a
            // getpeername system call on every request (bench:rate-limit).
            const identity = !rate.perClient ? 0 : principal !== null ? identityOfName(principal.name) : identityOfAddress(res.getRemoteAddressAsText());
            const wait = rate.take(identity);
            if (wait > 0) return refuse(res, method, rateLimited(wait), wait);
          }
        }
        if (cls >= 0) metrics!.httpStart(cls);
        try {
          const r = handler(res, req);
          if (r instanceof Promise) r.catch((e) => answerThrown(res, e));
        } catch (e) {
          answerThrown(res, e);
        }
        if (cls >= 0) metrics!.httpEnd(res, req);
      });
    };
  }
}
