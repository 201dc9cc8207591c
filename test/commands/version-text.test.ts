import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatVersion, parseVersion } from '../../src/commands/version-text.ts';

test('a version\'s text is lowercase hex without leading zeros, and parses back', () => {
  const out = new Int32Array(2);
  for (const [epoch, counter] of [[1, 1], [0xdeadbeef | 0, 0xffffffff | 0], [0x10, 0x2f]]) {
    const text = formatVersion(epoch, counter);
    assert.match(text, /^[0-9a-f]{1,8}\.[0-9a-f]{1,8}$/);
    assert.equal(parseVersion(text, out), true);
    assert.deepEqual([out[0], out[1]], [epoch | 0, counter | 0]);
  }
  for (const bad of ['', '1', '1.0', 'G.1', '1.1.1', '123456789.1', ' 1.1', '1.1 ']) assert.equal(parseVersion(bad, out), false, JSON.stringify(bad));
});
