import { getSliceInto } from '../dist/src/commands/read.js';
import { EntryResult } from '../dist/src/commands/entry.js';
import { setSlice } from '../dist/src/commands/write.js';
import { SharedCache } from '../dist/src/index.js';

const seconds = Number(process.argv[2] ?? 1);
const cache = SharedCache.create({ memoryBytes: '256mb' });
const keys = [];
for (let i = 0; i < 10_000; i++) keys.push(Buffer.from(`key:${String(i).padStart(12, '0')}`));
const frame = Buffer.concat(keys);
const value = Buffer.alloc(100, 0x78);
const dest = Buffer.alloc(4096);
const r = new EntryResult();
const order = Int32Array.from({ length: 1 << 16 }, () => Math.floor(Math.random() * keys.length) * 16);
for (let i = 0; i < keys.length; i++) setSlice(cache.commands, frame, i * 16, 16, value, 0, r);

function rate(op) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) for (let i = 0; i < 4096; i++) op(order[n++ & 0xffff]);
  return n / ((performance.now() - start) / 1000);
}
const get = (at) => void getSliceInto(cache.commands, frame, at, 16, dest, 0, r);
const set = (at) => setSlice(cache.commands, frame, at, 16, value, 0, r);
rate(get); // warm-up
rate(set);
console.log(JSON.stringify({ get: Math.round(rate(get)), set: Math.round(rate(set)) }));
cache.close();
