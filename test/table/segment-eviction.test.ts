import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3fifo } from '../../src/memory/eviction.ts';
import { evictOldestDropping } from '../../src/table/segment-eviction.ts';
import { QUEUE_SMALL, S_GENERATION, S_SEAL_SEQ, S_STATE, SEG_FREE, SEG_SEALED, segmentRowWord } from '../../src/table/layout.ts';
import { acquireSegment, countSegments, sealSegment } from '../../src/table/segments.ts';
import { Table } from '../../src/table/table.ts';
import { makeTable } from '../helpers/tables.ts';

test('eviction takes sealed segments in seal order, bumps the generation and frees them', () => {
  const t = makeTable(1 << 20, 1024);
  const a = acquireSegment(t, QUEUE_SMALL);
  const b = acquireSegment(t, QUEUE_SMALL);
  const row = (s: number) => segmentRowWord(t.v.g, s);
  sealSegment(t.v, b); // b sealed first: it is older
  sealSegment(t.v, a);
  assert.ok(t.v.i32[row(b) + S_SEAL_SEQ] < t.v.i32[row(a) + S_SEAL_SEQ]);
  const genB = t.v.i32[row(b) + S_GENERATION];
  assert.equal(evictOldestDropping(t), true);
  assert.equal(t.v.i32[row(b) + S_STATE], SEG_FREE);
  assert.equal(t.v.i32[row(b) + S_GENERATION], genB + 1);
  assert.equal(t.v.i32[row(a) + S_STATE], SEG_SEALED);
  assert.equal(evictOldestDropping(t), true);
  assert.equal(evictOldestDropping(t), false, 'nothing sealed left');
});

test('evicting a segment unlinks exactly the entries the index still points at', () => {
  const t = makeTable(1 << 20, 1024);
  for (let i = 0; i < 50; i++) t.set(`k${i}`, `v${i}`);
  for (let i = 0; i < 10; i++) t.set(`k${i}`, `new${i}`); // replaced: same segment, newer entries
  t.close(); // seals the active segment
  const u = new Table(t.v, 3, s3fifo);
  assert.equal(evictOldestDropping(u), true);
  for (let i = 0; i < 50; i++) assert.equal(u.getString(`k${i}`), undefined);
  assert.equal(countSegments(u.v).free, u.v.g.segmentCount);
});
