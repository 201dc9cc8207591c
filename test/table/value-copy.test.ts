import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueCopier } from '../../src/table/value-copy.ts';

test('copyInto copies any length from any aligned-or-not source to any offset, and nothing else', () => {
  const src = new Uint8Array(1024);
  for (let i = 0; i < src.length; i++) src[i] = (i * 13 + 7) & 255;
  const c = new ValueCopier(src, new Int32Array(src.buffer));
  const dest = new Uint8Array(600);
  for (const len of [0, 1, 3, 4, 5, 63, 191, 192, 193, 500]) {
    for (const from of [0, 1, 2, 3, 8]) {
      for (const to of [0, 1, 3]) {
        dest.fill(0xee);
        c.copyInto(from, len, dest, to);
        assert.deepEqual(dest.subarray(to, to + len), src.subarray(from, from + len), `len ${len} from ${from} to ${to}`);
        assert.ok(dest.subarray(0, to).every((b) => b === 0xee) && dest.subarray(to + len).every((b) => b === 0xee));
      }
    }
  }
});

test('copyOut gives copies the caller owns: later changes to the source do not show', () => {
  const src = new Uint8Array(16 * 1024);
  src.fill(1);
  const c = new ValueCopier(src, new Int32Array(src.buffer));
  const small = c.copyOut(0, 100);
  const large = c.copyOut(0, 8000);
  src.fill(2);
  assert.ok(small.every((b) => b === 1) && large.every((b) => b === 1));
  // Many small copies share slabs but never overlap.
  const copies = Array.from({ length: 2000 }, (_, i) => { src[0] = i & 255; return c.copyOut(0, 40); });
  copies.forEach((v, i) => assert.equal(v[0], i & 255));
});
