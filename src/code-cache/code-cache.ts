/**
 * V8 code cache data kept in the shared table (docs/design.md §9), so that every thread of a
 * process (a piscina pool's workers, the owner) compiles a module once and the others start
 * from what it compiled; with the server's `--data-dir`, snapshots keep it across restarts.
 *
 * As `v8-compile-cache` does for its disk cache, {@link installCodeCache} replaces
 * `Module.prototype._compile` in the calling thread: a CommonJS module is compiled by a
 * `vm.Script` given the cached data found under its key, then run; if there was none, or V8
 * rejected it, `createCachedData()` after the module has run (so that the functions its
 * top level called, compiled lazily, are included) is stored for the next thread.
 *
 * ES modules are not covered: Node 20's loader hooks (`module.register`, `load`) return a
 * module's source, not code cache data, and `vm.SourceTextModule` (which takes
 * `cachedData`) is behind `--experimental-vm-modules` and outside the loader; Node 22's
 * `module.enableCompileCache()` (a disk cache) is the tool there.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import Module from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';
import { CodeCacheCounters } from '../commands/stats.ts';
import { BadOptionError, CodeCacheInstalledError } from '../errors.ts';
import type { SharedCache } from '../shared-cache.ts';
import { refuseUnknownOptions } from '../util/known-options.ts';
import { parseBytes } from '../util/parse-bytes.ts';
import { decodeCodeRecord, encodeCodeRecord, RECORD_HEADER_BYTES } from './code-cache-record.ts';

/** Options of {@link installCodeCache}. */
export interface CodeCacheOptions {
  /** Prefix of the code cache's keys (default `'sabcache:code:'`); a key is the prefix and 64 hex digits. */
  keyPrefix?: string;
  /**
   * Largest record stored, in bytes or a size string (`'8mb'`); larger code cache data is
   * not stored, so code never crowds out the data it serves. Default and most: the cache's
   * `maxValueBytes`.
   */
  maxEntryBytes?: number | string;
  /** TTL of stored records, in seconds (default: none; they are evicted like any entry). */
  ttlSeconds?: number;
  /**
   * Whether `require` uses the cache in this thread (default true). False leaves
   * `Module.prototype._compile` alone: only {@link CodeCache.compileScript} uses it.
   */
  require?: boolean;
  /** Which CommonJS files use the cache (default: every one). */
  filter?: (filename: string) => boolean;
}

const OPTION_NAMES = ['keyPrefix', 'maxEntryBytes', 'ttlSeconds', 'require', 'filter'] as const;

/** What compiling one source found in the cache. */
export type CodeCacheOutcome = 'hit' | 'miss' | 'rejected';

/** A compiled script and what the cache gave it. */
export interface CompiledScript {
  script: vm.Script;
  /** 'hit': V8 used the cached data; 'miss': there was none; 'rejected': there was, refused (then replaced). */
  outcome: CodeCacheOutcome;
}

/** `Module.prototype._compile` as Node defines it (not in @types/node). */
type CompileFn = (this: NodeModule, content: string, filename: string) => unknown;
interface ModuleInternals {
  prototype: { _compile: CompileFn };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: NodeModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: NodeModule): string[] | null;
  _extensions: NodeJS.RequireExtensions;
  _cache: NodeJS.Dict<NodeModule>;
}
const ModuleInternal = Module as unknown as ModuleInternals;

/**
 * Compiled code must match the V8 that made it and the flags it ran with: both are part of
 * every key (V8 checks them again in its own header, and a mismatch is a rejection).
 */
const RUNTIME_TAG = `${process.versions.v8}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}\0`;

/** Lets a CommonJS module compiled by vm.Script use `import()` as Node's own compile allows. */
const DYNAMIC_IMPORT = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

/** The code cache installed in this thread, if any. */
let installed: CodeCache | undefined;

/**
 * A code cache over one SharedCache, in one thread. Made by {@link installCodeCache}.
 */
export class CodeCache {
  private readonly prefix: string;
  private readonly maxEntryBytes: number;
  private readonly ttlSeconds: number | undefined;
  private readonly filter: ((filename: string) => boolean) | undefined;
  private readonly counters: CodeCacheCounters;
  /** Keys of scripts compileScript made, for {@link save}. */
  private readonly keys = new WeakMap<vm.Script, string>();
  /** Modules this thread compiled without accepted data since the last {@link saveModules}: their data is worth storing again once they have run more. */
  private produced: { key: string; script: vm.Script }[] = [];
  private readonly originalCompile: CompileFn | undefined;
  /** The `_compile` this cache installed (undefined with `require: false`). */
  private readonly hook: CompileFn | undefined;

