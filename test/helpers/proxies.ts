/**
 * Real proxies for the scale-out tests: twemproxy (Debian's `nutcracker`) and HAProxy,
 * started on loopback in front of sabcache nodes with the configs of docs/scale-out.md,
 * stopped by the caller. A test that needs one skips, naming the package, when it is absent.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { spawn } from './child-processes.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.ts';

/** Why a test that needs `command` (from Debian package `pkg`) must skip, or false when it is here. */
export function missing(command: string, pkg: string): string | false {
  return spawnSync(command, ['-V'], { stdio: 'ignore' }).error === undefined ? false : `${command} is not installed (apt-get install ${pkg}; .ci/run installs it)`;
}

/** A running proxy. */
export interface Proxy {
  port: number;
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function listening(port: number, proc: ChildProcess, out: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`proxy exited: ${out()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy not listening on ${port}: ${out()}`);
}

function run(cmd: string, args: string[], dir: string, port: number): Promise<Proxy> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const proxy: Proxy = {
    port, proc, output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return listening(port, proc, () => out).then(() => proxy, async (e) => { await proxy.stop(); throw e; });
}

/** A twemproxy node entry: its RESP port and name. */
export interface TwemNode { name: string; respPort: number }

/** twemproxy's config for `nodes` (docs/scale-out.md), listening on `port`. */
export function twemproxyConfig(port: number, nodes: readonly TwemNode[], extra: Record<string, string | number | boolean> = {}): string {
  const options: Record<string, string | number | boolean> = {
    listen: `127.0.0.1:${port}`, hash: 'md5', hash_tag: '"{}"', distribution: 'ketama', redis: true,
    auto_eject_hosts: true, server_retry_timeout: 2000, server_failure_limit: 2, timeout: 1000, preconnect: true, ...extra,
  };
  return [
    'sabcache:',
    ...Object.entries(options).map(([k, v]) => `  ${k}: ${v}`),
    '  servers:',
    ...nodes.map((n) => `    - 127.0.0.1:${n.respPort}:1 ${n.name}`),
    '',
  ].join('\n');
}

/** Starts twemproxy in front of `nodes`. */
export async function startTwemproxy(nodes: readonly TwemNode[], extra: Record<string, string | number | boolean> = {}): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-twem-'));
  const port = await freePort();
  const conf = join(dir, 'nutcracker.yml');
  writeFileSync(conf, twemproxyConfig(port, nodes, extra));
  const check = spawnSync('nutcracker', ['-t', '-c', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nutcracker -t: ${check.stderr}${check.stdout}`);
  return run('nutcracker', ['-c', conf, '-s', String(await freePort()), '-o', join(dir, 'nutcracker.log'), '-v', '5'], dir, port);
}

/** An HAProxy backend: a node's data port and admin port. */
export interface HaNode { name: string; port: number; adminPort: number }

/** HAProxy's config for `nodes` (docs/scale-out.md), listening on `port`. */
export function haproxyConfig(port: number, nodes: readonly HaNode[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout tunnel 1h',
    '  option http-keep-alive',
    'frontend sabcache',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    'backend nodes',
    // The key's path: /v1/kv/{key} and /v1/kv/{key}/incr hash the same 3 levels.
    '  balance uri depth 3',
    '  hash-type consistent',
    // HTTP/1.1 with a Host: uWS answers no request without one (HAProxy's default check is HTTP/1.0 without it).
    '  option httpchk',
    '  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 2',
    ...nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.port} check port ${n.adminPort}`),
    '',
  ].join('\n');
}

/** Starts HAProxy in front of `nodes`. */
export async function startHaproxy(nodes: readonly HaNode[]): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-haproxy-'));
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfig(port, nodes));
  const check = spawnSync('haproxy', ['-c', '-f', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c: ${check.stderr}${check.stdout}`);
  return run('haproxy', ['-db', '-f', conf], dir, port);
}
