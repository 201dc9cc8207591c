import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../src/client/circuit-breaker.ts';

test('closed → open after failureLimit failures in a row → half-open after retryTimeoutMs → one probe → closed or open again', () => {
  let now = 1000;
  const b = new CircuitBreaker({ failureLimit: 3, retryTimeoutMs: 500, now: () => now });
  assert.equal(b.state, 'closed');
  b.failure();
  b.failure();
  b.success(); // an answer resets the count: failures must come in a row
  b.failure();
  b.failure();
  assert.equal(b.state, 'closed');
  b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.allow(), false);
  assert.equal(b.live, false);
  now += 499;
  assert.equal(b.state, 'open');
  now += 1;
  assert.equal(b.state, 'half-open');
  assert.equal(b.live, true);
  assert.equal(b.allow(), true, 'the probe');
  assert.equal(b.allow(), false, 'one probe at a time');
  b.failure();
  assert.equal(b.state, 'open', 'a failed probe opens it again at once');
  now += 500;
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.state, 'closed');
  assert.equal(b.allow(), true);
});
