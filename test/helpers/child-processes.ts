import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';

/** Children of this test file still running. */
const running = new Set<ChildProcess>();

// A test file's process ends (the runner's --test-force-exit, or a failed assertion before a
// test's own stop) with its servers and proxies killed, never left running as orphans.
process.once('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/**
 * `child_process.spawn`, with the child killed (SIGKILL) when this test file's process
 * exits, if it still runs then: a test that fails before it stops its server leaves nothing behind.
 */
export const spawn: typeof nodeSpawn = ((...args: Parameters<typeof nodeSpawn>) => {
  const p = (nodeSpawn as (...a: unknown[]) => ChildProcess)(...args);
  running.add(p);
  p.once('exit', () => running.delete(p));
  return p;
}) as typeof nodeSpawn;
