/**
 * Hostile inputs for the fuzzing campaign (fuzz/campaign.ts), as fast-check arbitraries:
 * valid samples of each protocol, then mutated (bytes flipped, cut, repeated, spliced with
 * random bytes), and plain random bytes. Every input is the bytes a client sends.
 *
 * @module
 */
import fc from 'fast-check';

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A key: mostly the canaries' neighbourhood and printable text, sometimes any bytes. */
const key = fc.oneof(
  fc.constantFrom('fz:a', 'fz:b', 'fz:list', ''),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** Byte-level mutations of a valid sample. */
function mutate(sample: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(sample, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5 }), fc.uint8Array({ minLength: 1, maxLength: 64 })), { maxLength: 4 })).map(([b, edits]) => {
    let out = Buffer.from(b);
    for (const [at, kind, bytes] of edits) {
      const i = out.length ? at % out.length : 0;
      if (kind === 0) out = Buffer.concat([out.subarray(0, i), Buffer.from(bytes), out.subarray(i)]); // insert
      else if (kind === 1) out = Buffer.concat([out.subarray(0, i), out.subarray(Math.min(out.length, i + bytes.length))]); // delete
      else if (kind === 2 && out.length) out[i] ^= bytes[0] || 1; // flip
      else if (kind === 3) out = out.subarray(0, i); // truncate
      else if (kind === 4) out = Buffer.concat([out, out.subarray(i)]); // repeat a tail
      else out = Buffer.concat([out, Buffer.from(bytes)]); // append garbage
    }
    return out;
  });
}

// ── HTTP ──────────────────────────────────────────────────────────────────────────────
const method = fc.oneof(fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE'), fc.stringMatching(/^[A-Z]{1,12}$/));
const path = fc.oneof(
  key.map((k) => `/v1/kv/${encodeURIComponent(k)}`),
  fc.constantFrom('/v1/kv/fz:a/incr', '/v1/kv/fz:a/expire?ttl=5', '/v1/mget', '/v1/mset', '/v1/keys?prefix=fz&count=10', '/v1/ws', '/', '/healthz', '/v1/kv/', '/v1/kv/%zz', '/v1/kv/a%00b'),
  fc.string({ maxLength: 200 }).map((s) => `/${s}`),
);
const header = fc.oneof(
  fc.constantFrom('Content-Type: application/json', 'Content-Type: application/octet-stream', 'Transfer-Encoding: chunked', 'If-Match: *', 'If-None-Match: "x"', 'Origin: http://evil.example', 'Connection: close', 'Expect: 100-continue', 'Upgrade: websocket', 'Content-Length: 99999999999'),
  fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.string({ maxLength: 100 })).map(([n, v]) => `${n}: ${v}`),
);
const body = fc.oneof(fc.constant(''), fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.constant('[{"key":"fz:a","value":"x"}]'));
const httpRequest = fc.tuple(method, path, fc.array(header, { maxLength: 6 }), body, fc.boolean(), fc.boolean()).map(([m, p, hs, b, withLength, chunked]) => {
  const lines = [`${m} ${p} HTTP/1.1`, 'Host: 127.0.0.1', ...hs];
  if (chunked) return enc(`${[...lines, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`);
  if (withLength) lines.push(`Content-Length: ${Buffer.byteLength(b)}`);
  return Buffer.concat([enc(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(b)]);
});

/** A raw HTTP/1.1 stream: one to three requests (pipelined), mutated or not, or random bytes. */
export const httpInput: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(httpRequest, { minLength: 1, maxLength: 3 }).map((rs) => Buffer.concat(rs)) },
  { weight: 4, arbitrary: mutate(httpRequest) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)) },
);

