import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { WalReader } from '../../src/persist/wal-format.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replayWal } from '../../src/persist/wal-replay.ts';
import type { WalGapError } from '../../src/errors.ts';
import { listWalFiles, pruneWalFiles, WAL_PREALLOCATE_BYTES } from '../../src/persist/wal-file.ts';
import { type FsyncPolicy, WalWriter, type WalWriterOptions } from '../../src/persist/wal-writer.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { H_WAL_EPOCH } from '../../src/table/layout.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'sabcache-wal-'));
const create = () => SharedCache.create({ memoryBytes: 8 << 20, maxValueBytes: 64 << 10 });
const quiet = () => {};

/**
 * Runs `fn` with a cache whose changes a WalWriter with policy `fsync` logs into a fresh
 * directory; closes the cache and removes the directory after (closing the writer is `fn`'s).
 */
async function withWriter(fsync: FsyncPolicy, fn: (a: SharedCache, wal: WalWriter, dir: string) => void | Promise<void>, options: WalWriterOptions = {}): Promise<void> {
  const dir = tempDir();
  const a = create();
  try {
    const wal = new WalWriter(dir, a.table.owner, fsync, a.table.v, quiet, options);
    a.table.walSink = wal;
    await fn(a, wal, dir);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every key of `keys` as `cache` answers it: value, type and whether it expires. */
function state(cache: SharedCache, keys: string[]): string[] {
  return keys.map((k) => {
    const e = cache.getEntry(k);
    if (!e) return `${k}: -`;
    return `${k}: ${new TextDecoder().decode(e.value)} (${e.type}, ${e.ttlSeconds < 0 ? 'no TTL' : 'TTL'})`;
  });
}

/** Asserts that the TTLs of `keys` agree within a second (the two caches' clocks tick apart). */
function assertSameTtls(a: SharedCache, b: SharedCache, keys: string[]): void {
  for (const k of keys) {
    const x = a.ttl(k);
    const y = b.ttl(k);
    assert.ok(x === y || (x >= 0 && y >= 0 && Math.abs(x - y) <= 1), `${k}: TTL ${x} vs ${y}`);
  }
}

test('set, incr, delete, expire, persist and flush replay into an empty cache as they happened', () => {
  const dir = tempDir();
  const a = create();
  const b = create();
  try {
    const wal = new WalWriter(dir, a.table.owner, 'no', a.table.v, quiet);
    a.table.walSink = wal;
    a.set('gone', 'x');
    a.flush();
    a.set('s', 'wörld');
    a.set('bin', new Uint8Array([0, 1, 255]));
    a.incr('n', 40);
    a.incr('n', 2);
    a.set('d', 'x');
    a.delete('d');
    a.set('t', 'ttl', { ttlSeconds: 500 });
    a.set('p', 'persisted', { ttlSeconds: 500 });
    a.persist('p');
    a.set('e', 'expire me');
    a.expire('e', 300);
    a.set('cas', 'v1');
    assert.equal(a.set('cas', 'v2', { ifAbsent: true }), undefined, 'a refused write logs nothing');
    wal.close();
    const r = replayWal(b.table, dir, 0, quiet);
    assert.equal(r.problems.length, 0);
    const keys = ['gone', 's', 'bin', 'n', 'd', 't', 'p', 'e', 'cas'];
    assert.deepEqual(state(b, keys), state(a, keys));
    assertSameTtls(a, b, keys);
    assert.equal(b.getEntry('n')!.type, 'integer');
    assert.equal(r.applied, r.records);
    // Only records after a sequence: none after the last one.
    const c = create();
    assert.equal(replayWal(c.table, dir, r.lastSeq, quiet).applied, 0);
    c.close();
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn or corrupt tail ends the replay of that file with a log line; the records before it apply', () => withWriter('no', async (a, wal, dir) => {
  for (let i = 0; i < 10; i++) a.set(`k${i}`, `v${i}`);
  wal.close();
  const [file] = listWalFiles(dir);
  const whole = readFileSync(file);
  for (const [name, damage, reason] of [
    ['torn', () => truncateSync(file, whole.length - 3), /cut short/],
    ['flipped', () => { const d = Buffer.from(whole); d[d.length - 2] ^= 1; writeFileSync(file, d); }, /checksum mismatch/],
  ] as const) {
    damage();
    const b = create();
    const lines: string[] = [];
    try {
      const r = replayWal(b.table, dir, 0, (l) => lines.push(l));
      assert.equal(r.applied, 9, name);
      assert.equal(b.get('k8'), 'v8');
      assert.equal(b.get('k9'), undefined, `${name}: the damaged last record is not applied`);
      assert.match(r.problems[0], reason);
      assert.match(lines[0], /not replayed/);
    } finally {
      b.close();
      writeFileSync(file, whole);
    }
  }
}));

test('fsync always writes its file ahead with zeros: a replay ends cleanly at them, a damaged record before them is still reported, and closing cuts them off', () => withWriter('always', async (a, wal, dir) => {
  const crashed = tempDir();
  try {
    for (let i = 0; i < 20; i++) a.set(`k${i}`, `v${i}`);
    await new Promise<void>((resolve) => wal.whenDurable(resolve));
    const [open] = listWalFiles(dir);
    // The file as a kill -9 now would leave it: its records, then zeros.
    const image = readFileSync(open);
    assert.equal(image.length % WAL_PREALLOCATE_BYTES, 0, 'written ahead in whole steps');
    assert.equal(image.at(-1), 0);
    wal.close();
    const [closed] = listWalFiles(dir);
    const kept = readFileSync(closed);
    assert.ok(kept.length < image.length && kept.at(-1) !== 0, 'the closed file ends with its last record');
    assert.deepEqual(kept, image.subarray(0, kept.length));
    const crashFile = join(crashed, 'wal-00-0000000000000001.log');
    const replay = (bytes: Uint8Array) => {
      writeFileSync(crashFile, bytes);
      const b = create();
      try {
        const r = replayWal(b.table, crashed, 0, quiet);
        return { applied: r.applied, problems: r.problems, last: b.get('k19') };
      } finally {
        b.close();
      }
    };
    assert.deepEqual(replay(image), { applied: 20, problems: [], last: 'v19' });
    // Fewer zero bytes than a record header before the end: a clean end too.
    assert.deepEqual(replay(Buffer.concat([kept, Buffer.alloc(5)])), { applied: 20, problems: [], last: 'v19' });
    // Zeros with records after them are a hole, not the end: reported like a torn record.
    let holeAt = 32; // after the file header, then 10 records (each: u32 body bytes, u32 CRC, body)
    for (let r = 0; r < 10; r++) holeAt += 8 + kept.readUInt32LE(holeAt);
    const holed = Buffer.from(kept);
    holed.fill(0, holeAt, holeAt + 8);
    const h = replay(holed);
    assert.equal(h.applied, 10, 'the records before the hole');
    assert.match(h.problems[0], /zeros where a record should start, with data after them/);
    const flipped = Buffer.from(image);
    flipped[kept.length - 2] ^= 1;
    const r = replay(flipped);
    assert.equal(r.applied, 19);
    assert.equal(r.last, undefined);
    assert.match(r.problems[0], /checksum mismatch/);
  } finally {
    rmSync(crashed, { recursive: true, force: true });
  }
}));

test('with fsync always an answer waits for the fdatasync that covers its record; one sync serves a whole turn', () => withWriter('always', async (a, wal) => {
  const order: string[] = [];
  for (let i = 0; i < 50; i++) {
    a.set(`k${i}`, 'v');
    wal.whenDurable(() => order.push(`answer ${i}`));
  }
  assert.deepEqual(order, [], 'nothing answered before the sync');
  await new Promise<void>((resolve) => wal.whenDurable(resolve));
  assert.equal(order.length, 50);
  assert.ok(wal.stats.syncs >= 1 && wal.stats.syncs <= 2, `syncs: ${wal.stats.syncs}`);
  let now = false;
  wal.whenDurable(() => { now = true; });
  assert.equal(now, true, 'nothing pending: at once');
  wal.close();
}));

test('fsync always, sync thread: a sync answers only the requests whose records it covers, not those that came after it started', () => withWriter('always', async (a, wal, dir) => {
  a.set('first-key', 'v');
  const first = new Promise<void>((resolve) => wal.whenDurable(resolve));
  wal.flush(); // written, and its sync asked for
  // Block this thread until that sync has finished (its count is in shared memory; a slow
  // machine may take seconds to start the sync thread), then change more before the event
  // loop sees its answer.
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (const t0 = Date.now(); wal.stats.syncs < 1 && Date.now() - t0 < 30_000;) Atomics.wait(sleep, 0, 0, 10);
  a.set('second-key', 'v');
  let syncsAtFirst = -1;
  let syncsAtSecond = -1;
  let secondInFile = false;
  const [file] = listWalFiles(dir);
  const second = new Promise<void>((resolve) => wal.whenDurable(() => {
    syncsAtSecond = wal.stats.syncs;
    secondInFile = readFileSync(file).includes('second-key');
    resolve();
  }));
  await first.then(() => { syncsAtFirst = wal.stats.syncs; });
  await second;
  assert.ok(syncsAtFirst >= 1);
  assert.ok(secondInFile, 'the second answer came after its record was written');
  assert.ok(syncsAtSecond >= 2, `and after a second sync (syncs: ${syncsAtSecond}): the first one started before that record was written`);
  wal.close();
}, { inlineSyncMaxMicros: 0 }));

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Forever, for tests that must not end a wait by time. */
const HOUR_MICROS = 3_600e6;

test('fsync always, inline: records wait for as many as the last batch had, so its clients share the next fdatasync', () => withWriter('always', async (a, wal) => {
  const durable = () => new Promise<void>((resolve) => wal.whenDurable(resolve));
  for (let i = 0; i < 5; i++) a.set(`a${i}`, 'v');
  await durable(); // the first batch: nothing to wait for
  const syncs = wal.stats.syncs;
  a.set('b0', 'v');
  let answered = 0;
  wal.whenDurable(() => answered++);
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(answered, 0, 'one record waits for the four more that the last batch had');
  assert.equal(wal.stats.syncs, syncs);
  for (let i = 1; i < 5; i++) a.set(`b${i}`, 'v');
  await durable();
  assert.equal(answered, 1);
  assert.equal(wal.stats.syncs, syncs + 1, 'one fdatasync for the five');
  wal.close();
}, { inlineSyncMaxMicros: Infinity, maxWaitMicros: HOUR_MICROS, batchWindowMs: 3_600_000 }));

test('fsync always, inline: a lone client (one write per batch) never waits for more', { timeout: 30_000 }, () => withWriter('always', async (a, wal) => {
  for (let i = 0; i < 20; i++) {
    a.set(`k${i}`, 'v');
    await new Promise<void>((resolve) => wal.whenDurable(resolve));
  }
  assert.equal(wal.stats.syncs, 20);
  wal.close();
}, { inlineSyncMaxMicros: Infinity, maxWaitMicros: HOUR_MICROS }));

test('fsync always, inline: a batch that does not fill waits no longer than maxWaitMicros', { timeout: 30_000 }, () => withWriter('always', async (a, wal) => {
  for (let i = 0; i < 5; i++) a.set(`a${i}`, 'v');
  await new Promise<void>((resolve) => wal.whenDurable(resolve));
  const syncs = wal.stats.syncs;
  a.set('alone', 'v');
  await new Promise<void>((resolve) => wal.whenDurable(resolve));
  assert.equal(wal.stats.syncs, syncs + 1);
  wal.close();
}, { inlineSyncMaxMicros: Infinity, maxWaitMicros: 20_000, batchWindowMs: 3_600_000 }));

test('fsync always: the writer moves between its sync thread and syncing inline with batches in flight; every answer comes after its record is in the file', { timeout: 60_000 }, () => withWriter('always', async (a, wal, dir) => {
  let late = 0;
  let applied = 0;
  for (let round = 0; round < 6; round++) {
    // Even rounds: the sync thread (started in round 0 once a first sync was timed); odd: inline.
    wal.inlineSyncMaxMicros = round % 2 === 0 ? 0 : Infinity;
    const answers: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      const key = `r${round}-k${String(i).padStart(2, '0')}`;
      a.set(key, 'v');
      answers.push(new Promise<void>((resolve) => wal.whenDurable(() => {
        if (!listWalFiles(dir).some((f) => readFileSync(f).includes(key))) late++;
        resolve();
      })));
      applied++;
      if (i % 3 === 2) await turn();
    }
    await Promise.all(answers);
  }
  assert.equal(late, 0, 'answers that came before their record was in the file');
  wal.close();
  const b = create();
  try {
    const r = replayWal(b.table, dir, 0, quiet);
    assert.deepEqual(r.problems, []);
    assert.equal(r.applied, applied);
  } finally {
    b.close();
  }
}));

test('fsync always: 4 threads (2 with sync threads, 2 syncing inline) get every answer while the epoch moves under them, each after its record is in a file', async () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 16 << 20 });
  const b = SharedCache.create({ memoryBytes: 16 << 20 });
  try {
    const writes = 400;
    const workers = [0, 1, 2, 3].map((thread) => startFixture('wal-always-worker', { handle: a.handle, dir, thread, writes, inlineSyncMaxMicros: thread < 2 ? 0 : Infinity }));
    const exited = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
    // Files close and open under the writers (as a snapshot makes them do), racing the sync
    // threads' switch to each new file. An answer that never came would hang this test.
    const mover = setInterval(() => Atomics.add(a.table.v.i32, H_WAL_EPOCH, 1), 3);
    const results = (await Promise.all(workers.map((w) => firstMessage(w)))) as { late: number; syncs: number }[];
    clearInterval(mover);
    await Promise.all(exited);
    assert.deepEqual(results.map((r) => r.late), [0, 0, 0, 0], 'answers that came before their record was written');
    for (const r of results) assert.ok(r.syncs >= 1, `fdatasyncs: ${r.syncs}`);
    const r = replayWal(b.table, dir, 0, quiet);
    assert.deepEqual(r.problems, []);
    assert.equal(r.applied, 4 * writes);
    assert.equal(b.stats().items, 4 * writes);
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a moved epoch closes the file under its last sequence; a snapshot at that sequence lets it be pruned', () => withWriter('no', async (a, wal, dir) => {
  a.set('a', '1');
  a.set('b', '2');
  Atomics.add(a.table.v.i32, H_WAL_EPOCH, 1);
  // Records buffered when the epoch moves still go to the old file, which then closes.
  wal.flush();
  a.set('c', '3');
  wal.flush();
  const names = readdirSync(dir).sort();
  assert.equal(names.length, 2);
  assert.match(names[0], /^wal-\d{2}-0{15}1-0{15}2\.log$/, 'closed: first and last sequence');
  assert.match(names[1], /^wal-\d{2}-0{15}3\.log$/, 'open: first sequence');
  assert.equal(pruneWalFiles(dir, 1), 0, 'not all of it is covered');
  assert.equal(pruneWalFiles(dir, 2), 1);
  assert.deepEqual(readdirSync(dir), [names[1]]);
  wal.close();
}));

