import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBytes } from '../../src/util/parse-bytes.ts';

test('parses sizes with binary units', () => {
  assert.equal(parseBytes('m', '256mb'), 256 * 1024 * 1024);
  assert.equal(parseBytes('m', '64KB'), 65536);
  assert.equal(parseBytes('m', '1gb'), 1024 ** 3);
  assert.equal(parseBytes('m', '2MiB'), 2 * 1024 ** 2);
  assert.equal(parseBytes('m', '1.5k'), 1536);
  assert.equal(parseBytes('m', '4096'), 4096);
  assert.equal(parseBytes('m', 100), 100);
});

test('refuses what is not a size, naming the option', () => {
  for (const bad of ['', 'lots', '-1mb', '1tb', '1 m b', -5, 1.5, Number.NaN]) {
    assert.throws(() => parseBytes('memoryBytes', bad as string), (e: Error & { code?: string }) => e.code === 'SABCACHE_ERR_BAD_OPTION' && e.message.includes('memoryBytes'));
  }
});
