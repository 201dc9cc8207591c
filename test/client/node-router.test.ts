import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpClient } from '../../src/client/http-client.ts';
import { KetamaRing } from '../../src/client/ketama.ts';
import { missing, type Proxy, startHaproxy } from '../helpers/proxies.ts';
import { type RunningServer, startServer } from '../helpers/server-process.ts';

describe('HttpClient over 3 nodes', () => {
  const nodes: RunningServer[] = [];
  before(async () => { for (let i = 0; i < 3; i++) nodes.push(await startServer(['--threads', '1', '--memory', '16mb'])); });
  after(async () => { for (const n of nodes) await n.stop(); });

  test('each key goes to its ketama node (the node twemproxy would pick by the same names); batches and scan span the nodes', async () => {
    const client = new HttpClient({ nodes: nodes.map((n, i) => ({ name: `node${i + 1}`, url: n.base })) });
    const keys = Array.from({ length: 300 }, (_, i) => `r:${i}`);
    for (const k of keys) await client.set(k, `v-${k}`);
    const ring = new KetamaRing([{ name: 'node1' }, { name: 'node2' }, { name: 'node3' }]);
    for (const k of keys.slice(0, 60)) {
      const holder = ring.nodeOf(k);
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${nodes[i].base}/v1/kv/${encodeURIComponent(k)}`)).status, i === holder ? 200 : 404, `${k} only on node${holder + 1}`);
    }
    assert.deepEqual(await client.getMany(['r:1', 'nope', 'r:2']), ['v-r:1', undefined, 'v-r:2']);
    await client.setMany([{ key: 'm:1', value: 'a' }, { key: 'm:2', value: 'b' }, { key: 'm:3', value: 'c' }]);
    assert.equal(await client.get('m:3'), 'c');
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const page = await client.scan({ cursor, count: 100 });
      for (const k of page.keys) seen.add(k);
      cursor = page.cursor;
    } while (cursor !== '0');
    assert.equal(seen.size, 303, 'every key of every node once');
  });

  test('a dead node: its circuit opens after failureLimit failures, its keys go to the others; it closes again after a probe once the node is back', async () => {
    const extra = await startServer(['--threads', '1', '--memory', '16mb']);
    const client = new HttpClient({ nodes: [{ name: 'a', url: nodes[0].base }, { name: 'b', url: extra.base }], timeoutMs: 1000, routing: { failureLimit: 2, retryTimeoutMs: 300, retries: 2, backoffMs: 10 } });
    const ring = new KetamaRing([{ name: 'a' }, { name: 'b' }]);
    const onB = Array.from({ length: 200 }, (_, i) => `dead:${i}`).filter((k) => ring.nodeOf(k) === 1).slice(0, 20);
    await extra.stop();
    // The first request fails twice (retried), which opens b's circuit; the third try goes to a.
    assert.equal(await client.set(onB[0], 'x'), await client.getEntry(onB[0]).then((e) => e?.version));
    assert.equal(client.router!.nodes[1].breaker.state, 'open');
    for (const k of onB) await client.set(k, 'moved');
    assert.equal(await (await fetch(`${nodes[0].base}/v1/kv/${onB[5]}`)).text(), 'moved', 'b\'s keys went to a');
    // Half-open after the timeout; the probe fails while b is down and opens it again.
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(client.router!.nodes[1].breaker.state, 'half-open');
    await client.get(onB[1]);
    assert.equal(client.router!.nodes[1].breaker.state, 'open');
  });
});

const noHaproxy = missing('haproxy', 'haproxy');

describe('behind HAProxy (balance uri depth 3, hash-type consistent, /readyz checks), 3 nodes', { skip: noHaproxy }, () => {
  const nodes: RunningServer[] = [];
  let proxy: Proxy;
  before(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await startServer(['--threads', '1', '--memory', '16mb']));
    proxy = await startHaproxy(nodes.map((n, i) => ({ name: `node${i + 1}`, port: n.port, adminPort: n.adminPort })));
    // Until the health checks pass (rise 2, every 500 ms).
    await new Promise((r) => setTimeout(r, 1500));
  });
  after(async () => {
    await proxy?.stop();
    for (const n of nodes) await n.stop();
  });

  test('keys spread evenly (33% ± 10%); /v1/kv/{key} and /v1/kv/{key}/incr land on the same node', async () => {
    const base = `http://127.0.0.1:${proxy.port}`;
    const N = 900;
    for (let i = 0; i < N; i++) assert.equal((await fetch(`${base}/v1/kv/h:${i}`, { method: 'PUT', body: '1' })).status, 204);
    const counts: number[] = [];
    for (const n of nodes) counts.push((await (await fetch(`${n.admin}/v1/stats`)).json() as { items: number }).items);
    assert.equal(counts.reduce((a, b) => a + b, 0), N);
    for (const c of counts) assert.ok(Math.abs(c / N - 1 / 3) <= 0.1, `spread ${counts.join(', ')}`);
    for (let i = 0; i < 50; i++) assert.equal(await (await fetch(`${base}/v1/kv/h:${i}/incr`, { method: 'POST' })).text(), '2', `h:${i} incremented where it was stored`);
  });
});

test('through HAProxy with tokens configured on the nodes: the Authorization header passes through; without it, 401', { skip: noHaproxy }, async () => {
  const jwt = (await import('jsonwebtoken')).default;
  const secret = 's'.repeat(40);
  const env = { SABCACHE_TOKEN_SECRET: secret };
  const nodes = [await startServer(['--threads', '1', '--memory', '16mb'], env), await startServer(['--threads', '1', '--memory', '16mb'], env)];
  // /readyz answers without a credential: the health checks need none.
  const proxy = await startHaproxy(nodes.map((n, i) => ({ name: `node${i + 1}`, port: n.port, adminPort: n.adminPort })));
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const base = `http://127.0.0.1:${proxy.port}`;
    const token = jwt.sign({ sub: 'app', role: 'write' }, secret, { algorithm: 'HS256', expiresIn: 60 });
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${base}/v1/kv/t:${i}`, { method: 'PUT', body: 'v', headers: { Authorization: `Bearer ${token}` } })).status, 204);
    assert.equal(await (await fetch(`${base}/v1/kv/t:3`, { headers: { Authorization: `Bearer ${token}` } })).text(), 'v');
    assert.equal((await fetch(`${base}/v1/kv/t:3`)).status, 401);
  } finally {
    await proxy.stop();
    for (const n of nodes) await n.stop();
  }
});

test('WsClient over 2 nodes: each key on its ketama node; a key\'s watch on its node, a prefix\'s on both', async () => {
  const { WsClient } = await import('../../src/client/ws-client.ts');
  const { default: WebSocket } = await import('ws');
  const nodes = [await startServer(['--threads', '1', '--memory', '16mb']), await startServer(['--threads', '1', '--memory', '16mb'])];
  const client = await WsClient.connect({ nodes: nodes.map((n, i) => ({ name: `w${i + 1}`, url: `ws://127.0.0.1:${n.port}/v1/ws` })), WebSocket: WebSocket as never });
  try {
    const ring = new KetamaRing([{ name: 'w1' }, { name: 'w2' }]);
    const keys = Array.from({ length: 40 }, (_, i) => `ws:${i}`);
    for (const k of keys) await client.set(k, `v-${k}`);
    for (const k of keys.slice(0, 10)) {
      assert.equal(await client.get(k), `v-${k}`);
      assert.equal(await (await fetch(`${nodes[ring.nodeOf(k)].base}/v1/kv/${k}`)).text(), `v-${k}`, `${k} on its node`);
    }
    const seen: string[] = [];
    const stop = await client.watch('ws:', (e) => { if (e.kind !== 'lagged') seen.push(e.key); }, { prefix: true });
    const onEach = [keys.find((k) => ring.nodeOf(k) === 0)!, keys.find((k) => ring.nodeOf(k) === 1)!];
    for (const k of onEach) await client.set(k, 'changed');
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([...seen].sort(), [...onEach].sort(), 'a change on either node reaches the prefix watch');
    await stop();
    let cursor = '0';
    const all = new Set<string>();
    do {
      const page = await client.scan({ cursor, prefix: 'ws:' });
      for (const k of page.keys) all.add(k);
      cursor = page.cursor;
    } while (cursor !== '0');
    assert.equal(all.size, 40);
  } finally {
    client.close();
    for (const n of nodes) await n.stop();
  }
});
