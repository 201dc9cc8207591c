import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freqBump, freqOf, freqSetLocked } from '../../src/table/frequency.ts';
import { FREQ_MAX, WAYS } from '../../src/table/layout.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';

test('each way has its own 2-bit counter: bumps saturate at FREQ_MAX, a set touches only its way', () => {
  const freqs = new Int32Array(new SharedArrayBuffer(12));
  for (let w = 0; w < WAYS; w++) {
    for (let i = 0; i <= w % (FREQ_MAX + 1); i++) freqBump(freqs, 1, w);
  }
  for (let w = 0; w < WAYS; w++) assert.equal(freqOf(freqs, 1, w), Math.min(w % (FREQ_MAX + 1) + 1, FREQ_MAX), `way ${w}`);
  for (let i = 0; i < 5; i++) freqBump(freqs, 1, 6);
  assert.equal(freqOf(freqs, 1, 6), FREQ_MAX);
  assert.equal(freqBump(freqs, 1, 6), false, 'a saturated counter is not written');
  freqSetLocked(freqs, 1, 3, 0);
  assert.equal(freqOf(freqs, 1, 3), 0);
  assert.deepEqual(Array.from({ length: WAYS }, (_, w) => freqOf(freqs, 1, w)), Array.from({ length: WAYS }, (_, w) => (w === 3 ? 0 : Math.min(w % (FREQ_MAX + 1) + 1, FREQ_MAX))));
  assert.equal(freqs[0], 0, 'the neighbouring word is untouched');
  assert.equal(freqs[2], 0);
});

test('threads changing different ways of one word never undo each other (CAS, not plain stores)', async () => {
  const sab = new SharedArrayBuffer(64);
  const workers = Array.from({ length: 4 }, (_, way) => startFixture('freq-worker', { sab, way: way * 4 + 1, rounds: 200_000 }));
  const mismatches = await Promise.all(workers.map((w) => firstMessage<number>(w)));
  assert.deepEqual(mismatches, [0, 0, 0, 0]);
});
