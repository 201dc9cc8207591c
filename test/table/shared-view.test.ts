import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H_LAYOUT_VERSION, H_MAGIC, H_SEGMENT_COUNT } from '../../src/table/layout.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { planGeometry } from '../../src/table/sizing.ts';

const g = planGeometry({ memoryBytes: 1 << 20, maxKeyBytes: 64, maxValueBytes: 1024, expectedItemBytes: 128 });

test('a formatted buffer reopens with the same geometry and limits', () => {
  const v = SharedView.format(g, 64, 1024);
  const again = new SharedView(v.sab);
  assert.deepEqual(again.g, g);
  assert.equal(again.maxKeyBytes, 64);
  assert.equal(again.maxValueBytes, 1024);
  assert.equal(again.seedA, v.seedA);
});

test('a buffer that is not a sabcache table is refused with SABCACHE_ERR_BAD_HANDLE', () => {
  const cases: [string, (i32: Int32Array) => void][] = [
    ['bad magic', (i) => { i[H_MAGIC] = 0; }],
    ['other layout version', (i) => { i[H_LAYOUT_VERSION] = 999; }],
    ['header does not match the size', (i) => { i[H_SEGMENT_COUNT] += 1; }],
  ];
  for (const [name, spoil] of cases) {
    const v = SharedView.format(g, 64, 1024);
    spoil(v.i32);
    assert.throws(() => new SharedView(v.sab), { code: 'SABCACHE_ERR_BAD_HANDLE' }, name);
  }
});
