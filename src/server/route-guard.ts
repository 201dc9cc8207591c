/**
 * Makes every HTTP route of an App answer 500 `SABCACHE_ERR_INTERNAL` (JSON) when its
 * handler throws, instead of letting the error reach the thread (which would end the
 * worker and drop every connection on it); and, in protected mode, answer 403
 * `SABCACHE_ERR_PROTECTED_MODE` to a client outside loopback before any handler runs
 * (protected-mode.ts). Routes call their handlers through this one wrapper, so no route
 * can forget either.
 *
 * @module
 */
import { ProtectedModeError } from '../errors.ts';
import { sendError } from './body.ts';
import { httpErrorFrom } from './http-errors.ts';
import { isLoopbackBytes } from './protected-mode.ts';
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

/** The protected-mode answer, made once. */
const PROTECTED = httpErrorFrom(new ProtectedModeError());

/**
 * Wraps every route registered on `app` from now on (see the module comment); with
 * `protectedMode`, a request from outside loopback is answered 403 and its connection
 * closed, whatever the route.
 */
export function guardRoutes(app: App, protectedMode = false): void {
  for (const method of ROUTE_METHODS) {
    const register = app[method].bind(app) as (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => App;
    (app as unknown as Record<string, unknown>)[method] = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void | Promise<void>) =>
      register(pattern, (res, req) => {
        if (protectedMode && !isLoopbackBytes(res.getRemoteAddress())) {
          res.cork(() => sendError(res, PROTECTED, true));
          return;
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
