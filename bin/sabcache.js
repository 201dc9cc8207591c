#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// GLIBC_TUNABLES asks glibc for transparent huge pages for the cache's buffer
// (src/server/huge-pages.ts says why; `node bin/sabcache.js` runs without them).
// The `sabcache` command: runs the compiled server (npm install builds dist/ via `prepare`).
import '../dist/src/cli/sabcache.js';
