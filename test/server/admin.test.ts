import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { spawn } from '../helpers/child-processes.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeCacheSnapshot } from '../../src/persist/cache-persistence.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { freePort } from '../helpers/server-process.ts';

interface Health { status: string; listening: number; threads: number; recovery: { phase: string; snapshot?: { blocks: number; blocksDone: number } }; waitingFor: string[] }

/** GET `url`: its status and JSON body, or null while nothing listens. */
async function probe(url: string): Promise<{ status: number; body: Health } | null> {
  try {
    const r = await fetch(url);
    return { status: r.status, body: await r.json() as Health };
  } catch {
    return null;
  }
}

/**
 * Writes about 100 MB of snapshot into `dir` (400,000 entries, 100 blocks of 1 MiB: a load
 * long enough to be seen), then starts a server with `threads` on it.
 */
async function startOnSnapshot(dir: string, threads: number, stdio: 'pipe' | 'ignore') {
  // An index with room to spare: these tests are about the start, not a full bucket's evictions.
  const cache = SharedCache.create({ memoryBytes: 256 * 1024 * 1024, expectedItemBytes: 128 });
  const value = 'v'.repeat(200);
  for (let i = 0; i < 400_000; i++) cache.set(`key:${i}`, value);
  // What the snapshot holds: a full bucket of this cache may have evicted a few while it filled.
  const held = cache.stats().items;
  writeCacheSnapshot(cache, dir, 2, 0n);
  cache.close();
  const adminPort = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/sabcache.ts', '--host', '127.0.0.1', '--port', String(await freePort()), '--admin-port', String(adminPort), '--resp-port', '0', '--threads', String(threads), '--memory', '256mb', '--data-dir', dir, '--snapshot-interval', '0'], { stdio: ['ignore', stdio, stdio] });
  return { adminPort, proc, held };
}

test('/readyz and /healthz before, during and after start and stop: the snapshot load\'s progress, then ready, then stopping', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-ready-'));
  let server: ChildProcess | undefined;
  try {
    const { adminPort, proc } = await startOnSnapshot(dir, 2, 'pipe');
    server = proc;
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise((r) => proc.once('exit', r));
    const seen: { status: number; body: Health }[] = [];
    const started = Date.now();
    for (;;) {
      assert.ok(Date.now() - started < 60_000, `not ready in 60 s:\n${out}`);
      const r = await probe(`http://127.0.0.1:${adminPort}/readyz`);
      if (r !== null) seen.push(r);
      if (r?.status === 200) break;
    }
    const loading = seen.filter((s) => s.body.recovery.phase === 'loading-snapshot' && s.body.recovery.snapshot);
    assert.ok(loading.length > 0, `a /readyz answered during the load: ${JSON.stringify(seen.map((s) => s.body.recovery.phase))}\n${out}`);
    assert.ok(loading.every((s) => s.status === 503 && s.body.status === 'starting' && s.body.listening === 0));
    const partial = loading.find((s) => s.body.recovery.snapshot!.blocksDone < s.body.recovery.snapshot!.blocks);
    assert.ok(partial, 'one answer showed the load part way');
    assert.match(partial.body.waitingFor[0], /^snapshot .*: \d+ of \d+ blocks \(\d+%\)$/);
    assert.ok(partial.body.recovery.snapshot!.blocks >= 20, JSON.stringify(partial.body));
    const ready = seen.at(-1)!;
    assert.deepEqual([ready.body.status, ready.body.listening, ready.body.threads, ready.body.recovery.phase, ready.body.waitingFor], ['ready', 2, 2, 'done', []]);
    const health = await probe(`http://127.0.0.1:${adminPort}/healthz`);
    assert.equal(health?.status, 200);
    assert.equal(health?.body.status, 'ok');

    // Stopping: 503 "stopping" while the last snapshot is written, then nothing listens.
    proc.kill('SIGTERM');
    const stopping: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = await probe(`http://127.0.0.1:${adminPort}/readyz`);
      if (r === null) break;
      stopping.push(`${r.status} ${r.body.status}`);
    }
    assert.ok(stopping.every((s) => s === '503 stopping' || s === '200 ready'), stopping.join(', '));
    assert.equal(await exited, 0, out);
  } finally {
    // A failed assertion must not leave the server running: its handle would keep this
    // file's process, and so the whole test run, from ever ending.
    if (server !== undefined && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admin actions wait for the start: a flush asked while the snapshot loads is refused 503 SABCACHE_ERR_NOT_READY, and nothing is lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-notready-'));
  let server: ChildProcess | undefined;
  try {
    const { adminPort, proc, held } = await startOnSnapshot(dir, 1, 'ignore');
    server = proc;
    const exited = new Promise((r) => proc.once('exit', r));
    let refused: { status: number; body: { error: { code: string } } } | undefined;
    for (let i = 0; i < 100_000 && refused === undefined; i++) {
      const r = await fetch(`http://127.0.0.1:${adminPort}/v1/admin/flush`, { method: 'POST' }).catch(() => null);
      if (r === null) continue;
      const body = await r.json() as { error: { code: string } };
      if (r.status === 503) refused = { status: r.status, body };
      else break; // started already: the test could not catch the start
    }
    assert.ok(refused, 'a flush reached the admin port during the start');
    assert.equal(refused.body.error.code, 'SABCACHE_ERR_NOT_READY');
    for (let i = 0; i < 6000 && (await probe(`http://127.0.0.1:${adminPort}/readyz`))?.status !== 200; i++) await new Promise((r) => setTimeout(r, 10));
    const stats = await (await fetch(`http://127.0.0.1:${adminPort}/v1/stats`)).json() as { items: number; evictions: number };
    // Every entry of the snapshot is in, but for the rare few a full bucket of the loading
    // cache (its index at up to 55% of its ways, docs/design.md §2 "Index growth") evicted, and counted.
    assert.ok(held > 399_000, `${held} of 400000 held by the cache that wrote the snapshot`);
    assert.equal(stats.items + stats.evictions, held);
    assert.ok(stats.evictions < 400, `${stats.evictions} evicted by full buckets`);
    proc.kill('SIGTERM');
    await exited;
  } finally {
    // A failed assertion must not leave the server running: its handle would keep this
    // file's process, and so the whole test run, from ever ending.
    if (server !== undefined && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
