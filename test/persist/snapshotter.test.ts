import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Snapshotter } from '../../src/persist/snapshotter.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { startServer } from '../helpers/server-process.ts';

const small = ['--threads', '2', '--memory', '16mb', '--max-value-bytes', '64kb'];

test('POST /v1/admin/snapshot writes a snapshot and /v1/stats shows it; without --data-dir it is a 409', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-srv-'));
  const srv = await startServer([...small, '--data-dir', dir, '--snapshot-interval', '0']);
  try {
    for (let i = 0; i < 100; i++) await fetch(`${srv.base}/v1/kv/k${i}`, { method: 'PUT', body: `v${i}` });
    const r = await fetch(`${srv.admin}/v1/admin/snapshot`, { method: 'POST' });
    assert.equal(r.status, 200);
    const body = await r.json() as { path: string; bytes: number; entries: number };
    assert.equal(body.entries, 100);
    assert.ok(readdirSync(dir).includes(body.path.slice(dir.length + 1)));
    const stats = await (await fetch(`${srv.admin}/v1/stats`)).json() as { persistence: { dataDir: string; lastSnapshotEntries: number; lastSnapshotBytes: number; snapshotsWritten: number } };
    assert.equal(stats.persistence.dataDir, dir);
    assert.equal(stats.persistence.lastSnapshotEntries, 100);
    assert.equal(stats.persistence.lastSnapshotBytes, body.bytes);
    assert.equal(stats.persistence.snapshotsWritten, 1);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const plain = await startServer(small);
  try {
    const r = await fetch(`${plain.admin}/v1/admin/snapshot`, { method: 'POST' });
    assert.equal(r.status, 409);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'SABCACHE_ERR_NO_DATA_DIR');
    const stats = await (await fetch(`${plain.admin}/v1/stats`)).json() as Record<string, unknown>;
    assert.equal(stats.persistence, undefined);
  } finally {
    await plain.stop();
  }
});

test('a graceful stop writes a last snapshot: the restarted server has every acknowledged write, TTLs included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-srv-'));
  try {
    const first = await startServer([...small, '--data-dir', dir, '--snapshot-interval', '0']);
    await fetch(`${first.admin}/v1/admin/snapshot`, { method: 'POST' }); // an older snapshot, without what follows
    const acknowledged: string[] = [];
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${first.base}/v1/kv/key${i}`, { method: 'PUT', body: `value-${i}` });
      if (r.status === 204) acknowledged.push(`key${i}`);
    }
    await fetch(`${first.base}/v1/kv/counter/incr?by=7`, { method: 'POST' });
    await fetch(`${first.base}/v1/kv/ttl?ttl=500`, { method: 'PUT', body: 'x' });
    assert.equal(acknowledged.length, 300);
    assert.equal(await first.stop(), 0);
    // Every key once in the body; a key moved during the walk again in the tail: the workers'
    // active segments, sealed as they stop, hold little, and the owner's next maintenance
    // tick compacts them (all 302 keys were in the tail in one run of five).
    const wrote = /wrote (\d+) entries \(\d+ bytes(?:, (\d+) of them in its tail[^)]*)?\) to .*snapshot-\d{13}\.sabsnap/.exec(first.output());
    assert.ok(wrote, first.output());
    const [entries, tail] = [Number(wrote[1]), Number(wrote[2] ?? 0)];
    assert.ok(entries >= 302 && entries - tail <= 302 && tail <= 302, `${entries} entries, ${tail} in the tail`);

    const second = await startServer([...small, '--data-dir', dir]);
    try {
      assert.match(second.output(), /loaded 302 entries/);
      for (const key of acknowledged) assert.equal(await (await fetch(`${second.base}/v1/kv/${key}`)).text(), `value-${key.slice(3)}`);
      assert.equal(await (await fetch(`${second.base}/v1/kv/counter/incr`, { method: 'POST' })).text(), '8');
      const ttl = Number((await fetch(`${second.base}/v1/kv/ttl`)).headers.get('sabcache-ttl'));
      assert.ok(ttl > 490 && ttl <= 500, `TTL after restart: ${ttl}`);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after kill -9 the server restarts from its last snapshot; a temp file left by a write cut short is ignored, then removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-srv-'));
  try {
    const first = await startServer([...small, '--data-dir', dir, '--snapshot-interval', '0']);
    for (let i = 0; i < 200; i++) await fetch(`${first.base}/v1/kv/saved${i}`, { method: 'PUT', body: `s${i}` });
    assert.equal((await fetch(`${first.admin}/v1/admin/snapshot`, { method: 'POST' })).status, 200);
    for (let i = 0; i < 50; i++) await fetch(`${first.base}/v1/kv/later${i}`, { method: 'PUT', body: 'x' });
    first.proc.kill('SIGKILL');
    await first.stop();
    // What a kill during a snapshot leaves: a newer, half-written temp file.
    const tmp = join(dir, `snapshot-${String(Date.now() + 60_000).padStart(13, '0')}.sabsnap.tmp`);
    writeFileSync(tmp, 'SABCSNAP half');

    const second = await startServer([...small, '--data-dir', dir, '--snapshot-interval', '0']);
    try {
      assert.match(second.output(), /loaded 200 entries/);
      assert.doesNotMatch(second.output(), /refusing snapshot/);
      for (let i = 0; i < 200; i += 7) assert.equal(await (await fetch(`${second.base}/v1/kv/saved${i}`)).text(), `s${i}`);
      assert.equal((await fetch(`${second.base}/v1/kv/later0`)).status, 404, 'writes after the last snapshot are lost to a crash (no WAL yet)');
      assert.equal((await fetch(`${second.admin}/v1/admin/snapshot`, { method: 'POST' })).status, 200);
      assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')), 'the next snapshot removes the stale temp file');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Threads of this process in the SCHED_IDLE class (policy 5, field 41 of /proc/…/stat). */
function idleClassThreads(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38] === '5') n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

test('the snapshot pool threads (the lead, and a helper when the process has 2 cores or more) run in the SCHED_IDLE class', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  // A rewrite of snapshot-task.ts once dropped these calls unnoticed: GET p99 during
  // snapshots went from 0.4 to 8-12 ms in bench:persist.
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-idle-'));
  const cache = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10 });
  const snapshotter = new Snapshotter(cache, { dir, intervalSeconds: 0, keep: 1 }, () => {});
  try {
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, `v${i}`);
    assert.equal(idleClassThreads(), 0);
    await snapshotter.snapshot();
    // Each task ran on its own pool thread, which stays (idleTimeout) in its class.
    assert.equal(idleClassThreads(), availableParallelism() > 1 ? 2 : 1);
  } finally {
    await snapshotter.close();
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
