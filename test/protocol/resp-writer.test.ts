import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RespWriter } from '../../src/protocol/resp-writer.ts';

test('RESP2 replies, and RESP3 types after HELLO 3', () => {
  const w = new RespWriter();
  w.simple('OK');
  w.error('ERR bad\r\nthing');
  w.integer(-3);
  w.integer(2n ** 62n);
  w.bulk('héllo');
  w.bulk(Buffer.from([0, 13, 10]));
  w.bulk(null);
  w.nilArray();
  w.map(1);
  w.bulk('k');
  w.bulk('v');
  assert.equal(w.take().toString('latin1'), `+OK\r\n-ERR bad thing\r\n:-3\r\n:${2n ** 62n}\r\n$6\r\nhÃ©llo\r\n$3\r\n\x00\r\n\r\n$-1\r\n*-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n`);
  w.protocol = 3;
  w.nil();
  w.map(1);
  w.set(2);
  w.verbatim('a');
  assert.equal(w.take().toString(), '_\r\n%1\r\n~2\r\n=5\r\ntxt:a\r\n');
});

test('a bulk copied in place gets its header right before it, for any length', () => {
  const w = new RespWriter();
  // Growing, shrinking and repeated lengths: the value is placed after a header as long as
  // the last one's, and moved when that guess is wrong either way.
  for (const n of [0, 1, 9, 10, 99, 100, 100, 5000, 70_000, 3, 70_000, 100, 9, 9, 0]) {
    w.simple('x');
    const at = w.bulkStart(n);
    const bytes = w.bytes;
    bytes.fill(0x61, at, at + n);
    w.bulkEnd(at, n);
    assert.equal(w.take().toString(), `+x\r\n$${n}\r\n${'a'.repeat(n)}\r\n`, `length ${n}`);
  }
});

test('integers and headers are written digit by digit, as String() would', () => {
  const w = new RespWriter();
  const ns = [0, 7, -7, 10, 99, 100, -1000, 123456789, 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (const n of ns) w.integer(n);
  w.integer(2n ** 63n - 1n);
  w.integer(-(2n ** 63n));
  w.array(12);
  w.ok();
  assert.equal(w.take().toString(), `${ns.map((n) => `:${n}\r\n`).join('')}:${2n ** 63n - 1n}\r\n:${-(2n ** 63n)}\r\n*12\r\n+OK\r\n`);
});
