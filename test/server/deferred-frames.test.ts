import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFERRED_CHUNK_BYTES, DeferredFrames, type DeferredFrame } from '../../src/server/deferred-frames.ts';

/** A frame of `n` bytes, all `i % 251` (the writer's buffer: overwritten after each keep). */
const scratch = new Uint8Array(DEFERRED_CHUNK_BYTES);
function frame(i: number, n: number): Uint8Array {
  scratch.fill(i % 251, 0, n);
  return scratch.subarray(0, n);
}
const intact = (f: DeferredFrame, i: number, n: number) => f.bytes.length === n && f.bytes.every((b) => b === i % 251);

test('kept frames stay intact until released, across many chunks, released in order or not', () => {
  const d = new DeferredFrames();
  const sizes = (i: number) => 1 + ((i * 37) % 900);
  const kept = new Map<number, DeferredFrame>();
  let i = 0;
  // Keep 3,000 frames (about 20 chunks), releasing some in an order of their own as it goes.
  for (; i < 3000; i++) {
    kept.set(i, d.keep(frame(i, sizes(i))));
    if (i % 3 === 0) {
      const j = (i * 7919) % (i + 1);
      const f = kept.get(j);
      if (f) {
        assert.ok(intact(f, j, sizes(j)), `frame ${j}`);
        d.release(f);
        kept.delete(j);
      }
    }
  }
  for (const [j, f] of kept) assert.ok(intact(f, j, sizes(j)), `frame ${j}`);
  for (const f of kept.values()) d.release(f);
  assert.ok(d.pooledChunks > 0, 'emptied chunks are kept for reuse');
  // Reused chunks hand out intact copies too.
  const again = Array.from({ length: 500 }, (_, k) => d.keep(frame(k, 300)));
  again.forEach((f, k) => assert.ok(intact(f, k, 300), `reused ${k}`));
});

test('a frame over a quarter chunk gets a copy of its own; releasing it frees nothing else', () => {
  const d = new DeferredFrames();
  const small = d.keep(frame(1, 100));
  const big = d.keep(frame(2, DEFERRED_CHUNK_BYTES / 2));
  assert.notEqual(big.bytes.buffer, small.bytes.buffer);
  d.release(big);
  const next = d.keep(frame(3, 100));
  assert.ok(intact(small, 1, 100), 'the small frame was not written over');
  assert.ok(intact(next, 3, 100));
});
