import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Maintenance, reserveSegments } from '../../src/memory/maintenance.ts';
import { H_CLOCK_SECONDS } from '../../src/table/layout.ts';
import { countSegments } from '../../src/table/segments.ts';
import { makeTable } from '../helpers/tables.ts';

test('a tick refills free segments up to the watermark by evicting; the watermark follows the segments written per tick', () => {
  const t = makeTable(1 << 20, 1024);
  const m = new Maintenance(t);
  assert.equal(m.lowWatermarkSegments, 2, 'before any write: the writers\' reserve and one more');
  for (let i = 0; i < 30_000; i++) t.set(`k${i}`, 'x'.repeat(100));
  const { evictedSegments } = m.tick();
  // 30,000 entries of ~120 B in this tick: hundreds of 16 KiB segments sealed, so the
  // reserve is at its cap, 1/64 of the segments beyond the writers' one and one more.
  assert.equal(m.lowWatermarkSegments, 2 + Math.floor(t.v.g.segmentCount / 64));
  assert.ok(evictedSegments > 0);
  assert.ok(countSegments(t.v).free >= m.lowWatermarkSegments);
  // Idle ticks: the remembered peak decays, and the reserve with it, to its floor.
  for (let i = 0; i < 100; i++) m.tick();
  assert.equal(m.lowWatermarkSegments, 2);
  assert.equal(reserveSegments(3, 1000), 5, 'a peak of 3 segments a tick keeps 3 + 2 free');
  assert.equal(reserveSegments(100, 1000), 17, 'at most 1/64 of the segments + 2');
  assert.equal(t.getString('k29999'), 'x'.repeat(100), 'the newest data survives');
  t.close();
});

test('a tick moves the shared clock to now', () => {
  const t = makeTable();
  Atomics.store(t.v.i32, H_CLOCK_SECONDS, 5);
  new Maintenance(t).tick();
  assert.ok(Math.abs(t.clockSeconds() - Date.now() / 1000) < 2);
  t.close();
});
