#!/usr/bin/env node
// The `sabcache` command: runs the compiled server (npm install builds dist/ via `prepare`).
import '../dist/src/cli/sabcache.js';
