import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { isSaveRequest } from '../../src/server/save-messages.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

// SAVE, BGSAVE and LASTSAVE over RESP: a worker asks the main thread (save-messages.ts).
let dir: string;
let srv: RunningServer;
let plain: RunningServer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sabcache-save-'));
  srv = await startServer(['--threads', '2', '--memory', '32mb', '--data-dir', dir, '--snapshot-interval', '0']);
  plain = await startServer(['--threads', '1', '--memory', '16mb']);
});
after(async () => {
  await srv.stop();
  await plain.stop();
  rmSync(dir, { recursive: true, force: true });
});

const snapshots = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.sabsnap'));

test('SAVE writes a snapshot before it answers; LASTSAVE moves to its time on every thread', async () => {
  const clients = [new Redis({ port: srv.respPort }), new Redis({ port: srv.respPort }), new Redis({ port: srv.respPort })];
  try {
    const before = (await clients[0].lastsave()) as number;
    assert.ok(Math.abs(before - Date.now() / 1000) < 120, `LASTSAVE ${before} is about now (the start)`);
    await clients[0].set('saved', 'yes');
    const files = snapshots().length;
    // A pipeline: SAVE's reply comes between the commands around it, in order.
    const replies = await clients[0].pipeline().set('p', '1').save().get('p').exec();
    assert.deepEqual(replies!.map(([e, v]) => e?.message ?? v), ['OK', 'OK', '1']);
    assert.ok(snapshots().length >= 1 && files === 0, 'SAVE wrote the first snapshot file');
    await new Promise((r) => setTimeout(r, 100)); // the notice reaches every worker
    for (const c of clients) assert.ok(((await c.lastsave()) as number) >= before);
    const info = await clients[1].info('persistence');
    assert.match(info, /rdb_last_save_time:\d+/);
  } finally {
    for (const c of clients) c.disconnect();
  }
});

test('BGSAVE answers at once; a second while one runs is refused (or scheduled with SCHEDULE), as Redis does', async () => {
  const c = new Redis({ port: srv.respPort });
  try {
    const [[, first], [secondErr, second], [, scheduled]] = (await c.pipeline().bgsave().bgsave().call('BGSAVE', 'SCHEDULE').exec())!;
    assert.equal(first, 'Background saving started');
    // The second comes while the first runs, or after it finished (a small cache saves fast).
    assert.ok(secondErr?.message === 'ERR Background save already in progress' || second === 'Background saving started', String(secondErr ?? second));
    assert.match(String(scheduled), /^Background saving (started|scheduled)$/);
    await assert.rejects(c.call('BGSAVE', 'NOW'), /ERR syntax error/);
  } finally {
    c.disconnect();
  }
});

test('without --data-dir, SAVE and BGSAVE are errors that name the option; the connection goes on', async () => {
  const c = new Redis({ port: plain.respPort });
  try {
    await assert.rejects(c.save(), /ERR this server has no --data-dir.*SABCACHE_ERR_NO_DATA_DIR/);
    await assert.rejects(c.bgsave(), /ERR this server has no --data-dir/);
    assert.equal(await c.ping(), 'PONG');
  } finally {
    c.disconnect();
  }
});

test('isSaveRequest takes only well-formed requests (a worker message is checked before the main thread acts)', () => {
  assert.ok(isSaveRequest({ type: 'save', id: 1, mode: 'wait' }));
  assert.ok(!isSaveRequest({ type: 'save', id: 1, mode: 'later' }));
  assert.ok(!isSaveRequest({ type: 'save', id: 'x', mode: 'wait' }));
  assert.ok(!isSaveRequest(null));
});
