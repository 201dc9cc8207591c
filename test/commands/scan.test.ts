import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { sampleExpiry, scan, scanKeys } from '../../src/commands/scan.ts';
import { set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

test('a full walk returns every key once, by prefix; bad cursors and counts are refused', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  for (let i = 0; i < 500; i++) set(cx, `${i % 2 ? 'odd' : 'even'}:${i}`, 'v');
  const seen: string[] = [];
  let cursor = '0';
  do {
    const page = scan(cx, { prefix: 'odd:', cursor, count: 50 });
    seen.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== '0');
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen).size, 250);
  assert.ok(seen.every((k) => k.startsWith('odd:')));
  const out: Uint8Array[] = [];
  assert.throws(() => scanKeys(cx, 'x', 10, null, out), { code: 'SABCACHE_ERR_BAD_OPTION' });
  assert.throws(() => scanKeys(cx, String(t.bucketCount), 10, null, out), { code: 'SABCACHE_ERR_BAD_OPTION' });
  assert.throws(() => scanKeys(cx, '0', 0, null, out), { code: 'SABCACHE_ERR_BAD_OPTION' });
  assert.throws(() => scan(cx, { limit: 1 } as never), { code: 'SABCACHE_ERR_BAD_OPTION' });
  t.close();
});

test('sampleExpiry estimates the share of keys with a TTL and their mean time left', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  for (let i = 0; i < 400; i++) set(cx, `k:${i}`, 'v', i % 4 === 0 ? 100 : 0);
  const s = sampleExpiry(cx, 256);
  assert.ok(s.sampled >= 100 && s.sampled <= 256, `sampled ${s.sampled}`);
  const share = s.expiring / s.sampled;
  assert.ok(share > 0.1 && share < 0.4, `a quarter have a TTL; the sample says ${share}`);
  assert.ok(s.meanTtlMs > 98_000 && s.meanTtlMs <= 100_000, String(s.meanTtlMs));
  const empty = sampleExpiry(new CommandContext(makeTable()), 256);
  assert.deepEqual(empty, { sampled: 0, expiring: 0, meanTtlMs: 0 });
});
