/**
 * Cache servers for the comparison at equal configured memory (bench:eviction, its servers
 * part): sabcache at default options but `--memory`, Redis with a `maxmemory-policy`, and
 * memcached with `-m`. Each listens on 127.0.0.1 on a free port and is stopped by the bench.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../test/helpers/server-process.ts';
import { HUGE_PAGES_ENV, startProcess, stopProcess } from './processes.ts';
import type { WireProtocol } from './replay-client.ts';

/** A started server. */
export interface CacheServer {
  name: string;
  port: number;
  protocol: WireProtocol;
  stop(): Promise<void>;
}

/** Which of the real servers' binaries are installed. */
export function installed(binary: string): boolean {
  return spawnSync(binary, ['--version']).error === undefined;
}

/**
 * sabcache's server with default options but `--memory` (and its ports), over RESP. With
 * BENCH_SABCACHE_DIR, the checkout there runs instead of this one (a baseline to compare with).
 */
export async function startSabcache(memoryBytes: number): Promise<CacheServer> {
  const port = await freePort();
  const entry = process.env.BENCH_SABCACHE_DIR ? `${process.env.BENCH_SABCACHE_DIR}/src/cli/sabcache.ts` : 'src/cli/sabcache.ts';
  const cmd = [process.execPath, '--import', 'tsx', entry, '--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(await freePort()), '--resp-port', String(port), '--memory', String(memoryBytes), ...(process.env.BENCH_SABCACHE_ARGS?.split(' ') ?? [])];
  const proc = await startProcess(cmd, /"msg":"serving /, HUGE_PAGES_ENV);
  return { name: 'sabcache', port, protocol: 'resp', stop: () => stopProcess(proc) };
}

/** Redis with `maxmemory` = `memoryBytes` and the given policy; no persistence. */
export async function startRedis(memoryBytes: number, policy: 'allkeys-lru' | 'allkeys-lfu'): Promise<CacheServer> {
  const port = await freePort();
  const proc = await startProcess(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--maxmemory', String(memoryBytes), '--maxmemory-policy', policy], /Ready to accept connections/);
  return { name: `Redis ${policy}`, port, protocol: 'resp', stop: () => stopProcess(proc) };
}

/** memcached with `-m` = `memoryBytes` (in MiB, rounded down), default slab settings. */
export async function startMemcached(memoryBytes: number): Promise<CacheServer> {
  const port = await freePort();
  // memcached refuses to run as root unless told which user to be.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const proc = spawn('memcached', [...user, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(Math.floor(memoryBytes / 2 ** 20))], { stdio: 'ignore' });
  // memcached prints nothing when ready: wait until it accepts a connection.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100 || proc.exitCode !== null) throw new Error(`memcached did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: 'memcached', port, protocol: 'memcached', stop: () => stopProcess(proc) };
}
