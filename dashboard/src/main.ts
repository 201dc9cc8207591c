/**
 * The sabcache dashboard: live charts from the admin port's stream (one frame a second,
 * server-sent events), a key browser over the data API the admin port serves (SCAN paging,
 * never every key), a live watch of a prefix over its WebSocket, and the slow log. Every
 * request goes to this page's own origin.
 */
import uPlot from 'uplot';

interface Frame {
  t: number; items: number; memoryUsedBytes: number; memoryLimitBytes: number;
  hits: number; misses: number; sets: number; deletes: number; evictions: number; expired: number;
  threads: { thread: number; requests: number }[]; connections: { resp: number; ws: number };
  latency: Record<string, { p50Us: number; p99Us: number; count: number }>;
  status: string; waitingFor: string[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const POINTS = 120;

// ---- tabs
for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) {
  b.addEventListener('click', () => {
    for (const o of document.querySelectorAll<HTMLButtonElement>('nav button')) o.classList.toggle('active', o === b);
    for (const s of document.querySelectorAll<HTMLElement>('section.tab')) s.hidden = s.id !== b.dataset.tab;
    if (b.dataset.tab === 'slowlog') void loadSlowLog();
    if (b.dataset.tab === 'overview') resizeCharts();
  });
}

// ---- charts
interface Chart { plot: uPlot; data: number[][]; el: HTMLElement }
const charts: Record<string, Chart> = {};
const COLORS = ['#2b6cb0', '#c53030', '#2f855a', '#b7791f', '#6b46c1', '#dd6b20', '#319795', '#d53f8c'];

function makeChart(id: string, names: string[]): Chart {
  const el = $(id);
  const data: number[][] = [[], ...names.map(() => [])];
  const plot = new uPlot({
    width: Math.max(300, el.clientWidth || 440), height: 180,
    series: [{}, ...names.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5 }))],
    // The last two minutes, whatever the points so far.
    scales: { x: { time: true, range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [max - POINTS, max] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
  }, data as uPlot.AlignedData, el);
  return (charts[id] = { plot, data, el });
}

function resizeCharts(): void {
  for (const c of Object.values(charts)) c.plot.setSize({ width: Math.max(300, c.el.clientWidth), height: 180 });
}
window.addEventListener('resize', resizeCharts);

function push(id: string, t: number, values: number[]): void {
  const c = charts[id];
  c.data[0].push(t);
  values.forEach((v, i) => c.data[i + 1].push(v));
  for (const s of c.data) if (s.length > POINTS) s.splice(0, s.length - POINTS);
  c.plot.setData(c.data as uPlot.AlignedData);
}

makeChart('chart-ops', ['hits', 'misses', 'sets', 'deletes']);
makeChart('chart-hit', ['hit ratio']);
makeChart('chart-memory', ['used', 'limit']);
makeChart('chart-evictions', ['evictions', 'expirations']);
makeChart('chart-latency', ['read p50', 'read p99', 'write p50', 'write p99', 'batch p99']);
makeChart('chart-connections', ['RESP', 'WebSocket']);
let threadIds: number[] = [];

let previous: Frame | null = null;
const MiB = 1024 * 1024;

function draw(f: Frame): void {
  const t = f.t / 1000;
  const pill = $('status');
  pill.textContent = f.status;
  pill.className = `pill ${f.status}`;
  $('summary').textContent = `${f.items.toLocaleString()} keys · ${(f.memoryUsedBytes / MiB).toFixed(1)} of ${(f.memoryLimitBytes / MiB).toFixed(0)} MiB`;
  const waiting = $('waiting');
  waiting.hidden = f.waitingFor.length === 0;
  waiting.textContent = f.waitingFor.length ? `Not ready: ${f.waitingFor.join('; ')}` : '';
  push('chart-memory', t, [f.memoryUsedBytes / MiB, f.memoryLimitBytes / MiB]);
  push('chart-connections', t, [f.connections.resp, f.connections.ws]);
  const l = f.latency;
  push('chart-latency', t, [l.read?.p50Us ?? 0, l.read?.p99Us ?? 0, l.write?.p50Us ?? 0, l.write?.p99Us ?? 0, l.batch?.p99Us ?? 0]);
  if (previous !== null) {
    const dt = Math.max(0.001, (f.t - previous.t) / 1000);
    const rate = (k: keyof Frame): number => Math.max(0, ((f[k] as number) - (previous![k] as number)) / dt);
    push('chart-ops', t, [rate('hits'), rate('misses'), rate('sets'), rate('deletes')]);
    const lookups = rate('hits') + rate('misses');
    push('chart-hit', t, [lookups > 0 ? (100 * rate('hits')) / lookups : 0]);
    push('chart-evictions', t, [rate('evictions'), rate('expired')]);
    const ids = f.threads.map((x) => x.thread);
    if (ids.join() !== threadIds.join()) {
      // The thread set changed (a worker restarted): a new chart for the new series.
      charts['chart-threads']?.plot.destroy();
      $('chart-threads').replaceChildren();
      makeChart('chart-threads', ids.map((i) => `worker ${i}`));
      threadIds = ids;
    }
    const before = new Map(previous.threads.map((x) => [x.thread, x.requests]));
    push('chart-threads', t, f.threads.map((x) => Math.max(0, (x.requests - (before.get(x.thread) ?? x.requests)) / dt)));
  }
  previous = f;
}

