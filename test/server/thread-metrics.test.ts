import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASS_READ, CLASS_WRITE, createMetricsBuffer, PROTOCOL_HTTP, PROTOCOL_RESP } from '../../src/server/metrics-words.ts';
import { latencySummaries, mergedHistogram } from '../../src/server/latency-stats.ts';
import { COUNT_WORD } from '../../src/server/latency-histogram.ts';
import { ThreadMetrics } from '../../src/server/thread-metrics.ts';
import { exited, firstMessage, startFixture } from '../helpers/workers.ts';
import { createSlowLogBuffer } from '../../src/server/slowlog-words.ts';
import { readSlowLog, SlowLogWriter } from '../../src/server/slow-log.ts';
import type { HttpRequest, HttpResponse } from '../../src/server/uws-types.ts';

/** Stand-ins for uWS's request and response: what ThreadMetrics reads of them. */
const req = { getMethod: () => 'put', getUrl: () => '/v1/kv/k' } as unknown as HttpRequest;
const res = { getRemoteAddressAsText: () => new TextEncoder().encode('127.0.0.1').buffer } as unknown as HttpResponse;

test('HTTP timing: a request answered in its handler is timed there; one answered later, when answered', () => {
  const buffer = createMetricsBuffer(1);
  const m = new ThreadMetrics(buffer, 0);
  m.httpStart(CLASS_READ);
  m.httpEnd(res, req);
  m.httpStart(CLASS_WRITE);
  const pending = m.httpDefer();
  m.httpEnd(res, req);
  assert.equal(mergedHistogram(buffer, PROTOCOL_HTTP, CLASS_WRITE)[COUNT_WORD], 0, 'not yet answered');
  m.httpAnswered(pending!, res);
  m.httpStart(-1);
  assert.equal(m.httpDefer(), null, 'a route not timed');
  m.httpEnd(res, req);
  const s = latencySummaries(buffer);
  assert.deepEqual([s.http.read.count, s.http.write.count], [1, 1]);
});

test('slow log: with threshold 0 each timed HTTP request is logged with its method, URL and client; one answered later keeps what it was', () => {
  const log = createSlowLogBuffer(1, 8);
  const m = new ThreadMetrics(createMetricsBuffer(1), 0, new SlowLogWriter(log, 0, 0));
  m.httpStart(CLASS_READ);
  m.httpEnd(res, req);
  m.httpStart(CLASS_WRITE);
  const pending = m.httpDefer();
  m.httpEnd(res, { getMethod: () => 'post', getUrl: () => '/v1/kv/n/incr' } as unknown as HttpRequest);
  m.httpAnswered(pending!, res);
  m.httpStart(-1);
  m.httpEnd(res, req);
  const entries = readSlowLog(log, -1);
  assert.deepEqual(entries.map((e) => [e.protocol, e.args.map(String), e.client]), [
    [PROTOCOL_HTTP, ['POST', '/v1/kv/n/incr'], '127.0.0.1'],
    [PROTOCOL_HTTP, ['PUT', '/v1/kv/k'], '127.0.0.1'],
  ]);
});

test('slow log off (-1): nothing is logged and the threshold is Infinity', () => {
  const log = createSlowLogBuffer(1, 8);
  const m = new ThreadMetrics(createMetricsBuffer(1), 0, new SlowLogWriter(log, 0, -1));
  assert.equal(m.slowMs, Infinity);
  m.httpStart(CLASS_READ);
  m.httpEnd(res, req);
  assert.equal(readSlowLog(log, -1).length, 0);
});

test('3 threads record into their own slots while the main thread merges: counts only grow, and end exact', async () => {
  const buffer = createMetricsBuffer(3);
  const n = 300_000;
  const workers = [0, 1, 2].map((slot) => startFixture('metrics-writer', { buffer, slot, n }));
  for (const w of workers) w.ref();
  const done = workers.map((w) => firstMessage<string>(w));
  const ends = workers.map(exited);
  let last = 0;
  let finished = false;
  void Promise.all(done).then(() => { finished = true; });
  while (!finished) {
    const count = mergedHistogram(buffer, PROTOCOL_RESP, CLASS_READ)[COUNT_WORD];
    assert.ok(count >= last, `merged count went back from ${last} to ${count}`);
    last = count;
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(ends);
  const s = latencySummaries(buffer);
  assert.equal(s.resp.read.count, 3 * n);
  assert.ok(Math.abs(s.resp.read.p50Us - 1) < 0.01, `p50 ${s.resp.read.p50Us} µs`);
});
