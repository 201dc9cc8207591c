import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp, uws } from '../../src/server/uws.ts';

test('the native uWebSockets.js binding loads (never the JavaScript fallback)', () => {
  // The fallback is a JavaScript module; the native binding exports these C++ functions.
  assert.equal(typeof uws.us_listen_socket_close, 'function');
  assert.equal(typeof uws.us_socket_local_port, 'function');
  assert.match(String(uws.App), /native code/);
  const app = createApp();
  assert.equal(typeof app.close, 'function');
  app.close();
});
