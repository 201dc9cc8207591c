import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Maintenance } from '../../src/memory/maintenance.ts';
import { H_CLOCK_SECONDS } from '../../src/table/layout.ts';
import { countSegments } from '../../src/table/segments.ts';
import { makeTable } from '../helpers/tables.ts';

test('a tick refills free segments up to the watermark by evicting', () => {
  const t = makeTable(1 << 20, 1024);
  const m = new Maintenance(t, 6);
  for (let i = 0; i < 30_000; i++) t.set(`k${i}`, 'x'.repeat(100));
  assert.ok(countSegments(t.v).free < 6);
  const { evictedSegments } = m.tick();
  assert.ok(evictedSegments > 0);
  assert.ok(countSegments(t.v).free >= 6);
  assert.equal(t.getString('k29999'), 'x'.repeat(100), 'the newest data survives');
  t.close();
});

test('a tick moves the shared clock to now', () => {
  const t = makeTable();
  Atomics.store(t.v.i32, H_CLOCK_SECONDS, 5);
  new Maintenance(t, 1).tick();
  assert.ok(Math.abs(t.clockSeconds() - Date.now() / 1000) < 2);
  t.close();
});
