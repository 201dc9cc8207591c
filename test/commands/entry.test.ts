import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { EntryResult, entryTtlSeconds, entryTypeName, entryVersion, VALUE_BYTES, VALUE_INTEGER, VALUE_STRING, versionEpoch } from '../../src/commands/entry.ts';
import { makeTable } from '../helpers/tables.ts';

test('an entry result gives its type name, version text and TTL', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const r = new EntryResult();
  for (const [type, name] of [[VALUE_BYTES, 'bytes'], [VALUE_STRING, 'string'], [VALUE_INTEGER, 'integer']] as const) {
    r.type = type;
    assert.equal(entryTypeName(r), name);
  }
  r.version = 0x2f;
  assert.equal(entryVersion(cx, r), `${(versionEpoch(cx) >>> 0).toString(16)}.2f`);
  r.expireAt = 0;
  assert.equal(entryTtlSeconds(cx, r), -1);
  r.expireAt = Math.floor(Date.now() / 1000) + 100;
  assert.ok([99, 100].includes(entryTtlSeconds(cx, r)));
  t.close();
});
