import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

test('lowerThisThreadPriority renices the calling thread only, not the process', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const mainTid = Number(readlinkSync('/proc/thread-self').split('/')[2]);
  const before = getPriority(process.pid);
  const code = `
    import { parentPort } from 'node:worker_threads';
    import { readlinkSync } from 'node:fs';
    const { lowerThisThreadPriority } = await import(${JSON.stringify(new URL('../../src/util/thread-priority.ts', import.meta.url).href)});
    const ok = lowerThisThreadPriority(17);
    parentPort.postMessage({ ok, tid: Number(readlinkSync('/proc/thread-self').split('/')[2]) });
    await new Promise((r) => parentPort.once('message', r));
  `;
  const w = new Worker(new URL('../../workers/ts-bootstrap.mjs', import.meta.url), { argv: [`data:text/javascript,${encodeURIComponent(code)}`] });
  const { ok, tid } = await new Promise<{ ok: boolean; tid: number }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  try {
    assert.equal(ok, true);
    assert.notEqual(tid, mainTid);
    // Field 19 of /proc/PID/task/TID/stat is the nice value.
    const nice = (t: number) => Number(readFileSync(`/proc/${process.pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    assert.equal(nice(tid), 17);
    assert.equal(nice(mainTid), before);
    assert.equal(getPriority(process.pid), before);
  } finally {
    w.postMessage('done');
    await w.terminate();
  }
});
