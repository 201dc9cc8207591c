/**
 * The uWebSockets.js types the routes use, apart from the module that loads the native
 * binding (uws.ts), so that a route that only names a type does not depend on the loader.
 *
 * @module
 */
import type * as UWS from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/** A uWS App that also has `close()` (closes listen sockets and every connection). */
export type App = UWS.TemplatedApp & { close(): void };
