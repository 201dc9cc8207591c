#!/usr/bin/env node
// The `sabcache-cli` command: runs the compiled client (npm install builds dist/ via `prepare`).
import '../dist/src/cli/sabcache-cli.js';
