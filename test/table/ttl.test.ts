import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TTL_SECONDS, remainingTtlSeconds } from '../../src/table/ttl.ts';

test('remaining TTL counts whole seconds down, -1 for never, and reads the clock only for a key that expires', () => {
  let reads = 0;
  const now = (): number => { reads++; return 1_000_000_500; };
  assert.equal(remainingTtlSeconds(0, now), -1);
  assert.equal(reads, 0);
  assert.equal(remainingTtlSeconds(1_000_010, now), 9, '9.5 s left reads 9');
  assert.equal(remainingTtlSeconds(999_000, now), 0, 'past: 0');
  assert.equal(remainingTtlSeconds(0xffffffff, () => 0), MAX_TTL_SECONDS, 'clamped to what every wire format holds');
});
