import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { NativeMissingError } from '../../src/errors.ts';

// Imported here, not at the top: on a Node whose ABI has no binding in the installed
// package (Node 22 and 24 here), loading it must fail, and that failure is what is tested.
const loaded: typeof import('../../src/server/uws.ts') | Error = await import('../../src/server/uws.ts').catch((e: Error) => e);
const packageDir = dirname(createRequire(import.meta.url).resolve('uWebSockets.js/package.json'));
const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const hasBinding = existsSync(join(packageDir, name)) || existsSync(join(packageDir, 'binaries', name));

test('the native uWebSockets.js binding loads where the package has one for this Node (never the JavaScript fallback)', { skip: !hasBinding && `no ${name} in the installed package (Node ${process.versions.node})` }, () => {
  assert.ok(!(loaded instanceof Error), `it loads: ${loaded instanceof Error ? loaded.message : ''}`);
  const { createApp, uws } = loaded as typeof import('../../src/server/uws.ts');
  // The fallback is a JavaScript module; the native binding exports these C++ functions.
  assert.equal(typeof uws.us_listen_socket_close, 'function');
  assert.equal(typeof uws.us_socket_local_port, 'function');
  assert.match(String(uws.App), /native code/);
  const app = createApp();
  assert.equal(typeof app.close, 'function');
  app.close();
});

test('without a binding for this Node, loading fails loudly with SABCACHE_ERR_NATIVE_MISSING (no fallback)', { skip: hasBinding && `the package has ${name}` }, () => {
  assert.ok(loaded instanceof NativeMissingError, `got ${String(loaded)}`);
  assert.equal(loaded.code, 'SABCACHE_ERR_NATIVE_MISSING');
  assert.match(loaded.message, new RegExp(`Node ABI ${process.versions.modules}`));
  assert.match(loaded.message, /does not run on the slow fallback/);
  assert.match(loaded.message, /README\.md/);
});
