/**
 * Protected mode, as Redis has it: while no credentials are configured, only clients on the
 * loopback interface are served (127.0.0.0/8, ::1, and IPv4-mapped 127.x), so that a fresh
 * `npm start` on 0.0.0.0 does not hand every key to whoever can reach the port. The others
 * get `SABCACHE_ERR_PROTECTED_MODE` (errors.ts), whose message says how to get in.
 * `--protected-mode no` turns it off (docs in SECURITY.md).
 *
 * HTTP and WebSocket (uWS ports) are split by the kernel, not per request: the serving App
 * listens on loopback and a refusing App on the configured address, both with SO_REUSEPORT
 * on the same port ({@link listenPlan}). Linux gives a connection to the listener bound to
 * its exact destination address before one bound to the wildcard, so loopback clients reach
 * the serving App and every other client the refusing one, which answers 403 to any request
 * and upgrade. A check per request (uWS `getRemoteAddress`, an ArrayBuffer each time) cost
 * 20% of HTTP GET throughput (bench/results/ab-28-protected-mode.md). RESP checks each
 * connection once as it is accepted (resp-server.ts).
 *
 * @module
 */
import { ProtectedModeError } from '../errors.ts';
import { httpErrorFrom } from './http-errors.ts';
import { type App, createApp, type TlsFiles, uws, type us_listen_socket } from './uws.ts';

/** Where a port's Apps listen: the serving App on `serve`, a refusing App on `refuse` (none: null). */
export interface ListenPlan {
  serve: string[];
  refuse: string | null;
}

/**
 * The listeners of a uWS port on `host` (see the module comment): without protected mode,
 * or on a loopback address, the serving App on `host` alone; on `0.0.0.0`, serving on
 * 127.0.0.1 and refusing on 0.0.0.0; on `::`, serving on 127.0.0.1 and ::1 and refusing on
 * `::`; on any other address (whose clients are never on loopback), serving on 127.0.0.1
 * and refusing on that address.
 */
export function listenPlan(host: string, protectedMode: boolean): ListenPlan {
  if (!protectedMode || isLoopbackText(host) || host === 'localhost') return { serve: [host], refuse: null };
  if (host === '::' || host === '::0') return { serve: ['127.0.0.1', '::1'], refuse: host };
  return { serve: ['127.0.0.1'], refuse: host };
}

/** An App that answers every request and WebSocket upgrade 403 `SABCACHE_ERR_PROTECTED_MODE`, closing the connection. */
function createRefusingApp(tls?: TlsFiles): App {
  const refused = httpErrorFrom(new ProtectedModeError());
  const app = createApp(tls);
  app.any('/*', (res) => {
    res.cork(() => res.writeStatus(refused.status).writeHeader('Content-Type', 'application/json').end(refused.body, true));
  });
  return app;
}

/** Whether `address`, as `net.Socket#remoteAddress` gives it (or a host to listen on), is on loopback: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
export function isLoopbackText(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address.startsWith('127.')) return true;
  if (address.startsWith('::ffff:')) return address.slice(7).startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/** What {@link listenPlanned} opened: close every socket to stop accepting. */
export interface PlannedListeners {
  sockets: us_listen_socket[];
  /** The refusing App, when the plan has one (close it with the serving App). */
  refuser: App | null;
}

/**
 * Listens `app` on `port` as {@link listenPlan} says for `host` (the refusing App with the
 * same `tls` as `app`, so a client outside loopback gets its answer over TLS). Returns the listen
 * sockets, or null (and closes what it opened) when one address could not be bound.
 */
export function listenPlanned(app: App, host: string, port: number, protectedMode: boolean, tls?: TlsFiles): PlannedListeners | null {
  const plan = listenPlan(host, protectedMode);
  const sockets: us_listen_socket[] = [];
  const refuser = plan.refuse === null ? null : createRefusingApp(tls);
  const listen = (a: App, h: string): boolean => {
    let opened: us_listen_socket | false = false;
    // uWS calls back before listen() returns.
    a.listen(h, port, (s) => { opened = s; });
    if (opened) sockets.push(opened);
    return opened !== false;
  };
  // The loopback listeners first: the refusing one never holds the port alone.
  const ok = plan.serve.every((h) => listen(app, h)) && (refuser === null || listen(refuser, plan.refuse!));
  if (ok) return { sockets, refuser };
  for (const s of sockets) uws.us_listen_socket_close(s);
  refuser?.close();
  return null;
}
