/**
 * The dashboard on the admin port: the page at `/` and its two files (built from
 * `dashboard/src` by `npm run build:dashboard` into `dashboard/dist`, which is committed),
 * a live feed of figures once a second (`GET /v1/admin/stream`, server-sent events), and one
 * entry as the key browser shows it (`GET /v1/admin/entry/{key}`). The page reads and changes
 * keys through the data API the admin port also serves (engine.ts) and watches a prefix
 * over its WebSocket, all on its own origin.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspectEntry } from '../commands/inspect.ts';
import type { CommandContext } from '../commands/context.ts';
import type { CacheStats } from '../shared-cache.ts';
import { BadKeyError, KeyTooLargeError } from '../errors.ts';
import { httpError, httpErrorFrom } from './http-errors.ts';
import { decodeKey } from './kv-routes.ts';
import { COUNT_WORD, HISTOGRAM_WORDS, mergeInto, quantile } from './latency-histogram.ts';
import { mergedHistogram } from './latency-stats.ts';
import { CLASSES, PROTOCOLS } from './metrics-words.ts';
import type { App, HttpResponse } from './uws-types.ts';

/** The dashboard's built files, found beside the sources or beside the compiled code. */
function distDir(): string | null {
  for (const rel of ['../../dashboard/dist/', '../../../dashboard/dist/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

/** One second's figures, as the stream sends them (counts since start: the page takes differences). */
export interface LiveFrame extends Pick<CacheStats, 'items' | 'memoryUsedBytes' | 'memoryLimitBytes' | 'hits' | 'misses' | 'sets' | 'deletes' | 'evictions' | 'expired'> {
  /** Unix milliseconds. */
  t: number;
  /** Operations by server worker (its index), every protocol. */
  threads: { thread: number; requests: number }[];
  /** RESP and WebSocket connections open. */
  connections: { resp: number; ws: number };
  /** Latency quantiles of the operations of the last second, by class (every protocol), µs. */
  latency: Record<string, { p50Us: number; p99Us: number; count: number }>;
  /** `/readyz`'s status and what is not ready yet. */
  status: string;
  waitingFor: string[];
}

/** What the dashboard reads of the server. */
export interface DashboardSources {
  /** The figures of a frame but the latency (the engine's stats and health). */
  figures(): Omit<LiveFrame, 't' | 'latency'>;
  /** Every worker's latency histograms (metrics-words.ts). */
  metricsBuffer: SharedArrayBuffer;
  /** The main thread's command context, for the key view. */
  commands: CommandContext;
}

/**
 * Latency of the last interval: each class's histograms, every slot and protocol merged,
 * minus the merge of the interval before.
 */
class LatencyWindow {
  private previous = CLASSES.map(() => new Float64Array(HISTOGRAM_WORDS));

  constructor(private readonly buffer: SharedArrayBuffer) {}

  next(): LiveFrame['latency'] {
    const out: LiveFrame['latency'] = {};
    CLASSES.forEach((name, c) => {
      const now = new Float64Array(HISTOGRAM_WORDS);
      for (let p = 0; p < PROTOCOLS.length; p++) mergeInto(now, 0, mergedHistogram(this.buffer, p, c), 0);
      const diff = new Float64Array(HISTOGRAM_WORDS);
      for (let i = 0; i < HISTOGRAM_WORDS; i++) diff[i] = Math.max(0, now[i] - this.previous[c][i]);
      this.previous[c] = now;
      out[name] = { p50Us: quantile(diff, 0, 0.5) / 1000, p99Us: quantile(diff, 0, 0.99) / 1000, count: diff[COUNT_WORD] };
    });
    return out;
  }
}

/** A stream's client: its response, and whether its last write was held back. */
interface Subscriber {
  res: HttpResponse;
  backedUp: boolean;
}

/** Registers the dashboard's routes on the admin `app`; returns a function that ends every stream. */
export function registerDashboard(app: App, sources: DashboardSources): () => void {
  const dir = distDir();
  const files: Record<string, { type: string; body: Buffer } | undefined> = dir === null ? {} : {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(`${dir}index.html`) },
    '/dashboard/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(`${dir}app.js`) },
    '/dashboard/app.css': { type: 'text/css; charset=utf-8', body: readFileSync(`${dir}app.css`) },
  };
  for (const path of ['/', '/dashboard/app.js', '/dashboard/app.css']) {
    app.get(path, (res) => {
      const f = files[path];
      if (f === undefined) {
        const e = httpError('SABCACHE_ERR_NOT_FOUND', 'the dashboard is not built: npm run build:dashboard');
        res.cork(() => res.writeStatus(e.status).writeHeader('Content-Type', 'application/json').end(e.body));
        return;
      }
      res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', f.type).writeHeader('Cache-Control', 'no-cache')
        // The page loads only its own files and talks only to its own origin.
        .writeHeader('Content-Security-Policy', "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        .writeHeader('X-Content-Type-Options', 'nosniff')
        .end(f.body));
    });
  }

  const subscribers = new Set<Subscriber>();
  const window = new LatencyWindow(sources.metricsBuffer);
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const frame = (): string => `data: ${JSON.stringify({ t: Date.now(), ...sources.figures(), latency: window.next() })}\n\n`;
  const send = (s: Subscriber, text: string): void => {
    // A page that does not read its stream is dropped rather than buffered without end.
    if (s.backedUp && s.res.getWriteOffset() > 0) {
      subscribers.delete(s);
      s.res.close();
      return;
    }
    s.res.cork(() => { s.backedUp = !s.res.write(text); });
  };
  app.get('/v1/admin/stream', (res) => {
    const s: Subscriber = { res, backedUp: false };
    res.onAborted(() => {
      subscribers.delete(s);
      if (subscribers.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    });
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', 'text/event-stream').writeHeader('Cache-Control', 'no-store');
      // The latest frame at once (the page draws without waiting a second), then one a second.
      res.write(last !== '' ? last : (last = frame()));
    });
    subscribers.add(s);
    timer ??= setInterval(() => {
      last = frame();
      for (const sub of subscribers) send(sub, last);
    }, 1000);
  });

  app.get('/v1/admin/entry/:key', (res, req) => {
    const raw = req.getParameter(0) ?? '';
    let key: string;
    try {
      key = decodeKey(raw);
      if (Buffer.byteLength(key) > sources.commands.maxKeyBytes) throw new KeyTooLargeError(sources.commands.maxKeyBytes);
    } catch (e) {
      const err = httpErrorFrom(e instanceof BadKeyError || e instanceof KeyTooLargeError ? e : new BadKeyError('bad key'));
      res.cork(() => res.writeStatus(err.status).writeHeader('Content-Type', 'application/json').end(err.body));
      return;
    }
    const view = inspectEntry(sources.commands, key);
    if (view === undefined) {
      const e = httpError('SABCACHE_ERR_NOT_FOUND', 'no such key');
      res.cork(() => res.writeStatus(e.status).writeHeader('Content-Type', 'application/json').end(e.body));
      return;
    }
    const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    const body = JSON.stringify({
      key, type: view.type, version: view.version, ttlSeconds: view.ttlSeconds, bytes: view.bytes,
      ...(view.value !== undefined ? { value: b64(view.value) } : {}),
      ...(view.items !== undefined ? { items: view.items.map(b64) } : {}),
    });
    res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').writeHeader('Cache-Control', 'no-store').end(body));
  });

  return () => {
    clearInterval(timer);
    timer = undefined;
    for (const s of subscribers) s.res.cork(() => s.res.end());
    subscribers.clear();
  };
}
