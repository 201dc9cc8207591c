import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listSnapshots, loadSnapshot, writeSnapshot } from '../../src/persist/snapshot-files.ts';
import { SharedCache } from '../../src/shared-cache.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'sabcache-snap-'));
const quiet = () => {};

test('a snapshot round-trips strings, bytes, integers, TTLs and value types into a cache of another size', () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 8 << 20, maxValueBytes: 64 << 10 });
  const b = SharedCache.create({ memoryBytes: 32 << 20, maxValueBytes: 64 << 10 });
  try {
    a.set('s', 'wörld ✓');
    a.set('empty', '');
    const bin = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 255);
    a.set('bin', bin);
    a.incr('n', 41);
    a.incr('n');
    a.set('ttl', 'soon', { ttlSeconds: 100 });
    for (let i = 0; i < 5000; i++) a.set(`k${i}`, `v${i}`);
    a.set('gone', 'x');
    a.delete('gone');
    const w = writeSnapshot(a.table, dir, 2);
    assert.equal(w.entries, 5005);
    assert.deepEqual(listSnapshots(dir), [w.path]);

    const loaded = loadSnapshot(b, dir, quiet);
    assert.equal(loaded.path, w.path);
    assert.equal(loaded.stored, 5005);
    assert.equal(b.get('s'), 'wörld ✓');
    assert.equal(b.get('empty'), '');
    assert.deepEqual(b.getBytes('bin'), bin);
    assert.equal(b.getEntry('n')?.type, 'integer');
    assert.equal(b.incr('n'), 43);
    assert.equal(b.getEntry('s')?.type, 'string');
    assert.equal(b.getEntry('bin')?.type, 'bytes');
    const ttl = b.ttl('ttl');
    assert.ok(ttl > 95 && ttl <= 101, `TTL kept (to the clock's second): ${ttl}`);
    assert.equal(b.ttl('s'), -1);
    assert.equal(b.get('gone'), undefined);
    for (let i = 0; i < 5000; i += 97) assert.equal(b.get(`k${i}`), `v${i}`);
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('expired entries are left out; only the newest `keep` snapshots stay', async () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
  try {
    a.set('short', 'x', { ttlSeconds: 1 });
    a.set('long', 'y');
    const paths = [writeSnapshot(a.table, dir, 2).path, writeSnapshot(a.table, dir, 2).path, writeSnapshot(a.table, dir, 2).path];
    assert.deepEqual(listSnapshots(dir), [paths[2], paths[1]]);
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));
    // The entry expires: a later snapshot does not carry it.
    const deadline = Date.now() + 3000;
    while (a.get('short') !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.get('short'), undefined);
    assert.equal(writeSnapshot(a.table, dir, 2).entries, 1);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted, truncated or foreign snapshot is refused with its reason, and the previous one loads', () => {
  const dir = tempDir();
  const a = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
  try {
    a.set('k', 'old');
    const good = writeSnapshot(a.table, dir, 5);
    for (let i = 0; i < 2000; i++) a.set(`n${i}`, `new${i}`);
    a.set('k', 'new');
    const cases: [string, (path: string) => void, RegExp][] = [
      ['flipped byte in a block', (p) => { const d = readFileSync(p); d[200] ^= 0x40; writeFileSync(p, d); }, /checksum mismatch/],
      ['truncated', (p) => truncateSync(p, readFileSync(p).length - 30), /truncated/],
      ['bad magic', (p) => { const d = readFileSync(p); d[0] = 0x58; writeFileSync(p, d); }, /bad magic/],
      ['other version', (p) => { const d = readFileSync(p); d[8] = 9; writeFileSync(p, d); }, /version 9/],
      ['trailing garbage', (p) => writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.from('zz')])), /after the trailer/],
    ];
    for (const [name, damage, reason] of cases) {
      const bad = writeSnapshot(a.table, dir, 5);
      damage(bad.path);
      const b = SharedCache.create({ memoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
      const lines: string[] = [];
      try {
        const r = loadSnapshot(b, dir, (l) => lines.push(l));
        assert.equal(r.path, good.path, name);
        assert.equal(r.refused[0].path, bad.path);
        assert.match(r.refused[0].reason, reason, name);
        assert.match(lines[0], /refusing snapshot .* trying the previous one/);
        assert.equal(b.get('k'), 'old', `${name}: nothing of the bad file is left`);
        assert.equal(b.stats().items, 1, name);
      } finally {
        b.close();
        rmSync(bad.path);
      }
    }
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
