import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseContentLength } from '../../src/server/body.ts';

test('parseContentLength takes 1 to 15 decimal digits and nothing else', () => {
  assert.equal(parseContentLength('0'), 0);
  assert.equal(parseContentLength('100'), 100);
  assert.equal(parseContentLength('000123'), 123);
  assert.equal(parseContentLength('999999999999999'), 999_999_999_999_999);
  for (const bad of ['', '1234567890123456', '12a', ' 1', '1 ', '-1', '+1', '1.5', '1e3', '0x10', '١']) {
    assert.equal(parseContentLength(bad), -1, JSON.stringify(bad));
  }
});
