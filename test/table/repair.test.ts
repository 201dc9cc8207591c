import assert from 'node:assert/strict';
import { bucketNow } from '../helpers/tables.ts';
import { test } from 'node:test';
import { SharedCache } from '../../src/index.ts';
import { lockBucket } from '../../src/table/bucket-lock.ts';
import { B_SEQ, B_REFS, REF_STRIDE, B_TAGS, bucketWord, E_KEYLEN_FLAGS, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, KEYLEN_MASK, refByte, S_STATE, SEG_SEALED, SEG_STATE_MASK, segmentRowWord, seqOwner, T_ACTIVE_SEGMENT, T_HELD_BUCKET } from '../../src/table/layout.ts';
import { repairDeadThread } from '../../src/table/repair.ts';
import { SharedView } from '../../src/table/shared-view.ts';
import { Table } from '../../src/table/table.ts';
import { checkIndex } from '../helpers/index-check.ts';
import { checkValue, makeValue } from '../helpers/self-check.ts';
import { keysInOneBucket, makeTable } from '../helpers/tables.ts';
import { firstMessage, startFixture } from '../helpers/workers.ts';
import { s3fifo } from '../../src/memory/eviction.ts';

test('a thread that died holding a bucket lock mid-change is repaired: seq even, bad ways cleared, good ways kept', () => {
  const live = makeTable();
  const [k1, k2] = keysInOneBucket(live, 2);
  live.set(k1, 'kept');
  const dead = new Table(live.v, 12345, s3fifo); // a second thread block, standing in for the dead thread
  dead.set('other', 'x'); // gives it an active segment
  live.codec.encode(k1);
  const b = bucketNow(live.v, live.codec.hash[0]);
  const bw = bucketWord(live.v.g, b);
  const i32 = live.v.i32;
  const before = lockBucket(i32, bw, b, dead.owner, dead.threadWord);
  // It "dies" after writing a tag and a ref that points at another key's entry.
  i32[bw + B_TAGS + 3] = 0x1234;
  i32[bw + B_REFS + 3 * REF_STRIDE] = i32[bw + B_REFS + 0 * REF_STRIDE];
  assert.equal(i32[bw + B_SEQ] & 1, 1);
  assert.equal(seqOwner(i32[bw + B_SEQ]), dead.owner, 'the locked seq word names its owner');
  const active = i32[dead.threadWord + T_ACTIVE_SEGMENT] - 1;
  const report = repairDeadThread(live.v, dead.thread);
  assert.equal(report.repairedBucket, b);
  assert.equal(report.clearedWays, 1);
  assert.equal(report.resealedSegments, 1);
  assert.equal(i32[bw + B_SEQ] & 1, 0);
  assert.equal(seqOwner(i32[bw + B_SEQ]), 0);
  assert.notEqual(i32[bw + B_SEQ], before, 'a reader that read the version before the lock fails its check');
  assert.equal(Atomics.load(i32, segmentRowWord(live.v.g, active) + S_STATE) & SEG_STATE_MASK, SEG_SEALED);
  assert.equal(live.getString(k1), 'kept');
  live.set(k2, 'writable');
  assert.equal(live.getString(k2), 'writable');
  assert.deepEqual(checkIndex(live.v).foreignWays, 0);
});

