/**
 * CORS for the data port, for the browser Origins in `--allowed-origins` (the same list
 * WebSocket upgrades are checked against). Every request that carries an `Origin` not in
 * the list is refused with 403 `SABCACHE_ERR_FORBIDDEN_ORIGIN` before anything runs,
 * whatever its method and content type: a browser sends "simple" cross-site requests (a
 * form or `text/plain` POST) without a preflight, so checking preflights alone would let
 * any page write. An answer to an allowed Origin carries `Access-Control-Allow-Origin`
 * (that origin), `Vary: Origin` and `Access-Control-Expose-Headers: ETag, Sabcache-TTL`;
 * preflights (`OPTIONS`) are answered 204, or 403 for other origins. Requests without
 * `Origin` (not from a browser page) are admitted.
 *
 * @module
 */
import { ForbiddenOriginError } from '../errors.ts';
import { httpErrorFrom } from './http-errors.ts';
import type { App, HttpRequest, HttpResponse } from './uws-types.ts';
import { HEADER_ORIGIN } from './wire-strings.ts';

const FORBIDDEN = httpErrorFrom(new ForbiddenOriginError());
const METHODS = 'GET, HEAD, PUT, PATCH, DELETE, POST';
const HEADERS = 'Content-Type, If-Match, If-None-Match';

/** CORS of one server (validated origins from config.ts). */
export class Cors {
  private readonly any: boolean;
  /** Whether any origin is allowed at all. */
  readonly enabled: boolean;

  constructor(private readonly origins: readonly string[]) {
    this.any = origins.includes('*');
    this.enabled = origins.length > 0;
  }

  /** Whether a browser page of `origin` may use this server. */
  allows(origin: string): boolean {
    return this.any || this.origins.includes(origin);
  }

  /** Whether a request with this `Origin` header may proceed (none: not a browser, allowed). */
  admits(origin: string): boolean {
    return origin === '' || this.allows(origin);
  }

  /** Answers 403 `SABCACHE_ERR_FORBIDDEN_ORIGIN` and closes the connection. */
  forbid(res: HttpResponse): void {
    res.writeStatus('403 Forbidden').writeHeader('Content-Type', 'application/json').end(FORBIDDEN.body, true);
  }

  /**
   * Call first in a handler; when it returns false the request was answered 403 (an Origin
   * not allowed) and the handler must return at once. For an allowed Origin, the status
   * line this answer writes is followed by the CORS headers. (uWS makes a new response
   * object per request, so the wrapper lives exactly as long as this answer.)
   */
  admit(res: HttpResponse, req: HttpRequest): boolean {
    const origin = req.getHeader(HEADER_ORIGIN);
    if (origin === '') return true;
    if (!this.allows(origin)) {
      this.forbid(res);
      return false;
    }
    const writeStatus = res.writeStatus;
    res.writeStatus = (status) => {
      writeStatus.call(res, status);
      return res.writeHeader('Access-Control-Allow-Origin', origin).writeHeader('Vary', 'Origin').writeHeader('Access-Control-Expose-Headers', 'ETag, Sabcache-TTL');
    };
    return true;
  }

  /**
   * Answers preflights on every data-port path, when any origin is allowed (otherwise
   * OPTIONS stays a 405 like any other unsupported method). An OPTIONS without Origin is not
   * a preflight: 204 with `Allow`.
   */
  registerPreflight(app: App, patterns: readonly string[]): void {
    if (!this.enabled) return;
    for (const pattern of patterns) {
      app.options(pattern, (res, req) => {
        const origin = req.getHeader('origin');
        if (origin === '') {
          res.writeStatus('204 No Content').writeHeader('Allow', METHODS).end();
          return;
        }
        if (!this.allows(origin)) return this.forbid(res);
        res.writeStatus('204 No Content').writeHeader('Access-Control-Allow-Origin', origin).writeHeader('Vary', 'Origin')
          .writeHeader('Access-Control-Allow-Methods', METHODS).writeHeader('Access-Control-Allow-Headers', HEADERS)
          .writeHeader('Access-Control-Max-Age', '600').end();
      });
    }
  }
}
