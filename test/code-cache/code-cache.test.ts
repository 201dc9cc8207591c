import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { installCodeCache } from '../../src/code-cache/code-cache.ts';
import { encodeCodeRecord, decodeCodeRecord } from '../../src/code-cache/code-cache-record.ts';
import { loadSnapshot, writeSnapshot } from '../../src/persist/snapshot-files.ts';
import { SharedCache } from '../../src/shared-cache.ts';
import { exited, firstMessage, startFixture } from '../helpers/workers.ts';

interface WorkerAnswer { results: unknown[]; hits: number; misses: number; rejected: number; saved: number; storedBytes: number }

/** A CommonJS module of its own (a fresh file: no earlier test's data), with a hashbang line and 200 lazily compiled functions. */
function writeModule(dir: string, name: string): string {
  const path = join(dir, name);
  const body = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i % 7}; }`).join('\n');
  writeFileSync(path, `#!/usr/bin/env node\n'use strict';\n${body}\nconst table = [${Array.from({ length: 200 }, (_, i) => `f${i}`).join(', ')}];\n` +
    `exports.run = (input) => ({ name: ${JSON.stringify(name)}, sum: table.reduce((s, f) => s + f(input.length), 0), dir: __dirname === ${JSON.stringify(dir)}, self: require.resolve('./${name}') === __filename });\n`);
  return path;
}

async function inWorker(cache: SharedCache, modules: string[], useCache: boolean, input = 'abc', scripts: { source: string; filename: string }[] = [], saveModules = false): Promise<WorkerAnswer> {
  const w = startFixture('code-cache-worker', { handle: cache.handle, modules, useCache, input, scripts, saveModules });
  const answer = await firstMessage<WorkerAnswer>(w);
  await exited(w);
  return answer;
}

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabcache-code-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a module compiled in one thread is a code cache hit in another, and behaves the same', withDir(async (dir) => {
  const cache = SharedCache.create({ memoryBytes: '16mb' });
  const mod = writeModule(dir, 'shared-module.cjs');
  const plain = await inWorker(cache, [mod], false);
  const first = await inWorker(cache, [mod], true);
  assert.deepEqual([first.hits, first.misses, first.rejected], [0, 1, 0], 'the first thread compiles and stores');
  const second = await inWorker(cache, [mod], true);
  assert.deepEqual([second.hits, second.misses, second.rejected], [1, 0, 0], 'the second starts from it');
  assert.deepEqual(second.results, plain.results);
  assert.deepEqual(first.results, plain.results);
  assert.deepEqual(plain.results[0], { name: 'shared-module.cjs', sum: 3 * 19900 + 594, dir: true, self: true });
  const s = cache.stats();
  assert.equal(s.codeCacheHits, 1);
  assert.equal(s.codeCacheMisses, 1);
  assert.ok(s.codeCacheStoredBytes > 1000);
  cache.close();
}));

test('TypeScript 5 transpiles the same with and without the code cache', async (t) => {
  let ts: string;
  try {
    ts = createRequire(import.meta.url).resolve('typescript5');
  } catch {
    t.skip('typescript5 (the dev dependency aliasing typescript@5) is not installed: run npm install');
    return;
  }
  const runner = join(mkdtempSync(join(tmpdir(), 'sabcache-ts-')), 'transpile.cjs');
  writeFileSync(runner, `const ts = require(${JSON.stringify(ts)});\nexports.run = (src) => ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019 } }).outputText;\n`);
  const source = 'enum Color { Red, Green }\nexport class Box<T> { constructor(private readonly v: T) {}\n get value(): T { return this.v; } }\nexport const c: Color = Color.Green;\nexport async function f(x?: number) { return x ?? (await Promise.resolve(1)); }\n';
  const cache = SharedCache.create({ memoryBytes: '64mb', maxValueBytes: '16mb' });
  const plain = await inWorker(cache, [runner], false, source);
  const first = await inWorker(cache, [runner], true, source, [], true);
  const second = await inWorker(cache, [runner], true, source);
  assert.equal(first.misses, 2, 'typescript.js and the runner: misses, stored');
  assert.equal(first.saved, 2, 'and stored again after the first transpile');
  assert.equal(second.hits, 2, 'both hits in the next thread');
  assert.equal(second.rejected, 0);
  assert.equal(typeof plain.results[0], 'string');
  assert.match(plain.results[0] as string, /Color\[Color\["Green"\] = 1\] = "Green"/);
  assert.equal(first.results[0], plain.results[0]);
  assert.equal(second.results[0], plain.results[0]);
  cache.close();
  rmSync(join(runner, '..'), { recursive: true, force: true });
});

