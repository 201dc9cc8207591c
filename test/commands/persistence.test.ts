import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandContext } from '../../src/commands/context.ts';
import { setWalSequence, setWalSink, walSequence, type WalSink } from '../../src/commands/persistence.ts';
import { del, set } from '../../src/commands/write.ts';
import { makeTable } from '../helpers/tables.ts';

test('a WAL sink gets each change with the next sequence number, from the sequence set', () => {
  const t = makeTable();
  const cx = new CommandContext(t);
  const log: string[] = [];
  const sink: WalSink = {
    logSet: (seq, key, n, value) => log.push(`${seq} set ${Buffer.from(key.subarray(0, n))}=${value}`),
    logDelete: (seq, key, n) => log.push(`${seq} del ${Buffer.from(key.subarray(0, n))}`),
    logExpire: (seq, key, n, at) => log.push(`${seq} expire ${Buffer.from(key.subarray(0, n))} ${at}`),
    logFlush: (seq) => log.push(`${seq} flush`),
  };
  setWalSequence(cx, 100);
  setWalSink(cx, sink);
  set(cx, 'k', 'v');
  del(cx, 'k');
  del(cx, 'k'); // nothing removed: nothing logged
  setWalSink(cx, null);
  set(cx, 'quiet', 'v');
  assert.deepEqual(log, ['101 set k=v', '102 del k']);
  assert.equal(walSequence(cx), 102);
  t.close();
});