function connectStream(): void {
  const source = new EventSource('/v1/admin/stream');
  source.onmessage = (e) => draw(JSON.parse(e.data) as Frame);
  source.onerror = () => {
    const pill = $('status');
    pill.textContent = 'offline';
    pill.className = 'pill offline';
  };
}
connectStream();

// For tests and debugging in the browser's console: the charts' data (read only).
(window as unknown as { sabcacheDashboard: object }).sabcacheDashboard = { charts: () => Object.fromEntries(Object.entries(charts).map(([id, c]) => [id, c.data])) };

// ---- key browser
let cursor = '0';
let selectedKey: string | null = null;
let selectedVersion: string | null = null;
let selectedBytes: Uint8Array = new Uint8Array();

function keysQuery(pattern: string, from: string): string {
  const glob = /[*?[\\]/.test(pattern);
  const q = new URLSearchParams({ cursor: from, count: '200' });
  if (glob) q.set('match', pattern);
  else if (pattern !== '') q.set('prefix', pattern);
  return `/v1/keys?${q}`;
}

async function searchKeys(fresh: boolean): Promise<void> {
  const pattern = $<HTMLInputElement>('pattern').value;
  if (fresh) {
    cursor = '0';
    $('key-list').replaceChildren();
  }
  // Pages of a glob may come back empty before the walk ends: walk on until some keys or the end.
  let found = 0;
  for (let pages = 0; pages < 20; pages++) {
    const r = await fetch(keysQuery(pattern, cursor));
    if (!r.ok) return showMessage(`search failed: ${(await r.json()).error?.message ?? r.status}`, true);
    const page = await r.json() as { keys: string[]; cursor: string };
    for (const k of page.keys) {
      const li = document.createElement('li');
      li.textContent = k;
      li.addEventListener('click', () => void openKey(k, li));
      $('key-list').append(li);
    }
    found += page.keys.length;
    cursor = page.cursor;
    if (cursor === '0' || found > 0) break;
  }
  $<HTMLButtonElement>('next-page').disabled = cursor === '0';
  $('page-info').textContent = `${$('key-list').childElementCount} keys shown${cursor === '0' ? ' (end)' : ''}`;
}

$('key-search').addEventListener('submit', (e) => { e.preventDefault(); void searchKeys(true); });
$('next-page').addEventListener('click', () => void searchKeys(false));

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function render(bytes: Uint8Array, items: Uint8Array[] | null, type: string): string {
  const view = (document.querySelector<HTMLInputElement>('input[name=view]:checked')?.value) ?? 'text';
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  const one = view === 'hex' ? hex : text;
  if (items !== null) {
    if (type === 'hash') {
      const pairs: string[] = [];
      for (let i = 0; i + 1 < items.length; i += 2) pairs.push(`${one(items[i])} → ${one(items[i + 1])}`);
      return view === 'json' ? JSON.stringify(Object.fromEntries(pairs.map((p, i) => [text(items[2 * i]), text(items[2 * i + 1])])), null, 2) : pairs.join('\n');
    }
    return view === 'json' ? JSON.stringify(items.map(text), null, 2) : items.map(one).join('\n');
  }
  if (view === 'json') {
    try {
      return JSON.stringify(JSON.parse(text(bytes)), null, 2);
    } catch {
      return '(not JSON)';
    }
  }
  return one(bytes);
}

let lastEntry: { bytes: Uint8Array; items: Uint8Array[] | null; type: string } = { bytes: new Uint8Array(), items: null, type: 'bytes' };
for (const r of document.querySelectorAll<HTMLInputElement>('input[name=view]')) r.addEventListener('change', () => { $('entry-value').textContent = render(lastEntry.bytes, lastEntry.items, lastEntry.type); });

function showMessage(text: string, error: boolean): void {
  const m = $('entry-message');
  m.textContent = text;
  m.className = error ? 'error' : 'ok';
}

async function openKey(key: string, li?: HTMLElement): Promise<void> {
  for (const o of document.querySelectorAll('#key-list li')) o.classList.toggle('selected', o === li);
  const r = await fetch(`/v1/admin/entry/${encodeURIComponent(key)}`);
  $('entry').hidden = false;
  $('entry-key').textContent = key;
  if (r.status === 404) {
    $('entry-meta').textContent = 'absent (deleted or expired)';
    $('entry-value').textContent = '';
    selectedKey = key;
    selectedVersion = null;
    return;
  }
  const e = await r.json() as { type: string; version: string; ttlSeconds: number; bytes: number; value?: string; items?: string[] };
  selectedKey = key;
  selectedVersion = e.version;
  selectedBytes = e.value !== undefined ? fromBase64(e.value) : new Uint8Array();
  lastEntry = { bytes: selectedBytes, items: e.items ? e.items.map(fromBase64) : null, type: e.type };
  $('entry-meta').textContent = `type ${e.type} · version ${e.version} · ${e.ttlSeconds < 0 ? 'no TTL' : `TTL ${e.ttlSeconds} s`} · ${e.bytes} bytes`;
  $('entry-value').textContent = render(lastEntry.bytes, lastEntry.items, e.type);
  const editable = e.items === undefined;
  $<HTMLTextAreaElement>('edit-value').value = editable ? new TextDecoder().decode(selectedBytes) : '';
  $<HTMLTextAreaElement>('edit-value').disabled = !editable;
  $<HTMLButtonElement>('save').disabled = !editable;
  showMessage('', false);
}

$('edit').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (selectedKey === null) return;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
  // The version read is the condition: a change made meanwhile by anyone else is not overwritten.
  if (selectedVersion !== null) headers['If-Match'] = `"${selectedVersion}"`;
  else headers['If-None-Match'] = '*';
  const r = await fetch(`/v1/kv/${encodeURIComponent(selectedKey)}`, { method: 'PUT', headers, body: $<HTMLTextAreaElement>('edit-value').value });
  if (r.status === 412) return showMessage('Not saved: another writer changed this key since it was read. Reload it to see the new value.', true);
  if (!r.ok) return showMessage(`Not saved: ${(await r.json()).error?.message ?? r.status}`, true);
  const key = selectedKey;
  await openKey(key, document.querySelector<HTMLElement>('#key-list li.selected') ?? undefined);
  showMessage('Saved.', false);
});

