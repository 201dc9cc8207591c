import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp, uws } from '../../src/server/uws.ts';

test('a route whose handler throws answers 500 SABCACHE_ERR_INTERNAL for that request alone; the app goes on serving', async () => {
  const app = createApp();
  app.get('/boom', () => { throw new Error('a bug'); });
  app.get('/async-boom', async () => { await Promise.resolve(); throw new Error('a later bug'); });
  app.get('/ok', (res) => { res.end('ok'); });
  const port = await new Promise<number>((resolve, reject) => app.listen('127.0.0.1', 0, (s) => (s ? resolve(uws.us_socket_local_port(s)) : reject(new Error('listen failed')))));
  // The thread's log (log.ts), here as a JSON sink into an array.
  const errors: string[] = [];
  const { pino } = await import('pino');
  const logModule = await import('../../src/server/log.ts');
  const before = logModule.log;
  logModule.workerLogger({ postMessage: (m: unknown) => errors.push((m as { line: string }).line) }, 'info', 0);
  try {
    const r = await fetch(`http://127.0.0.1:${port}/boom`);
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(await r.json(), { error: { code: 'SABCACHE_ERR_INTERNAL', message: 'internal error' } });
    assert.equal((await fetch(`http://127.0.0.1:${port}/async-boom`)).status, 500);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/ok`)).text(), 'ok');
    assert.equal(errors.length, 2, 'each failure is logged');
    assert.ok(errors.every((l) => JSON.parse(l).level === pino.levels.values.error && /a (later )?bug/.test(JSON.parse(l).err.message)), errors.join(''));
  } finally {
    logModule.restoreLog(before);
    app.close();
  }
});
