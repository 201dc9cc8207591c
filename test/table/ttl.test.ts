import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expireAtSecondsOf, expiryCodeOf, expiryMs, hasExpired, MAX_TTL_SECONDS, remainingTtlMs, remainingTtlSeconds } from '../../src/table/ttl.ts';

test('remaining TTL: Redis rounding of the milliseconds left, -1 for never, and the clock read only for a key that expires', () => {
  let reads = 0;
  const now = (): number => { reads++; return 1_000_000_500; };
  assert.equal(remainingTtlSeconds(0, 0, now), -1);
  assert.equal(remainingTtlMs(0, 0, now), -1);
  assert.equal(reads, 0);
  assert.equal(remainingTtlSeconds(1_000_010, 0, now), 10, '9.5 s left reads 10, as Redis rounds');
  assert.equal(remainingTtlMs(1_000_010, 0, now), 9500);
  assert.equal(remainingTtlSeconds(999_000, 0, now), 0, 'past: 0');
  assert.equal(remainingTtlSeconds(0xffffffff, 0, () => 0), MAX_TTL_SECONDS, 'clamped to what every wire format holds');
  // 1,000,001,250 ms: the second 1,000,002 and 750 ms before it.
  assert.equal(remainingTtlMs(expireAtSecondsOf(1_000_001_250), expiryCodeOf(1_000_001_250), now), 750);
});

test('an expiry instant round-trips through its second and millisecond code, for every millisecond of a second', () => {
  for (let ms = 5_000_000_000; ms < 5_000_001_000; ms++) {
    const s = expireAtSecondsOf(ms);
    const code = expiryCodeOf(ms);
    assert.ok(code >= 1 && code <= 1000 && s * 1000 >= ms && s * 1000 - ms < 1000);
    assert.equal(expiryMs(s, code), ms);
  }
  assert.equal(expiryMs(7, 0), 7000, 'code 0: the whole second (restored entries)');
  assert.equal(expiryMs(0, 0), 0);
});

test('hasExpired: at the millisecond by the real clock near the end, by the shared clock otherwise', () => {
  const at = 2_000_000_100; // ms
  const s = expireAtSecondsOf(at);
  const code = expiryCodeOf(at);
  let t = at - 1;
  let reads = 0;
  const now = (): number => { reads++; return t; };
  assert.equal(hasExpired(s, code, s - 1, now), false, '1 ms before');
  t = at;
  assert.equal(hasExpired(s, code, s - 1, now), true, 'at the instant');
  reads = 0;
  assert.equal(hasExpired(s, code, s - 10, now), false, 'far from it: no clock read');
  assert.equal(reads, 0);
  assert.equal(hasExpired(s, code, s, now), true, 'the shared clock passed its second');
  assert.equal(hasExpired(s, 0, s - 1, () => at + 500), false, 'code 0 waits for the shared clock');
  assert.equal(hasExpired(0, 0, 2 ** 31, now), false, 'never');
});
