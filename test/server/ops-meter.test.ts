import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpsMeter } from '../../src/server/ops-meter.ts';

test('the rate is the count\'s growth over the samples kept, per second; 0 before two samples', async () => {
  let count = 0;
  const m = new OpsMeter(() => count, 20, 5);
  assert.equal(m.perSecond(), 0);
  const grow = setInterval(() => (count += 10), 10); // about 1,000 per second
  await new Promise((r) => setTimeout(r, 200));
  clearInterval(grow);
  const rate = m.perSecond();
  m.stop();
  assert.ok(rate > 300 && rate < 3000, `about 1,000/s, got ${rate}`);
  const still = new OpsMeter(() => 5, 10, 4);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(still.perSecond(), 0, 'no growth, no rate');
  still.stop();
});
