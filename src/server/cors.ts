/**
 * CORS for the data port, for the browser Origins in `--allowed-origins` (the same list
 * WebSocket upgrades are checked against). An answer to an allowed Origin carries
 * `Access-Control-Allow-Origin` (that origin), `Vary: Origin` and
 * `Access-Control-Expose-Headers: ETag, Sabcache-TTL`; preflights (`OPTIONS`) are answered
 * 204, or 403 for other origins. With an empty list the hot path does not even read `Origin`.
 * WebSocket upgrades are checked against the same list ({@link Cors.admits}).
 *
 * @module
 */
import { httpError } from './http-errors.ts';
import type { App, HttpRequest, HttpResponse } from './uws.ts';
import { HEADER_ORIGIN } from './wire-strings.ts';

const FORBIDDEN = httpError('SABCACHE_ERR_FORBIDDEN_ORIGIN', 'this Origin is not in --allowed-origins');
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
   * Call first in a handler: for an allowed Origin, the status line this answer writes is
   * followed by the CORS headers. (uWS makes a new response object per request, so the
   * wrapper lives exactly as long as this answer.)
   */
  apply(res: HttpResponse, req: HttpRequest): void {
    if (!this.enabled) return;
    const origin = req.getHeader(HEADER_ORIGIN);
    if (origin === '' || !this.allows(origin)) return;
    const writeStatus = res.writeStatus;
    res.writeStatus = (status) => {
      writeStatus.call(res, status);
      return res.writeHeader('Access-Control-Allow-Origin', origin).writeHeader('Vary', 'Origin').writeHeader('Access-Control-Expose-Headers', 'ETag, Sabcache-TTL');
    };
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
