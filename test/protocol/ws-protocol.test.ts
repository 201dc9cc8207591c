import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRequests, decodeResponses, FrameError, OP_EXPIRE, OP_GET, OP_INCR, OP_SCAN, OP_SET, RequestWriter, ResponseWriter, ST_ERROR, ST_INTEGER, ST_KEYS, ST_NOT_FOUND, ST_STORED, ST_TTL, ST_VALUE, type WsRequest, requestKey } from '../../src/protocol/ws-protocol.ts';

test('requests round-trip through the binary form', () => {
  const w = new RequestWriter();
  w.add(1, OP_GET, 'ключ');
  w.add(2, OP_SET, 'k', { flags: 4, ttlSeconds: 60, version: '1.2f', value: new Uint8Array([0, 1, 255]) });
  w.add(3, OP_INCR, 'n', { by: -(2n ** 63n) });
  w.add(4, OP_EXPIRE, 'k', { ttlSeconds: 7 });
  w.add(0xffffffff, OP_SCAN, 'pre', { count: 50, cursor: '1234' });
  const got: object[] = [];
  decodeRequests(w.take(), 10, (r: WsRequest) => got.push({ id: r.id, op: r.op, flags: r.flags, key: new TextDecoder().decode(requestKey(r)), ttl: r.ttlSeconds, version: r.version, value: [...(r.op === OP_SET ? r.value : [])], by: r.by, count: r.count, cursor: r.cursor }));
  assert.deepEqual(got.map((g) => (g as { id: number }).id), [1, 2, 3, 4, 0xffffffff]);
  assert.deepEqual(got[1], { id: 2, op: OP_SET, flags: 4, key: 'k', ttl: 60, version: '1.2f', value: [0, 1, 255], by: 0n, count: 0, cursor: '' });
  assert.equal((got[0] as { key: string }).key, 'ключ');
  assert.equal((got[2] as { by: bigint }).by, -(2n ** 63n));
  assert.deepEqual([(got[4] as { count: number }).count, (got[4] as { cursor: string }).cursor, (got[4] as { key: string }).key], [50, '1234', 'pre']);
});

test('every truncation of a request is a FrameError naming its id, never an exception of another kind', () => {
  const w = new RequestWriter();
  w.add(77, OP_SET, 'key', { ttlSeconds: 1, version: 'ab', value: new Uint8Array(10) });
  const frame = w.take();
  for (let cut = 1; cut < frame.length; cut++) {
    assert.throws(() => decodeRequests(frame.subarray(0, cut), 10, () => {}), (e) => e instanceof FrameError && (e.id === 77 || cut < 4));
  }
  assert.throws(() => decodeRequests(new Uint8Array([1, 0, 0, 0, 42, 0, 0, 0]), 10, () => {}), /unknown op 42/);
});

test('values written in place (valueStart/valueEnd) decode like whole ones, versions as hex', () => {
  const w = new ResponseWriter();
  const at = w.valueStart(5);
  w.ensure(at, 100_000);
  w.bytes.set(new Uint8Array(100_000).fill(3), at);
  w.valueEnd(at, 100_000, 2, -1, 0xffffffff, 123456789);
  w.storedRaw(6, 0, 1);
  const [v, s] = decodeResponses(w.frame());
  assert.equal(v.value!.length, 100_000);
  assert.equal(v.value![99_999], 3);
  assert.deepEqual([v.type, v.ttlSeconds, v.version], [2, -1, `${(0xffffffff).toString(16)}.${(123456789).toString(16)}`]);
  assert.equal(s.version, '0.1');
});

test('versions are written with the same hex digits as toString(16), for every digit count', () => {
  const numbers = [0, 1, 9, 10, 15, 16, 255, 256, 0xfff, 0x1000, 0xabcdef, 0x7fffffff, 0x80000000, 0xffffffff];
  for (let shift = 0; shift < 32; shift++) numbers.push(2 ** shift, 2 ** shift - 1);
  const w = new ResponseWriter();
  for (const g of numbers) for (const r of [0, 1, 0x2f, 0x12345678]) w.storedRaw(1, g, r);
  const expected = numbers.flatMap((g) => [0, 1, 0x2f, 0x12345678].map((r) => `${g.toString(16)}.${r.toString(16)}`));
  assert.deepEqual(decodeResponses(w.frame()).map((x) => x.version), expected);
});

test('responses round-trip', () => {
  const w = new ResponseWriter();
  const at = w.valueStart(1);
  w.ensure(at, 3);
  w.bytes.set([7, 8, 9], at);
  w.valueEnd(at, 3, 1, 42, 3, 0x2f);
  w.status(2, ST_NOT_FOUND);
  w.stored(3, 'a.b');
  w.integer(4, 2n ** 62n);
  w.ttl(5, -2);
  w.error(6, 'SABCACHE_ERR_INTERNAL', 'bad ✓');
  w.keys(7, '99', [new TextEncoder().encode('é'), new Uint8Array(0)]);
  const r = decodeResponses(w.frame());
  assert.deepEqual(r.map((x) => x.status), [ST_VALUE, ST_NOT_FOUND, ST_STORED, ST_INTEGER, ST_TTL, ST_ERROR, ST_KEYS]);
  assert.deepEqual([...r[0].value!], [7, 8, 9]);
  assert.deepEqual([r[0].version, r[0].ttlSeconds, r[0].type], ['3.2f', 42, 1]);
  assert.equal(r[3].integer, 2n ** 62n);
  assert.equal(r[4].ttlSeconds, -2);
  assert.deepEqual([r[5].code, r[5].message], ['SABCACHE_ERR_INTERNAL', 'bad ✓']);
  assert.deepEqual([r[6].cursor, r[6].keys], ['99', ['é', '']]);
});
