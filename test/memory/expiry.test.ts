import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sweepExpired } from '../../src/memory/expiry.ts';
import { C_EXPIRED_ITEMS, C_LINKED, C_UNLINKED } from '../../src/table/layout.ts';
import { advanceSeconds, makeTable } from '../helpers/tables.ts';

test('the sweep unlinks expired entries and only those', () => {
  const t = makeTable();
  for (let i = 0; i < 500; i++) t.set(`ttl:${i}`, 'v', 1);
  for (let i = 0; i < 500; i++) t.set(`keep:${i}`, 'v');
  const f = t.v.f64;
  const items = () => f[t.counters + C_LINKED] - f[t.counters + C_UNLINKED];
  assert.equal(items(), 1000);
  sweepExpired(t, 0, t.v.g.bucketCount);
  assert.equal(items(), 1000, 'nothing expired yet');
  advanceSeconds(t, 3);
  const next = sweepExpired(t, 0, t.v.g.bucketCount);
  assert.equal(next, 0, 'a full sweep wraps around');
  assert.equal(items(), 500);
  assert.equal(f[t.counters + C_EXPIRED_ITEMS], 500);
  for (let i = 0; i < 500; i++) assert.equal(t.getString(`keep:${i}`), 'v');
  t.close();
});
