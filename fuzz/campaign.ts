/**
 * The fuzzing campaign (issue 28): hostile inputs per protocol (fuzz/inputs.ts) sent to a
 * running server over many connections, in batches; after every batch the canary keys are
 * read back over HTTP and RESP, the admin port must answer, and the server's RSS must stay
 * under a bound. Then slowloris (requests sent a byte at a time) and a flood of idle
 * connections, each while a well-behaved client keeps being served. Seeded: the same seed
 * sends the same inputs.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { httpInput, respInput, wsBinaryInput, wsTextInput } from './inputs.ts';

/** Where the server under test listens, and its process id (for RSS). */
export interface Target {
  host: string;
  port: number;
  adminPort: number;
  respPort: number;
  pid: number;
  /** The server's output so far (worker crashes show there). */
  output: () => string;
}

/** What a campaign found. */
export interface CampaignReport {
  seed: number;
  inputs: Record<'http' | 'ws-binary' | 'ws-text' | 'resp', number>;
  batches: number;
  /** Canary keys missing or changed after some batch (must be 0). */
  lostOrChanged: number;
  /** Health checks that failed or timed out after some batch (must be 0). */
  hangs: number;
  /** Worker crashes in the server's output (must be 0). */
  crashes: number;
  /** Requests that failed inside the server (a bug, logged: 500 or `-ERR internal error`; must be 0). */
  internalErrors: number;
  /** Largest RSS seen, bytes, and the bound. */
  peakRssBytes: number;
  rssBoundBytes: number;
  /** Slowloris and idle-flood rounds: requests of the well-behaved client, and how many were answered. */
  slowloris: { connections: number; served: number; asked: number };
  idleFlood: { connections: number; served: number; asked: number };
  seconds: number;
}

const CANARIES = 50;
const canaryKey = (i: number): string => `canary/${i}/8b1f`;
const canaryValue = (i: number): string => `value ${i} ${'c'.repeat(i * 7)}`;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function fetchWithin(url: string, ms: number, init?: RequestInit): Promise<Response | null> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  } catch {
    return null;
  }
}

/** Reads every canary over HTTP and RESP; returns how many are missing or changed. */
async function checkCanaries(t: Target): Promise<number> {
  let bad = 0;
  for (let i = 0; i < CANARIES; i++) {
    const res = await fetchWithin(`http://${t.host}:${t.port}/v1/kv/${encodeURIComponent(canaryKey(i))}`, 5000);
    if (!res || res.status !== 200 || (await res.text()) !== canaryValue(i)) bad++;
  }
  const keys = Array.from({ length: CANARIES }, (_, i) => canaryKey(i));
  const cmd = `*${keys.length + 1}\r\n$4\r\nMGET\r\n${keys.map((k) => `$${k.length}\r\n${k}\r\n`).join('')}`;
  const expected = `*${CANARIES}\r\n${keys.map((_, i) => `$${Buffer.byteLength(canaryValue(i))}\r\n${canaryValue(i)}\r\n`).join('')}`;
  const got = await exchange(t.host, t.respPort, Buffer.from(cmd), 5000, expected.length);
  if (got !== expected) bad++;
  return bad;
}

/** Sends `bytes` on a fresh connection; resolves with what came back once `want` bytes did, or the peer closed, or `ms` passed. */
function exchange(host: string, port: number, bytes: Buffer, ms: number, want = Infinity): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    let text = '';
    const done = (): void => { clearTimeout(timer); s.destroy(); resolve(text); };
    const timer = setTimeout(done, ms);
    s.on('data', (d) => { text += d.toString('latin1'); if (text.length >= want) done(); });
    s.on('close', done);
    s.on('error', () => {});
    s.write(bytes);
  });
}

/** A pool of raw connections to one port: each input goes to the next; a closed one is replaced. */
class RawPool {
  private readonly sockets: Socket[] = [];
  private next = 0;
  constructor(private readonly host: string, private readonly port: number, size: number) {
    for (let i = 0; i < size; i++) this.sockets.push(this.open());
  }
  private open(): Socket {
    const s = connect(this.port, this.host);
    s.on('error', () => {});
    s.on('data', () => {}); // read and drop the answers (a client that reads)
    return s;
  }
  send(bytes: Buffer): void {
    const i = this.next++ % this.sockets.length;
    if (this.sockets[i].destroyed || !this.sockets[i].writable) this.sockets[i] = this.open();
    this.sockets[i].write(bytes);
  }
  close(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** A pool of WebSocket clients: each message goes to the next; a closed one is replaced. */
class WsPool {
  private readonly clients: WebSocket[] = [];
  private next = 0;
  constructor(private readonly url: string, size: number) {
    for (let i = 0; i < size; i++) this.clients.push(this.open());
  }
  private open(): WebSocket {
    const ws = new WebSocket(this.url);
    ws.on('error', () => {});
    return ws;
  }
  async ready(): Promise<void> {
    await Promise.all(this.clients.map((ws) => ws.readyState === WebSocket.OPEN ? undefined : new Promise<void>((r) => { ws.once('open', () => r()); ws.once('close', () => r()); })));
  }
  send(data: Buffer | string): void {
    const i = this.next++ % this.clients.length;
    const ws = this.clients[i];
    if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) {
      this.clients[i] = this.open();
      return; // this input is dropped: the new client is not open yet
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: typeof data !== 'string' });
  }
  close(): void {
    for (const ws of this.clients) ws.terminate();
  }
}

