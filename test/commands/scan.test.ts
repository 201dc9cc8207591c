import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { scan, scanKeys } from '../../src/commands/scan.ts';
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
