import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyCodec } from '../../src/table/key-codec.ts';

test('a string key and its UTF-8 bytes encode and hash the same', () => {
  const c = new KeyCodec(64, 7, 9);
  for (const key of ['plain', 'héllo wörld ✓', '日本語のキー', '🙂 emoji']) {
    c.encode(key);
    const bytes = c.bytes.slice(0, c.length);
    const hash = [...c.hash];
    assert.deepEqual(bytes, new TextEncoder().encode(key));
    c.encode(new TextEncoder().encode(key));
    assert.deepEqual([...c.hash], hash, key);
  }
});

test('limits are UTF-8 bytes, not characters', () => {
  const c = new KeyCodec(4, 1, 2);
  c.encode('abcd');
  assert.equal(c.length, 4);
  assert.throws(() => c.encode('abcde'), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' });
  assert.throws(() => c.encode('ééé'), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' }); // 6 bytes
  c.encode('éé');
  assert.equal(c.length, 4);
  assert.throws(() => c.encode(new Uint8Array(5)), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' });
});

test('empty keys and keys of other types are refused', () => {
  const c = new KeyCodec(16, 1, 2);
  assert.throws(() => c.encode(''), { code: 'SABCACHE_ERR_BAD_KEY' });
  assert.throws(() => c.encode(new Uint8Array(0)), { code: 'SABCACHE_ERR_BAD_KEY' });
  assert.throws(() => c.encode(42 as unknown as string), { code: 'SABCACHE_ERR_BAD_KEY' });
});

test('the fused ASCII hash equals the byte hash at every tail length', () => {
  const c = new KeyCodec(64, 0x1234, -77);
  for (let n = 1; n <= 40; n++) {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'.slice(0, n);
    c.encode(key);
    const fromString = [...c.hash];
    c.encode(new TextEncoder().encode(key));
    assert.deepEqual([...c.hash], fromString, `length ${n}`);
  }
});

test('a key read a word at a time from an aligned buffer encodes and hashes as the same key, whatever bytes follow it', () => {
  const c = new KeyCodec(64, 5, 6);
  for (const key of ['a', 'ab', 'abc', 'abcd', 'ключ-7', 'x'.repeat(64), ...Array.from({ length: 12 }, (_, n) => 'key:0123456789'.slice(0, n + 1))]) {
    const bytes = new TextEncoder().encode(key);
    c.encode(key);
    const expected = [...c.hash];
    const frame = new Uint8Array((12 + bytes.length + 8 + 3) & ~3).fill(0xa5); // non-zero bytes after the key
    frame.set(bytes, 12);
    c.encodeWords(new Int32Array(frame.buffer), 3, bytes.length);
    assert.deepEqual([...c.hash], expected, key);
    assert.deepEqual(c.bytes.slice(0, c.length), bytes);
  }
});

test('a key taken from inside a larger buffer encodes and hashes as the same key', () => {
  const c = new KeyCodec(64, 5, 6);
  for (const key of ['a', 'abcd', 'ключ-7', 'x'.repeat(64), ...Array.from({ length: 12 }, (_, n) => 'key:0123456789'.slice(0, n + 1))]) {
    const bytes = new TextEncoder().encode(key);
    c.encode(key);
    const expected = [...c.hash];
    const frame = new Uint8Array(bytes.length + 10);
    frame.set(bytes, 7);
    c.encodeSlice(frame, 7, bytes.length);
    assert.deepEqual([...c.hash], expected, key);
    assert.deepEqual(c.bytes.slice(0, c.length), bytes);
  }
  assert.throws(() => c.encodeSlice(new Uint8Array(70), 0, 65), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' });
  assert.throws(() => c.encodeWords(new Int32Array(20), 0, 65), { code: 'SABCACHE_ERR_KEY_TOO_LARGE' });
  assert.throws(() => c.encodeWords(new Int32Array(1), 0, 0), { code: 'SABCACHE_ERR_BAD_KEY' });
  assert.throws(() => c.encodeSlice(new Uint8Array(1), 0, 0), { code: 'SABCACHE_ERR_BAD_KEY' });
});