test('damaged data and data of another V8 are rejected, counted and replaced', async () => {
  const cache = SharedCache.create({ memoryBytes: '8mb' });
  const codeCache = installCodeCache(cache, { require: false });
  try {
    const source = `(function () { ${Array.from({ length: 100 }, (_, i) => `function g${i}() { return ${i}; }`).join(' ')} return g42(); })()`;
    const filename = '/virtual/damaged.js';
    const key = codeCache.keyOf(source, filename);
    assert.equal(codeCache.compile(key, source, filename).outcome, 'miss');
    const s1 = codeCache.compileScript(source, filename);
    assert.equal(s1.runInThisContext(), 42);
    assert.equal(codeCache.compile(key, source, filename).outcome, 'hit');

    // A flipped payload byte: the record's checksum fails before V8 sees it.
    const record = cache.getBytes(key)!;
    const damaged = Uint8Array.from(record);
    damaged[damaged.length - 10] ^= 0xff;
    cache.set(key, damaged);
    assert.equal(codeCache.compile(key, source, filename).outcome, 'rejected');
    assert.equal(codeCache.compileScript(source, filename).runInThisContext(), 42, 'compiled without it, and replaced');
    assert.equal(codeCache.compile(key, source, filename).outcome, 'hit');
    assert.ok(decodeCodeRecord(cache.getBytes(key)!) !== undefined, 'an undamaged record in its place');

    // Garbage, short or with a wrong length: rejected too.
    for (const bad of [new Uint8Array(3), new Uint8Array(100)]) {
      cache.set(key, bad);
      assert.equal(codeCache.compile(key, source, filename).outcome, 'rejected');
    }
    cache.set(key, record);

    // Another V8's data under a good checksum: V8's header names its version (bytes 4-8),
    // and V8 rejects it. In threads of their own: this thread's V8 keeps the script it
    // compiled and would not look at the data again.
    const foreign = Uint8Array.from(decodeCodeRecord(record)!);
    foreign[4] ^= 0x5a;
    cache.set(key, encodeCodeRecord(foreign));
    const a = await inWorker(cache, [], true, '', [{ source, filename }]);
    assert.deepEqual([a.results, a.hits, a.misses, a.rejected], [[42], 0, 0, 1], 'rejected, compiled without it, replaced');
    const b = await inWorker(cache, [], true, '', [{ source, filename }]);
    assert.deepEqual([b.results, b.hits, b.misses, b.rejected], [[42], 1, 0, 0]);
    const s = cache.stats();
    assert.equal(s.codeCacheRejected, 5, 'the damaged record twice (looked at, then replaced), two of garbage, the foreign one');
    assert.equal(s.codeCacheHits, 3);
  } finally {
    codeCache.uninstall();
    cache.close();
  }
});

test('the entry cap is held, keys carry the prefix, and options are checked', () => {
  const cache = SharedCache.create({ memoryBytes: '8mb', maxValueBytes: '64kb' });
  assert.throws(() => installCodeCache(cache, { maxEntryBytes: '1mb' }), { code: 'SABCACHE_ERR_BAD_OPTION' });
  assert.throws(() => installCodeCache(cache, { maxEntryByte: 100 } as never), { code: 'SABCACHE_ERR_BAD_OPTION', message: /maxEntryBytes/ });
  assert.throws(() => installCodeCache(cache, { ttlSeconds: -1 }), { code: 'SABCACHE_ERR_BAD_OPTION' });
  const codeCache = installCodeCache(cache, { require: false, maxEntryBytes: 2048, keyPrefix: 'cc:' });
  try {
    assert.throws(() => installCodeCache(cache), { code: 'SABCACHE_ERR_CODE_CACHE_INSTALLED' });
    const small = '1 + 1';
    // Parenthesized functions are compiled eagerly: about 360 KB of code cache data.
    const large = `[${Array.from({ length: 2000 }, (_, i) => `(function h${i}() { return ${i} + 1; })`).join(',')}].length`;
    const smallScript = codeCache.compileScript(small, '/virtual/small.js');
    const largeScript = codeCache.compileScript(large, '/virtual/large.js');
    assert.equal(largeScript.runInThisContext(), 2000);
    assert.equal(smallScript.runInThisContext(), 2);
    assert.ok(codeCache.keyOf(small, '/virtual/small.js').startsWith('cc:'));
    assert.ok(cache.getBytes(codeCache.keyOf(small, '/virtual/small.js'))!.length <= 2048);
    assert.equal(cache.getBytes(codeCache.keyOf(large, '/virtual/large.js')), undefined, 'over the cap: not stored');
    assert.equal(codeCache.save(largeScript), false);
    assert.notEqual(codeCache.keyOf(small, '/virtual/other.js'), codeCache.keyOf(small, '/virtual/small.js'), 'the filename is in the key');
  } finally {
    codeCache.uninstall();
    cache.close();
  }
});

test('code cache entries survive a snapshot round trip', withDir(async (dir) => {
  const mod = writeModule(dir, 'snap-module.cjs');
  const a = SharedCache.create({ memoryBytes: '16mb' });
  const first = await inWorker(a, [mod], true);
  assert.equal(first.misses, 1);
  writeSnapshot(a.table, dir, 2);
  a.close();
  const b = SharedCache.create({ memoryBytes: '16mb' });
  loadSnapshot(b, dir, () => {});
  const warm = await inWorker(b, [mod], true);
  assert.deepEqual([warm.hits, warm.misses, warm.rejected], [1, 0, 0], 'a restarted process starts warm');
  assert.deepEqual(warm.results, first.results);
  b.close();
}));

test('saveModules stores again what a module compiled while it ran', withDir(async (dir) => {
  const mod = writeModule(dir, 'lazy-module.cjs');
  /** The one code cache record's size after a thread required `mod`, saving again or not. */
  async function recordSize(saveModules: boolean): Promise<{ bytes: number; answer: WorkerAnswer; cache: SharedCache }> {
    const cache = SharedCache.create({ memoryBytes: '16mb' });
    const answer = await inWorker(cache, [mod], true, 'abc', [], saveModules);
    const { keys } = cache.scan({ prefix: 'sabcache:code:', count: 1000 });
    assert.equal(keys.length, 1);
    return { bytes: cache.getBytes(keys[0])!.length, answer, cache };
  }
  const plain = await recordSize(false);
  const saved = await recordSize(true);
  // The 200 functions are compiled lazily, by run(): data made after the top level lacks them.
  assert.equal(saved.answer.saved, 1);
  assert.ok(saved.bytes > plain.bytes + 2000, `${saved.bytes} B saved again vs ${plain.bytes} B`);
  const again = await inWorker(saved.cache, [mod], true, 'abc', [], true);
  assert.deepEqual([again.hits, again.saved], [1, 0], 'a hit is not stored again');
  plain.cache.close();
  saved.cache.close();
}));
