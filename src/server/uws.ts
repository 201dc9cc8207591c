/**
 * The one module that loads uWebSockets.js. It loads the native binding itself and fails
 * with {@link NativeMissingError} when there is none for this platform and Node ABI: it
 * never falls back to the package's slow JavaScript implementation.
 *
 * Looked up, in order, inside the `uWebSockets.js` dependency:
 * `uws_<platform>_<arch>_<abi>.node` (official builds) and
 * `binaries/uws_<platform>_<arch>_<abi>.node` (the `@trufflesuite/uws-js-unofficial` build
 * this repository installs under that name; it loads on glibc 2.36).
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { NativeMissingError } from '../errors.ts';
import { guardRoutes, type RouteGuard } from './route-guard.ts';

import type { App } from './uws-types.ts';

export type { App, HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from './uws-types.ts';

const require = createRequire(import.meta.url);

function load(): typeof UWS {
  const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const tried: string[] = [];
  for (const path of [`uWebSockets.js/${name}`, `uWebSockets.js/binaries/${name}`]) {
    try {
      return require(path) as typeof UWS;
    } catch (e) {
      tried.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeMissingError(
    `uWebSockets.js has no native binding for ${process.platform}-${process.arch} on Node ABI ${process.versions.modules} ` +
      `(Node ${process.versions.node}). sabcache does not run on the slow fallback. Tried:\n  ${tried.join('\n  ')}\n` +
      'See README.md, "uWebSockets.js builds", for how to install a build that matches this system.',
  );
}

/** The native uWebSockets.js module. */
export const uws: typeof UWS = load();

/**
 * TLS files of an App (config.ts `--tls-*`): PEM paths; an empty `certFile` means plaintext.
 * No CA for client certificates: this uWS build's verify callback accepts any client (or
 * none), so it cannot require one (SECURITY.md).
 */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Creates an App whose routes answer 500 JSON when a handler throws, and check `guard`'s
 * credentials and rate limits first (route-guard.ts): plaintext, or TLS (uWS `SSLApp`) when
 * `tls` names a certificate.
 */
export function createApp(tls?: TlsFiles, guard: RouteGuard = {}): App {
  const app = (tls?.certFile ? uws.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile }) : uws.App()) as App;
  if (typeof app.close !== 'function') {
    throw new NativeMissingError('this uWebSockets.js build has no App.close(); sabcache needs a build that has it (v20.30 unofficial, or v20.34+)');
  }
  guardRoutes(app, guard);
  return app;
}
