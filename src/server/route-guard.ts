/**
 * Makes every HTTP route of an App answer 500 `SABCACHE_ERR_INTERNAL` (JSON) when its
 * handler throws, instead of letting the error reach the thread (which would end the
 * worker and drop every connection on it); and, with credentials configured, refuse a
 * request its credential does not allow (401 / 403, http-auth.ts) before the handler.
 * Routes call their handlers through this one wrapper, so no route can forget either.
 *
 * @module
 */
import { sendError } from './body.ts';
import { type HttpAuth, httpRefusal, UNAUTHORIZED, WWW_AUTHENTICATE } from './http-auth.ts';
import { httpErrorFrom } from './http-errors.ts';
import type { App, HttpRequest, HttpResponse } from './uws-types.ts';

const ROUTE_METHODS = ['get', 'post', 'put', 'del', 'patch', 'head', 'options', 'any'] as const;

/**
 * Answers `res` for the error `e` a handler threw, closing the connection (the request's
 * body, if any, was not read). If the handler had already answered or the client is gone,
 * uWS refuses the write: nothing more is done.
 */
function answerThrown(res: HttpResponse, e: unknown): void {
  console.error('sabcache: request handler failed:', e);
  try {
    res.cork(() => sendError(res, httpErrorFrom(e), true));
  } catch {
    // answered already, or aborted
  }
}

/**
 * Wraps every route registered on `app` from now on (see the module comment); with `auth`,
 * a request is checked against the credentials first (http-auth.ts), before any handler.
 */
export function guardRoutes(app: App, auth?: HttpAuth): void {
  for (const method of ROUTE_METHODS) {
    const register = app[method].bind(app) as (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => App;
    (app as unknown as Record<string, unknown>)[method] = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void | Promise<void>) =>
      register(pattern, (res, req) => {
        if (auth !== undefined) {
          const method = req.getMethod();
          const refused = httpRefusal(auth, method, req.getUrl(), req.getHeader('authorization'));
          if (refused !== null) {
            // A request with a body is answered without reading it: its connection closes.
            const close = method !== 'get' && method !== 'head';
            res.cork(() => {
              res.writeStatus(refused.status).writeHeader('Content-Type', 'application/json');
              if (refused === UNAUTHORIZED) res.writeHeader('WWW-Authenticate', WWW_AUTHENTICATE);
              res.end(refused.body, close);
            });
            return;
          }
        }
        try {
          const r = handler(res, req);
          if (r instanceof Promise) r.catch((e) => answerThrown(res, e));
        } catch (e) {
          answerThrown(res, e);
        }
      });
  }
}
