/**
 * Processes for the load benchmarks: CPU pinning (servers on all cores but the last, the
 * load generator on the last, when `taskset` exists and there are 2+ cores), and starting
 * and stopping servers.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HUGE_PAGES_TUNABLE } from '../../src/server/huge-pages.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CORES = availableParallelism();
/** Whether servers and load generators run on separate cores. */
export const PIN = CORES >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const SERVER_CPUS = PIN ? `0-${CORES - 2}` : 'any';
export const LOAD_CPU = PIN ? String(CORES - 1) : 'any';
/** Server threads that fit the servers' cores. */
export const SERVER_THREADS = PIN ? CORES - 1 : CORES;

/** `cmd` run on the servers' cores. */
export function onServerCpus(cmd: string[]): string[] {
  return PIN ? ['taskset', '-c', SERVER_CPUS, ...cmd] : cmd;
}

/** `cmd` run on the load generator's core. */
export function onLoadCpu(cmd: string[]): string[] {
  return PIN ? ['taskset', '-c', LOAD_CPU, ...cmd] : cmd;
}

/**
 * The environment `sabcache` and `npm start` give Node: glibc asked for transparent huge
 * pages (src/server/huge-pages.ts). A sabcache server or load measured as users run it gets it.
 */
export const HUGE_PAGES_ENV: NodeJS.ProcessEnv = { ...process.env, GLIBC_TUNABLES: `${HUGE_PAGES_TUNABLE}=1` };

/** This process's environment without GLIBC_TUNABLES: Node as `node bin/sabcache.js` runs it, without huge pages. */
export const PLAIN_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GLIBC_TUNABLES'));

/** Starts `cmd` in the repository (with `env`, default this process's) and resolves once its output matches `ready`. */
export async function startProcess(cmd: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const [c, ...args] = cmd;
  const proc = spawn(c, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let started = false;
    // Output after the ready line is drained and dropped (a chatty server would otherwise
    // make this buffer, and the regex test over it, grow without end).
    const on = (d: Buffer) => {
      if (started) return;
      out += d;
      if (ready.test(out)) {
        started = true;
        resolve();
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code}: ${out}`)));
  });
  return proc;
}

/** Stops a process with SIGTERM and waits for it to exit. */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}