test('8 threads racing on 3 keys: replaying their WAL files rebuilds exactly the state they left', async () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10 });
  const b = SharedCache.create({ memoryBytes: 16 << 20, maxValueBytes: 64 << 10 });
  try {
    const keys = 3;
    const workers = [0, 1, 2, 3, 4, 5, 6, 7].map((thread) => startFixture('wal-writer-worker', { handle: a.handle, dir, thread, iterations: 20_000, keys }));
    await Promise.all(workers.map((w) => firstMessage(w)));
    assert.equal(listWalFiles(dir).length, 8);
    const r = replayWal(b.table, dir, 0, quiet);
    assert.deepEqual(r.problems, []);
    assert.equal(r.records, r.applied);
    const names = Array.from({ length: keys }, (_, i) => [`k${i}`, `n${i}`]).flat();
    assert.deepEqual(state(b, names), state(a, names));
    assertSameTtls(a, b, names);
    // Each incr logs the value it left: in sequence order, one counter's records must
    // count 1, 2, 3, … A sequence taken outside the bucket lock would swap some of them.
    const byCounter = new Map<string, { seq: number; value: number }[]>();
    for (const path of listWalFiles(dir)) {
      const fd = openSync(path, 'r');
      const reader = new WalReader(fd, path);
      while (reader.next()) {
        const key = new TextDecoder().decode(reader.record.key);
        if (key.startsWith('n')) byCounter.set(key, [...(byCounter.get(key) ?? []), { seq: reader.record.seq, value: Number(new TextDecoder().decode(reader.record.value)) }]);
      }
      closeSync(fd);
    }
    assert.equal(byCounter.size, keys);
    for (const [key, records] of byCounter) {
      records.sort((x, y) => x.seq - y.seq);
      const out = records.findIndex((r, i) => r.value !== i + 1);
      assert.equal(out, -1, `${key}: record ${out} in sequence order holds ${records[out]?.value}`);
    }
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a gap in the WAL (a closed file missing) stops the replay with SABCACHE_ERR_WAL_GAP naming the range; accepted only when asked', () => {
  const dir = tempDir();
  const a = create();
  try {
    // Three closed files: incr 1-3, incr 4-6, incr 7-9.
    for (let file = 0; file < 3; file++) {
      const wal = new WalWriter(dir, a.table.owner, 'no', a.table.v, quiet);
      a.table.walSink = wal;
      for (let i = 0; i < 3; i++) a.incr('n');
      wal.close();
    }
    const files = listWalFiles(dir).sort();
    assert.equal(files.length, 3, files.join());
    rmSync(files[1]);
    const b = create();
    assert.throws(() => replayWal(b.table, dir, 0, quiet), (e: WalGapError) => e.code === 'SABCACHE_ERR_WAL_GAP' && e.from === 4n && e.to === 6n && /missing records 4 to 6/.test(e.message));
    b.close();
    const c = create();
    const lines: string[] = [];
    const r = replayWal(c.table, dir, 0, (l) => lines.push(l), true);
    assert.deepEqual(r.gaps, [[4, 6]]);
    assert.match(lines.join('\n'), /WAL GAP: records 4 to 6 are missing/);
    // The incr across the gap: the replay holds the last logged value, never a wrong sum.
    assert.equal(c.get('n'), '9');
    c.close();
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hole a crash explains (a file left open, cut short) is not a gap', () => {
  const dir = tempDir();
  const a = create();
  try {
    const first = new WalWriter(dir, a.table.owner, 'no', a.table.v, quiet);
    a.table.walSink = first;
    a.set('x', '1'); // seq 1, in the first writer's file
    first.close();
    // A second "thread" whose file is left open (its writer crashed): seq 2 is lost with its
    // tail, and seq 3, by a third writer, was made durable.
    const crashed = new WalWriter(dir, a.table.owner, 'no', a.table.v, quiet);
    a.table.walSink = crashed;
    a.set('y', 'lost');
    crashed.close();
    const crashedFile = listWalFiles(dir).find((f) => /-0{15}2-0{15}2\.log$/.test(f))!;
    // Back under its open name, and its one record cut off: as a kill -9 leaves it.
    const open = crashedFile.replace(/-0{15}2\.log$/, '.log');
    writeFileSync(open, readFileSync(crashedFile).subarray(0, 40));
    rmSync(crashedFile);
    const third = new WalWriter(dir, a.table.owner, 'no', a.table.v, quiet);
    a.table.walSink = third;
    a.set('z', '3');
    third.close();
    const b = create();
    const r = replayWal(b.table, dir, 0, quiet);
    assert.deepEqual(r.gaps, []);
    assert.deepEqual([b.get('x'), b.get('y'), b.get('z')], ['1', undefined, '3']);
    assert.ok(r.fileStates.some((f) => f.open && f.damaged), JSON.stringify(r.fileStates));
    b.close();
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
