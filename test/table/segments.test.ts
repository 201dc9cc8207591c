import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUEUE_SMALL, S_GENERATION, S_SEAL_SEQ, S_STATE, SEG_ACTIVE, SEG_FREE, SEG_OWNER_SHIFT, SEG_SEALED, segmentRowWord } from '../../src/table/layout.ts';
import { acquireSegment, countSegments, evictOldestSegment, sealSegment } from '../../src/table/segments.ts';
import { Table } from '../../src/table/table.ts';
import { makeTable } from '../helpers/tables.ts';

test('a free segment is claimed by exactly one thread, active under its owner', () => {
  const t = makeTable(1 << 20, 1024);
  const other = new Table(t.v, 2);
  const n = t.v.g.segmentCount;
  const mine = new Set<number>();
  for (let i = 0; i < n; i++) {
    const s = acquireSegment(i % 2 ? t : other, QUEUE_SMALL);
    assert.ok(s >= 0);
    assert.ok(!mine.has(s), 'never handed out twice');
    mine.add(s);
    const state = t.v.i32[segmentRowWord(t.v.g, s) + S_STATE];
    assert.equal(state & 0xff, SEG_ACTIVE);
    assert.equal(state >>> SEG_OWNER_SHIFT, (i % 2 ? t : other).owner);
  }
  assert.equal(acquireSegment(t, QUEUE_SMALL), -1, 'none left');
  assert.equal(countSegments(t.v).active, n);
});

test('eviction takes sealed segments in seal order, bumps the generation and frees them', () => {
  const t = makeTable(1 << 20, 1024);
  const a = acquireSegment(t, QUEUE_SMALL);
  const b = acquireSegment(t, QUEUE_SMALL);
  const row = (s: number) => segmentRowWord(t.v.g, s);
  sealSegment(t.v, b); // b sealed first: it is older
  sealSegment(t.v, a);
  assert.ok(t.v.i32[row(b) + S_SEAL_SEQ] < t.v.i32[row(a) + S_SEAL_SEQ]);
  const genB = t.v.i32[row(b) + S_GENERATION];
  assert.equal(evictOldestSegment(t), true);
  assert.equal(t.v.i32[row(b) + S_STATE], SEG_FREE);
  assert.equal(t.v.i32[row(b) + S_GENERATION], genB + 1);
  assert.equal(t.v.i32[row(a) + S_STATE], SEG_SEALED);
  assert.equal(evictOldestSegment(t), true);
  assert.equal(evictOldestSegment(t), false, 'nothing sealed left');
});

test('evicting a segment unlinks exactly the entries the index still points at', () => {
  const t = makeTable(1 << 20, 1024);
  for (let i = 0; i < 50; i++) t.set(`k${i}`, `v${i}`);
  for (let i = 0; i < 10; i++) t.set(`k${i}`, `new${i}`); // replaced: same segment, newer entries
  t.close(); // seals the active segment
  const u = new Table(t.v, 3);
  assert.equal(evictOldestSegment(u), true);
  for (let i = 0; i < 50; i++) assert.equal(u.getString(`k${i}`), undefined);
  assert.equal(countSegments(u.v).free, u.v.g.segmentCount);
});