$('delete').addEventListener('click', async () => {
  if (selectedKey === null) return;
  const r = await fetch(`/v1/kv/${encodeURIComponent(selectedKey)}`, { method: 'DELETE' });
  showMessage(r.ok ? 'Deleted.' : `Not deleted: ${r.status}`, !r.ok);
  if (r.ok) {
    document.querySelector('#key-list li.selected')?.remove();
    $('entry-meta').textContent = 'deleted';
  }
});

$('set-ttl').addEventListener('click', async () => {
  if (selectedKey === null) return;
  const ttl = $<HTMLInputElement>('ttl').value;
  const path = ttl === '0' ? 'persist' : `expire?ttl=${encodeURIComponent(ttl)}`;
  const r = await fetch(`/v1/kv/${encodeURIComponent(selectedKey)}/${path}`, { method: 'POST' });
  if (!r.ok) return showMessage(`TTL not set: ${(await r.json()).error?.message ?? r.status}`, true);
  await openKey(selectedKey, document.querySelector<HTMLElement>('#key-list li.selected') ?? undefined);
  showMessage(ttl === '0' ? 'TTL removed.' : `TTL set to ${ttl} s.`, false);
});

// ---- watch
let socket: WebSocket | null = null;
$('watch-form').addEventListener('submit', (e) => {
  e.preventDefault();
  socket?.close();
  const prefix = $<HTMLInputElement>('watch-prefix').value;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`);
  socket = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ id: 1, op: 'watch', key: prefix, prefix: true }));
    $('watch-info').textContent = `watching ${prefix === '' ? 'every key' : `keys under ${JSON.stringify(prefix)}`}`;
    $<HTMLButtonElement>('watch-stop').disabled = false;
  };
  ws.onmessage = (m) => {
    const events = ([] as { status: string; kind?: string; key?: string }[]).concat(JSON.parse(String(m.data)));
    for (const ev of events) {
      if (ev.status !== 'event' && ev.status !== 'lagged') continue;
      const li = document.createElement('li');
      li.textContent = ev.status === 'lagged' ? `${new Date().toLocaleTimeString()} LAGGED: events were missed` : `${new Date().toLocaleTimeString()} ${ev.kind} ${ev.key}`;
      $('watch-events').prepend(li);
      while ($('watch-events').childElementCount > 500) $('watch-events').lastElementChild!.remove();
    }
  };
  ws.onclose = () => {
    $('watch-info').textContent = 'stopped';
    $<HTMLButtonElement>('watch-stop').disabled = true;
  };
});
$('watch-stop').addEventListener('click', () => socket?.close());

// ---- slow log
async function loadSlowLog(): Promise<void> {
  const r = await fetch('/v1/admin/slowlog?count=128');
  if (!r.ok) return;
  const { entries } = await r.json() as { entries: { id: number; atMs: number; durationUs: number; protocol: string; command: string[]; client: string }[] };
  $('slowlog-rows').replaceChildren(...entries.map((e) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[String(e.id)], [new Date(e.atMs).toLocaleTimeString()], [e.durationUs.toLocaleString()], [e.protocol], [e.command.join(' '), 'command'], [e.client]] as [string, string?][]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  }));
}
$('slowlog-refresh').addEventListener('click', () => void loadSlowLog());