  /** @internal use {@link installCodeCache} */
  constructor(private readonly cache: SharedCache, options: CodeCacheOptions) {
    refuseUnknownOptions('installCodeCache', options, OPTION_NAMES);
    this.prefix = options.keyPrefix ?? 'sabcache:code:';
    if (typeof this.prefix !== 'string') throw new BadOptionError('keyPrefix', 'must be a string');
    const cap = cache.commands.maxValueBytes;
    this.maxEntryBytes = options.maxEntryBytes === undefined ? cap : parseBytes('maxEntryBytes', options.maxEntryBytes);
    if (this.maxEntryBytes > cap) throw new BadOptionError('maxEntryBytes', `must be at most the cache's maxValueBytes (${cap})`);
    if (this.maxEntryBytes <= RECORD_HEADER_BYTES) throw new BadOptionError('maxEntryBytes', `must be more than ${RECORD_HEADER_BYTES} bytes`);
    if (options.ttlSeconds !== undefined && !(Number.isInteger(options.ttlSeconds) && options.ttlSeconds > 0)) {
      throw new BadOptionError('ttlSeconds', 'must be a positive integer');
    }
    this.ttlSeconds = options.ttlSeconds;
    if (options.filter !== undefined && typeof options.filter !== 'function') throw new BadOptionError('filter', 'must be a function');
    this.filter = options.filter;
    if (options.require !== undefined && typeof options.require !== 'boolean') throw new BadOptionError('require', 'must be a boolean');
    this.counters = new CodeCacheCounters(cache.commands);
    if (options.require !== false) {
      const original = ModuleInternal.prototype._compile;
      this.originalCompile = original;
      // Node calls _compile with the module as `this`: the cache is reached by closure.
      const codeCache = this;
      this.hook = function compileWithCodeCache(this: NodeModule, content: string, filename: string): unknown {
        if (codeCache.filter !== undefined && !codeCache.filter(filename)) return original.call(this, content, filename);
        return codeCache.compileModule(this, content, filename);
      };
      ModuleInternal.prototype._compile = this.hook;
    }
  }

  /** The key of `source` compiled as `filename` (the prefix and a SHA-256 of V8's version, its flags, the filename and the source). */
  keyOf(source: string, filename: string): string {
    return this.prefix + createHash('sha256').update(RUNTIME_TAG).update(filename).update('\0').update(source).digest('hex');
  }

  /**
   * Compiles `source` as a script named `filename`, with the cache's data for it. Data that
   * is missing or rejected is produced now and stored (what V8 compiled eagerly); after the
   * script has run, {@link save} stores it again with what running compiled.
   */
  compileScript(source: string, filename: string): vm.Script {
    const key = this.keyOf(source, filename);
    const { script, outcome } = this.compile(key, source, filename);
    this.keys.set(script, key);
    if (outcome !== 'hit') this.store(key, script);
    return script;
  }

  /**
   * Stores the code cache data of `script` (made by {@link compileScript}) as it is now:
   * after it has run, that includes the functions it compiled lazily. Returns whether it was
   * stored (false: not a script of this cache, or larger than `maxEntryBytes`).
   */
  save(script: vm.Script): boolean {
    const key = this.keys.get(script);
    return key !== undefined && this.store(key, script);
  }

  /**
   * Compiles `source` with the data found under `key`, counting the outcome. A record that
   * fails its checksum, or that V8 rejects, counts as rejected.
   */
  compile(key: string, source: string, filename: string): CompiledScript {
    const record = this.cache.getBytes(key);
    const cachedData = record === undefined ? undefined : decodeCodeRecord(record);
    const script = new vm.Script(source, { filename, cachedData, importModuleDynamically: DYNAMIC_IMPORT as never });
    let outcome: CodeCacheOutcome;
    if (record === undefined) outcome = 'miss';
    else if (cachedData === undefined || script.cachedDataRejected === true) outcome = 'rejected';
    else outcome = 'hit';
    if (outcome === 'hit') this.counters.hit();
    else if (outcome === 'miss') this.counters.miss();
    else this.counters.rejected();
    return { script, outcome };
  }