// ── WebSocket (docs/ws-protocol.md) ───────────────────────────────────────────────────
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n & 0xffff); return b; };
const wsRequest = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 7 }), key, fc.uint8Array({ maxLength: 300 }), fc.nat()).map(([id, op, flags, k, value, n]) => {
  const kb = enc(k);
  const head = Buffer.concat([u32(id), Buffer.from([op, flags]), u16(kb.length), kb]);
  switch (op) {
    case 2: return Buffer.concat([head, u32(n % 100), Buffer.from([0]), u32(value.length), Buffer.from(value)]);
    case 4: { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n) - 1000n); return Buffer.concat([head, b]); }
    case 5: return Buffer.concat([head, u32(n % 100)]);
    case 8: return Buffer.concat([head, u32(n % 2000), Buffer.from([1]), enc('0')]);
    default: return head;
  }
});

/** A binary WebSocket message: requests back to back, mutated or not, or random bytes. */
export const wsBinaryInput: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(wsRequest, { minLength: 1, maxLength: 8 }).map((rs) => Buffer.concat(rs)) },
  { weight: 4, arbitrary: mutate(fc.array(wsRequest, { minLength: 1, maxLength: 4 }).map((rs) => Buffer.concat(rs))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)) },
);

const wsJson = fc.record({
  id: fc.oneof(fc.nat(), fc.string(), fc.constant(null)),
  op: fc.oneof(fc.constantFrom('get', 'set', 'del', 'incr', 'expire', 'persist', 'ttl', 'scan', 'watch', 'unwatch'), fc.string({ maxLength: 10 })),
  key: fc.oneof(key, fc.nat(), fc.constant(null)),
  value: fc.oneof(fc.string({ maxLength: 100 }), fc.nat(), fc.json({ maxDepth: 2 })),
  ttlSeconds: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 5 })),
}, { requiredKeys: [] });

/** A text WebSocket message: JSON requests (one or an array), mutated text, or random text. */
export const wsTextInput: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(wsJson, fc.array(wsJson, { maxLength: 8 })).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: mutate(wsJson.map((v) => Buffer.from(JSON.stringify(v)))).map((b) => b.toString('utf8')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 500 }) },
);

// ── RESP ──────────────────────────────────────────────────────────────────────────────
const respCommand = fc.tuple(
  fc.oneof(fc.constantFrom('GET', 'SET', 'DEL', 'INCR', 'MSET', 'MGET', 'EXPIRE', 'PEXPIRE', 'TTL', 'LPUSH', 'RPOP', 'LRANGE', 'HSET', 'HGETALL', 'HINCRBY', 'SCAN', 'KEYS', 'SUBSCRIBE', 'PSUBSCRIBE', 'CLIENT', 'HELLO', 'COMMAND', 'INFO', 'GETEX', 'APPEND', 'INCRBYFLOAT', 'SETEX', 'TYPE', 'PING', 'ECHO', 'RESET'), fc.string({ maxLength: 12 })),
  fc.array(fc.oneof(key, fc.integer().map(String), fc.constantFrom('EX', 'PX', 'NX', 'XX', 'GET', 'KEEPTTL', 'MATCH', '*', 'COUNT', '-1', '0', '99999999999999999999', '3.5e10', 'inf')), { maxLength: 6 }),
).map(([cmd, args]) => {
  const parts = [cmd, ...args].map(enc);
  return Buffer.concat([enc(`*${parts.length}\r\n`), ...parts.flatMap((p) => [enc(`$${p.length}\r\n`), p, enc('\r\n')])]);
});
const respInline = fc.array(fc.oneof(key, fc.constantFrom('"a b"', "'x'", '"\\x41"', '"unclosed')), { minLength: 1, maxLength: 5 }).map((ws) => enc(`${ws.join(' ')}\r\n`));

/** A RESP stream: pipelined commands (multibulk or inline), mutated or not, hostile headers, or random bytes. */
export const respInput: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(respCommand, respInline), { minLength: 1, maxLength: 10 }).map((cs) => Buffer.concat(cs)) },
  { weight: 4, arbitrary: mutate(fc.array(respCommand, { minLength: 1, maxLength: 4 }).map((cs) => Buffer.concat(cs))) },
  { weight: 1, arbitrary: fc.constantFrom('*-5\r\n', '$1073741824\r\n', '*1048577\r\n', '*2\r\n$3\r\nGET\r\n$-2\r\n', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nshort\r\n').map(enc) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)) },
);
