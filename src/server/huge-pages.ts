/**
 * Whether this process asked glibc for huge pages for its large allocations (the cache's
 * shared buffer among them), told in one line of the server's start log.
 *
 * Why it matters: the cache is one buffer of `--memory` bytes, read and written at random
 * (index lookups, the links of a snapshot load). With 4 KiB pages, nearly every such access
 * misses the TLB, and the first touch of the buffer takes a page fault per 4 KiB, which
 * threads of one process take in turn. With 2 MiB transparent huge pages (THP) both shrink:
 * bench:persist measures a snapshot load with them and without (its "without huge pages"
 * row); in a profile of a 453 MB load on one thread, the time spent taking bucket locks
 * (the first touch of each bucket) went from 110 ms to 17 ms.
 *
 * JavaScript cannot `madvise` a buffer. glibc 2.35 and later does it for every allocation
 * it maps itself when the environment at the process's start holds
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (the glibc manual, "Memory Allocation Tunables");
 * Node allocates an ArrayBuffer's memory with `calloc`, so the buffer gets them. The
 * `sabcache` command (`bin/sabcache.js`) and `npm start` start Node that way; the setting
 * is the counterpart of memcached's `-L` (large memory pages). Elsewhere (musl, other
 * systems) the variable is ignored.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** The glibc tunable that asks for huge pages (1: THP through madvise; 2: hugetlbfs pages). */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb';

/** Where Linux tells its THP mode (`always [madvise] never`: the bracketed one is in force). */
export const THP_ENABLED_PATH = '/sys/kernel/mm/transparent_hugepage/enabled';

/**
 * The value `tunables` (a `GLIBC_TUNABLES` string: `name=value` pairs separated by `:`)
 * gives {@link HUGE_PAGES_TUNABLE}, or undefined when it does not set it.
 */
export function hugePagesTunable(tunables: string | undefined): string | undefined {
  if (!tunables) return undefined;
  let value: string | undefined;
  for (const pair of tunables.split(':')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq) === HUGE_PAGES_TUNABLE) value = pair.slice(eq + 1); // the last one wins, as in glibc
  }
  return value;
}

/** The kernel's THP mode (`always`, `madvise`, `never`), or undefined when `path` cannot be read. */
export function thpMode(path = THP_ENABLED_PATH): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync(path, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The start log's line about huge pages, or null off Linux (where glibc's tunable does not
 * apply). Says whether they were asked for, and, when asked for with the kernel's THP off
 * or not asked for with it on `madvise`, what to change.
 * @param env the process's environment (its `GLIBC_TUNABLES`) @default process.env
 * @param platform @default process.platform
 * @param mode the kernel's THP mode @default {@link thpMode}()
 */
export function hugePagesLogLine(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform, mode: string | undefined = platform === 'linux' ? thpMode() : undefined): string | null {
  if (platform !== 'linux') return null;
  const asked = hugePagesTunable(env.GLIBC_TUNABLES);
  const kernel = mode === undefined ? 'kernel THP mode unknown' : `kernel THP mode ${mode}`;
  if (asked === '1') {
    return mode === 'never'
      ? `huge pages: asked for (${HUGE_PAGES_TUNABLE}=1), but the kernel has transparent huge pages off (${THP_ENABLED_PATH}: never)`
      : `huge pages: transparent huge pages asked for (${HUGE_PAGES_TUNABLE}=1, ${kernel})`;
  }
  if (asked === '2') return `huge pages: hugetlbfs pages asked for (${HUGE_PAGES_TUNABLE}=2)`;
  if (mode === 'always') return `huge pages: the kernel gives transparent huge pages to every large allocation (${kernel})`;
  return `huge pages: not asked for (${kernel}); start Node with GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}=1, as \`sabcache\` and \`npm start\` do, for faster snapshot loads and lookups (README: Huge pages)`;
}