  /** Node's Module#_compile, through the cache: wrap, compile, run, then store if it was not a hit. */
  private compileModule(mod: NodeModule, content: string, filename: string): unknown {
    const key = this.keyOf(content, filename);
    const { script, outcome } = this.compile(key, ModuleInternal.wrap(withoutHashbang(content)), filename);
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const result = wrapper.call(mod.exports, mod.exports, makeRequire(mod), mod, filename, dirname(filename));
    if (outcome !== 'hit') {
      this.store(key, script);
      this.produced.push({ key, script });
    }
    return result;
  }

  /**
   * Stores again the code cache data of every module this thread compiled without cached
   * data since installing (or the last call), now that they have run more: data made when a
   * module's top level has run holds only what that compiled, and a thread's first task
   * compiles many more functions lazily (`v8-compile-cache` stores at process exit for the
   * same reason). Call it in the thread that warmed up (after its first task); later threads
   * then start with those functions compiled. Returns how many it stored.
   */
  saveModules(): number {
    let stored = 0;
    for (const { key, script } of this.produced) if (this.store(key, script)) stored++;
    this.produced = [];
    return stored;
  }

  /** Stores `script`'s code cache data under `key` unless it is too large. Never throws: a cache that cannot store only misses. */
  private store(key: string, script: vm.Script): boolean {
    const data = script.createCachedData();
    if (data.length + RECORD_HEADER_BYTES > this.maxEntryBytes) return false;
    const record = encodeCodeRecord(data);
    try {
      this.cache.set(key, record, this.ttlSeconds === undefined ? undefined : { ttlSeconds: this.ttlSeconds });
    } catch {
      return false; // out of memory for now, or the cache closed: the next thread misses
    }
    this.counters.stored(record.length);
    return true;
  }

  /** Gives `Module.prototype._compile` back (if this cache replaced it and nothing replaced it since). */
  uninstall(): void {
    if (installed === this) installed = undefined;
    this.produced = [];
    // Only if the hook in place is this cache's own: one installed after it stays.
    if (this.originalCompile !== undefined && ModuleInternal.prototype._compile === this.hook) {
      ModuleInternal.prototype._compile = this.originalCompile;
    }
  }
}

/**
 * `content` with a first line starting `#!` emptied (its line break kept, so line numbers
 * hold): V8 accepts a hashbang only at the start of a script, not inside Module.wrap's function.
 */
function withoutHashbang(content: string): string {
  if (!content.startsWith('#!')) return content;
  const end = content.search(/[\r\n]/);
  return end < 0 ? '' : content.slice(end);
}

/** The `require` a module's wrapper gets, as Node's makeRequireFunction builds it. */
function makeRequire(mod: NodeModule): NodeJS.Require {
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => ModuleInternal._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => ModuleInternal._resolveLookupPaths(request, mod);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = ModuleInternal._extensions;
  require.cache = ModuleInternal._cache;
  return require;
}

/**
 * Installs a code cache over `cache` in the calling thread (the owner or an attached
 * worker): from now on CommonJS modules loaded by `require` compile with V8 code cache data
 * from the shared table and store what they produce; {@link CodeCache.compileScript} does
 * the same for `vm.Script` users. Hits, misses, rejections and bytes stored are in
 * `cache.stats()` (`codeCacheHits`, …) and the server's `/v1/stats`.
 *
 * Key: `keyPrefix` + SHA-256 of V8's version, `process.execArgv`, `NODE_OPTIONS`, the
 * filename and the source, so a different Node, other flags or a changed file never reuse
 * stale data. Records carry a SHA-256 of their payload (code-cache-record.ts).
 *
 * Source: the approach of `v8-compile-cache` (Andres Suarez, 2017), which wraps
 * `Module.prototype._compile` over a disk cache; here the store is the shared table.
 *
 * @throws CodeCacheInstalledError (`SABCACHE_ERR_CODE_CACHE_INSTALLED`) if this thread has one.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an unknown or bad option.
 */
export function installCodeCache(cache: SharedCache, options: CodeCacheOptions = {}): CodeCache {
  if (installed !== undefined) throw new CodeCacheInstalledError();
  installed = new CodeCache(cache, options);
  return installed;
}
