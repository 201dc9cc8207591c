import { type ChildProcess } from 'node:child_process';
import { spawn } from './child-processes.ts';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RunningServer {
  port: number;
  adminPort: number;
  base: string;
  admin: string;
  /** The RESP port (a free one unless the arguments gave --resp-port). */
  respPort: number;
  proc: ChildProcess;
  output: () => string;
  /** Sends `signal` (unless one was sent already) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the real CLI (`src/cli/sabcache.ts`) on free ports and waits until it serves. */
export async function startServer(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  const port = await freePort();
  const adminPort = await freePort();
  const given = extraArgs.indexOf('--resp-port');
  const respPort = given >= 0 ? Number(extraArgs[given + 1]) : await freePort();
  const respArgs = given >= 0 ? [] : ['--resp-port', String(respPort)];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), ...respArgs, ...extraArgs], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    // Serving once its log says so (JSON or pretty), or /healthz answers 200 over plain
    // HTTP (--log-level warn prints no "serving" line).
    const poll = setInterval(() => {
      if (/"msg":"serving |INFO.*serving http/.test(out)) return done();
      fetch(`http://127.0.0.1:${adminPort}/healthz`).then((r) => { if (r.status === 200) done(); }, () => {});
    }, 50);
    const done = (): void => { clearTimeout(timer); clearInterval(poll); resolve(); };
    const timer = setTimeout(() => {
      clearInterval(poll);
      proc.kill('SIGKILL');
      reject(new Error(`server did not start:\n${out}`));
    }, 20_000);
    proc.once('exit', () => { clearTimeout(timer); clearInterval(poll); reject(new Error(`server exited:\n${out}`)); });
  });
  return {
    port, adminPort, respPort, proc, base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${adminPort}`,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      // A second signal would stop the server at once (by design), so send only one.
      if (proc.exitCode === null && proc.signalCode === null && !proc.killed) proc.kill(signal);
      return exited;
    },
  };
}