test('repair makes the unlinked flags of the bucket a dead thread held true again, for the snapshot walk', () => {
  const live = makeTable();
  const [k1, k2, k3] = keysInOneBucket(live, 3);
  const dead = new Table(live.v, 12345, s3fifo); // a second thread block, standing in for the dead thread
  dead.set(k1, 'one');
  dead.set(k2, 'two');
  live.set(k3, 'three');
  live.codec.encode(k1);
  const b = bucketNow(live.v, live.codec.hash[0]);
  const bw = bucketWord(live.v.g, b);
  const i32 = live.v.i32;
  const keyOfWay = (w: number) => {
    const e = refByte(live.v.g, i32[bw + B_REFS + w * REF_STRIDE]);
    return new TextDecoder().decode(live.v.u8.subarray(e + ENTRY_HEADER_BYTES, e + ENTRY_HEADER_BYTES + (i32[e >>> 2] & KEYLEN_MASK)));
  };
  const way = (k: string) => [...Array(14).keys()].find((w) => i32[bw + B_REFS + w * REF_STRIDE] !== 0 && keyOfWay(w) === k)!;
  const entryWord = (ref: number) => (refByte(live.v.g, ref) >>> 2) + E_KEYLEN_FLAGS;
  const ref1 = i32[bw + B_REFS + way(k1) * REF_STRIDE];
  const ref2 = i32[bw + B_REFS + way(k2) * REF_STRIDE];
  const ref3 = i32[bw + B_REFS + way(k3) * REF_STRIDE];
  lockBucket(i32, bw, b, dead.owner, dead.threadWord);
  // It "dies" having flagged k1's entry but not cleared its way (unlinkWayLocked flags
  // first), and with k2's entry below its segment's write offset and no way pointing at it
  // (installLocked moves the offset before it links).
  i32[entryWord(ref1)] |= ENTRY_UNLINKED;
  const w2 = way(k2);
  i32[bw + B_REFS + w2 * REF_STRIDE] = 0;
  i32[bw + B_TAGS + w2] = 0;
  repairDeadThread(live.v, dead.thread);
  assert.equal(i32[entryWord(ref1)] & ENTRY_UNLINKED, 0, 'the linked entry is not flagged');
  assert.equal(i32[entryWord(ref2)] & ENTRY_UNLINKED, ENTRY_UNLINKED, 'the entry no way points at is flagged');
  assert.equal(i32[entryWord(ref3)] & ENTRY_UNLINKED, 0, "another thread's linked entry is left alone");
  assert.equal(live.getString(k1), 'one');
  assert.equal(live.getString(k2), undefined);
});

test('repair leaves a bucket alone when its lock belongs to a live thread', () => {
  const live = makeTable();
  const other = new Table(live.v, 1, s3fifo);
  const dead = new Table(live.v, 2, s3fifo);
  const bw = bucketWord(live.v.g, 5);
  const i32 = live.v.i32;
  i32[dead.threadWord + T_HELD_BUCKET] = 5 + 1; // dead thread had announced bucket 5 ...
  lockBucket(i32, bw, 5, other.owner, other.threadWord); // ... but the other thread holds it
  repairDeadThread(live.v, dead.thread);
  assert.equal(seqOwner(i32[bw + B_SEQ]), other.owner);
  assert.equal(i32[bw + B_SEQ] & 1, 1);
});

test('terminate() a thread while it writes in a tight loop: every bucket even, no foreign way, cache still works', async (t) => {
  const cache = SharedCache.create({ memoryBytes: '2mb', maxKeyBytes: 64, maxValueBytes: 1024 });
  let repairedLocks = 0;
  for (let round = 0; round < 8; round++) {
    const w = startFixture('crash-writer', { handle: cache.handle });
    await firstMessage(w);
    const id = w.threadId; // -1 once the thread has stopped
    await new Promise((r) => setTimeout(r, 20 + round * 15));
    await w.terminate();
    const report = cache.repairThread(id);
    assert.ok(report, 'the dead thread still had its block');
    if (report.repairedBucket >= 0) repairedLocks++;
    const idx = checkIndex(new SharedView(cache.handle.buffer));
    assert.deepEqual({ odd: idx.oddBuckets, locked: idx.lockedBuckets, foreign: idx.foreignWays }, { odd: 0, locked: 0, foreign: 0 }, `round ${round}`);
  }
  t.diagnostic(`rounds where the thread died holding a bucket lock: ${repairedLocks} of 8`);
  for (let i = 0; i < 5000; i++) {
    const v = cache.get(`key:${i}`);
    if (v !== undefined) assert.equal(checkValue(`key:${i}`, v), '');
  }
  cache.set('after', makeValue('after', 1, 1));
  assert.equal(checkValue('after', cache.get('after')!), '');
  // and a new thread can still attach and write
  const w = startFixture('crash-writer', { handle: cache.handle });
  await firstMessage(w);
  const id = w.threadId;
  await w.terminate();
  assert.ok(cache.repairThread(id));
  cache.close();
});
