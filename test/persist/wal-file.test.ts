import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import {
  closedWalPath, closeLeftOpenWalFile, closeWalFile, createWalFile, listWalFiles, preallocateWalFile, pruneWalFiles, WAL_PREALLOCATE_BYTES, walFilePath, writeAllSync,
} from '../../src/persist/wal-file.ts';
import { WAL_HEADER_BYTES } from '../../src/persist/wal-format.ts';

test('a WAL file is created with its header, preallocated with zeros, and closed under its final name without them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-walfile-'));
  try {
    const path = walFilePath(dir, 3, 17);
    assert.equal(basename(path), 'wal-03-0000000000000017.log');
    const fd = createWalFile(path, 3);
    assert.equal(statSync(path).size, WAL_HEADER_BYTES);
    const end = preallocateWalFile(fd, WAL_HEADER_BYTES, WAL_HEADER_BYTES + 10);
    assert.equal(end, WAL_PREALLOCATE_BYTES, 'whole steps');
    assert.equal(statSync(path).size, WAL_PREALLOCATE_BYTES);
    writeAllSync(fd, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 10, WAL_HEADER_BYTES);
    const closed = closedWalPath(path, 42);
    assert.equal(basename(closed), 'wal-03-0000000000000017-0000000000000042.log');
    closeWalFile(fd, WAL_HEADER_BYTES + 10, path, closed);
    assert.equal(statSync(closed).size, WAL_HEADER_BYTES + 10, 'the zeros are cut off');
    assert.deepEqual([...readFileSync(closed).subarray(WAL_HEADER_BYTES)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(listWalFiles(dir), [closed]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file left open by a crash gets its closed name (or goes when empty); pruning removes only covered closed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sabcache-walfile-'));
  try {
    const open = walFilePath(dir, 0, 5);
    writeFileSync(open, 'x');
    closeLeftOpenWalFile(open, 9);
    const empty = walFilePath(dir, 1, 10);
    writeFileSync(empty, 'x');
    closeLeftOpenWalFile(empty, 0);
    writeFileSync(join(dir, 'unrelated.log'), 'x');
    assert.deepEqual(listWalFiles(dir).map((p) => basename(p)), ['wal-00-0000000000000005-0000000000000009.log']);
    assert.equal(pruneWalFiles(dir, 8), 0, 'record 9 is not covered');
    assert.equal(pruneWalFiles(dir, 9), 1);
    assert.deepEqual(listWalFiles(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