/** A well-behaved client's GETs of canary 0 while `during` runs: how many of `asked` were answered right. */
async function servedWhile(t: Target, during: Promise<void>): Promise<{ served: number; asked: number }> {
  let served = 0;
  let asked = 0;
  let running = true;
  void during.finally(() => (running = false));
  while (running) {
    asked++;
    const res = await fetchWithin(`http://${t.host}:${t.port}/v1/kv/${encodeURIComponent(canaryKey(0))}`, 2000);
    if (res && res.status === 200 && (await res.text()) === canaryValue(0)) served++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { served, asked };
}

/** Slowloris: `connections` requests, each sent one byte every 20 ms. */
async function slowloris(t: Target, connections: number): Promise<void> {
  const request = Buffer.from(`GET /v1/kv/${encodeURIComponent(canaryKey(1))} HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(40)}\r\n\r\n`);
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve) => {
    const s = connect(t.port, t.host);
    s.on('error', () => {});
    let i = 0;
    const tick = setInterval(() => {
      if (s.destroyed || i >= request.length) { clearInterval(tick); s.destroy(); resolve(); return; }
      s.write(request.subarray(i, i + 1));
      i++;
    }, 20);
  })));
}

/** Opens `connections` idle TCP connections to the data port, holds them `ms`, then closes them. */
async function idleFlood(t: Target, connections: number, ms: number): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < connections; i++) {
    const s = connect(t.port, t.host);
    s.on('error', () => {});
    sockets.push(s);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, ms));
  for (const s of sockets) s.destroy();
}

/**
 * Runs the campaign against `t`: `perProtocol` inputs for each of HTTP, WebSocket binary,
 * WebSocket text and RESP, in batches of `batch`, from `seed`.
 */
export async function runCampaign(t: Target, options: { seed: number; perProtocol: number; batch?: number; rssBoundBytes: number; slowlorisConnections?: number; idleConnections?: number; log?: (line: string) => void }): Promise<CampaignReport> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const batch = options.batch ?? 1000;
  for (let i = 0; i < CANARIES; i++) {
    const res = await fetch(`http://${t.host}:${t.port}/v1/kv/${encodeURIComponent(canaryKey(i))}`, { method: 'PUT', body: canaryValue(i) });
    if (res.status !== 204 && res.status !== 201 && res.status !== 200) throw new Error(`could not store canary ${i}: ${res.status}`);
  }
  const report: CampaignReport = {
    seed: options.seed, inputs: { http: 0, 'ws-binary': 0, 'ws-text': 0, resp: 0 }, batches: 0, lostOrChanged: 0, hangs: 0, crashes: 0, internalErrors: 0,
    peakRssBytes: 0, rssBoundBytes: options.rssBoundBytes, slowloris: { connections: 0, served: 0, asked: 0 }, idleFlood: { connections: 0, served: 0, asked: 0 }, seconds: 0,
  };
  const kinds = ['http', 'ws-binary', 'ws-text', 'resp'] as const;
  for (const [k, kind] of kinds.entries()) {
    const arb = kind === 'http' ? httpInput : kind === 'ws-binary' ? wsBinaryInput : kind === 'ws-text' ? wsTextInput : respInput;
    for (let sent = 0, b = 0; sent < options.perProtocol; b++) {
      const n = Math.min(batch, options.perProtocol - sent);
      // One seed per protocol and batch: a failing batch can be replayed alone.
      const inputs = fc.sample(arb as fc.Arbitrary<Buffer | string>, { seed: options.seed + k * 1_000_003 + b, numRuns: n });
      if (kind === 'ws-binary' || kind === 'ws-text') {
        const pool = new WsPool(`ws://${t.host}:${t.port}/v1/ws`, 16);
        await pool.ready();
        for (const input of inputs) pool.send(input);
        await new Promise((r) => setTimeout(r, 100));
        pool.close();
      } else {
        const pool = new RawPool(t.host, kind === 'http' ? t.port : t.respPort, 32);
        for (const input of inputs) pool.send(input as Buffer);
        await new Promise((r) => setTimeout(r, 100));
        pool.close();
      }
      sent += n;
      report.inputs[kind] += n;
      report.batches++;
      // After every batch: the data intact, the server answering, its memory bounded.
      const health = await fetchWithin(`http://${t.host}:${t.adminPort}/healthz`, 5000);
      if (!health || health.status !== 200) report.hangs++;
      report.lostOrChanged += await checkCanaries(t);
      report.peakRssBytes = Math.max(report.peakRssBytes, rssBytes(t.pid));
      if (b % 10 === 0) log(`${kind}: ${sent} sent; lost or changed ${report.lostOrChanged}, hangs ${report.hangs}, RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  const loris = options.slowlorisConnections ?? 200;
  report.slowloris = { connections: loris, ...(await servedWhile(t, slowloris(t, loris))) };
  log(`slowloris: ${report.slowloris.served}/${report.slowloris.asked} served`);
  const idle = options.idleConnections ?? 5000;
  report.idleFlood = { connections: idle, ...(await servedWhile(t, idleFlood(t, idle, 2000))) };
  log(`idle flood: ${report.idleFlood.served}/${report.idleFlood.asked} served`);
  report.lostOrChanged += await checkCanaries(t);
  report.peakRssBytes = Math.max(report.peakRssBytes, rssBytes(t.pid));
  report.crashes = (t.output().match(/crashed/g) ?? []).length;
  report.internalErrors = (t.output().match(/request handler failed|RESP command failed|WebSocket request failed/g) ?? []).length;
  report.seconds = Math.round((performance.now() - started) / 1000);
  return report;
}
