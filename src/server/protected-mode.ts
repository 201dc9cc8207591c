/**
 * Protected mode, as Redis has it: while no credentials are configured, only clients on the
 * loopback interface are served (127.0.0.0/8, ::1, and IPv4-mapped 127.x), so that a fresh
 * `npm start` on 0.0.0.0 does not hand every key to whoever can reach the port. The others
 * get `SABCACHE_ERR_PROTECTED_MODE` (errors.ts), whose message says how to get in:
 * HTTP 403 on every request (route-guard.ts) and WebSocket upgrade, RESP `-DENIED` and a
 * close. `--protected-mode no` turns it off (docs in SECURITY.md).
 *
 * @module
 */

/**
 * Whether `address`, as uWS's `getRemoteAddress()` gives it (4 bytes of IPv4, or 16 of
 * IPv6), is on loopback: 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
 */
export function isLoopbackBytes(address: ArrayBuffer): boolean {
  const b = new Uint8Array(address);
  if (b.length === 4) return b[0] === 127;
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  if (b[10] === 0xff && b[11] === 0xff) return b[12] === 127; // IPv4-mapped
  if (b[10] !== 0 || b[11] !== 0) return false;
  for (let i = 12; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1; // ::1
}

/** Whether `address`, as `net.Socket#remoteAddress` gives it, is on loopback (see {@link isLoopbackBytes}). */
export function isLoopbackText(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address.startsWith('127.')) return true;
  if (address.startsWith('::ffff:')) return address.slice(7).startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}
