import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RespParser, RespProtocolError, splitInline } from '../../src/protocol/resp-parser.ts';

const limits = { maxBulkBytes: 1024, maxArgs: 16, maxInlineBytes: 64 };
const all = (p: RespParser): string[][] => {
  const out: string[][] = [];
  for (let c = p.next(); c !== undefined; c = p.next()) out.push(c.map((b) => b.toString('latin1')));
  return out;
};

test('multibulk commands parse whole, however the bytes are split, and several per read', () => {
  const wire = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nb!\r\n*1\r\n$4\r\nPING\r\n\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n');
  const expected = [['SET', 'k', 'a\r\nb!'], ['PING'], ['GET', '']];
  const whole = new RespParser(limits);
  whole.push(wire);
  assert.deepEqual(all(whole), expected);
  const bytewise = new RespParser(limits);
  const got: string[][] = [];
  for (let i = 0; i < wire.length; i++) {
    bytewise.push(wire.subarray(i, i + 1));
    got.push(...all(bytewise));
  }
  assert.deepEqual(got, expected);
  assert.equal(bytewise.pending, 0);
});

test('inline commands split as redis-cli and telnet users type them', () => {
  const p = new RespParser(limits);
  p.push(Buffer.from('set k "a b\\x41\\n" \'it\\\'s\'\r\nPING\n\n'));
  assert.deepEqual(all(p), [['set', 'k', 'a bA\n', "it's"], ['PING']]);
  assert.equal(splitInline(Buffer.from('get "open')), null);
  assert.equal(splitInline(Buffer.from('get "a"b')), null);
});

test('limits and malformed streams are protocol errors with Redis\'s wording', () => {
  const cases: [string, RegExp][] = [
    ['*17\r\n', /invalid multibulk length/],
    ['*-5\r\n', /invalid multibulk length/],
    ['*1\r\n$1025\r\n', /invalid bulk length/],
    ['*1\r\n$-3\r\n', /invalid bulk length/],
    ['*1\r\n$1000000000\r\n', /invalid bulk length/],
    ['*1\r\n:12\r\n', /expected '\$', got ':'/],
    ['*1\r\n$2\r\nabXY', /bulk string not followed by CRLF/],
    ['*x\r\n', /invalid multibulk length/],
    [`GET ${'k'.repeat(100)}`, /too big inline request/],
    [`*${'1'.repeat(70)}`, /too big mbulk count string/],
  ];
  for (const [wire, message] of cases) {
    const p = new RespParser(limits);
    p.push(Buffer.from(wire));
    assert.throws(() => all(p), (e: Error) => e instanceof RespProtocolError && message.test(e.message) && e.message.startsWith('Protocol error: '), JSON.stringify(wire));
  }
  // A truncated frame is not an error: it waits for the rest.
  const p = new RespParser(limits);
  p.push(Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\nab'));
  assert.equal(p.next(), undefined);
});

test('random bytes never throw anything but a protocol error', () => {
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 2000; round++) {
    const p = new RespParser(limits);
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 80) }, () => (rnd() < 0.3 ? [42, 36, 13, 10, 45, 48, 49][Math.floor(rnd() * 7)] : Math.floor(rnd() * 256))));
    p.push(bytes);
    try {
      all(p);
    } catch (e) {
      assert.ok(e instanceof RespProtocolError, String(e));
    }
  }
});

test('arguments are read in place: argStart/argLength name the bytes, args() copies nothing', () => {
  const p = new RespParser(limits);
  const frame = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nget "a b"\r\n');
  p.push(frame);
  assert.equal(p.nextCommand(), 3);
  assert.equal(p.bytes, frame);
  assert.equal(p.bytes.toString('latin1', p.argStart(2), p.argStart(2) + p.argLength(2)), 'hello');
  assert.equal(p.args()[1].buffer, frame.buffer);
  assert.equal(p.nextCommand(), 2); // an inline command: its words gathered in a buffer of their own
  assert.deepEqual([0, 1].map((i) => p.arg(i).toString()), ['get', 'a b']);
  assert.equal(p.nextCommand(), 0);
});

test('a huge argument count is not allocated up front; its arguments still arrive one by one', () => {
  const p = new RespParser({ ...limits, maxArgs: 1024 * 1024 });
  const n = 1000;
  p.push(Buffer.from(`*${n}\r\n`));
  assert.equal(p.nextCommand(), 0);
  for (let i = 0; i < n; i++) p.push(Buffer.from(`$${String(i).length}\r\n${i}\r\n`));
  assert.equal(p.nextCommand(), n);
  assert.equal(p.arg(n - 1).toString(), String(n - 1));
});
