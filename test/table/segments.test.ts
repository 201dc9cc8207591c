import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUEUE_SMALL, S_STATE, SEG_ACTIVE, SEG_OWNER_SHIFT, segmentRowWord } from '../../src/table/layout.ts';
import { acquireSegment, countSegments } from '../../src/table/segments.ts';
import { Table } from '../../src/table/table.ts';
import { makeTable } from '../helpers/tables.ts';
import { s3fifo } from '../../src/memory/eviction.ts';

test('a free segment is claimed by exactly one thread, active under its owner', () => {
  const t = makeTable(1 << 20, 1024);
  const other = new Table(t.v, 2, s3fifo);
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

