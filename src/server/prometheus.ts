/**
 * `GET /metrics` on the admin port: the server's figures in Prometheus's text exposition
 * format, or OpenMetrics when the scraper asks for it (`Accept: application/openmetrics-text`),
 * through prom-client. Every figure is read at scrape time from where it lives (the shared
 * counters of every thread, the limits and metrics buffers, the persistence figures): the
 * collectors keep no copy. Names and units follow Prometheus's conventions
 * (`sabcache_…_total` counters, `_bytes`, `_seconds`).
 *
 * @module
 */
import { type Metric, Registry, type RegistryContentType } from 'prom-client';
import type { ServerStats } from './admin.ts';
import { cumulativeAt } from './latency-histogram.ts';
import { countAndSum, mergedHistogram } from './latency-stats.ts';
import { CLASSES, PROTOCOLS } from './metrics-words.ts';

/** Where the collectors read from. */
export interface MetricsSources {
  /** The cache's and the server's figures (`/v1/stats`'s). */
  stats(): ServerStats;
  /** The latency histograms of every worker (metrics-words.ts). */
  metricsBuffer: SharedArrayBuffer;
}

/** Latency histogram bounds exported (`le`), seconds. */
export const LATENCY_BOUNDS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Values = { metricName?: string; labels?: Record<string, string | number>; value: number }[];

/** A metric prom-client formats, whose values are read at scrape time by `read`. */
function readAtScrape(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Values): Metric {
  return { name, help, type, get: async () => ({ name, help, type, values: read(), aggregator: 'sum' }) } as unknown as Metric;
}

/** The `/metrics` endpoint's text, in either format. */
export class MetricsEndpoint {
  private readonly text: Registry<RegistryContentType>;
  private readonly openMetrics: Registry<RegistryContentType>;
  /** The figures of the scrape under way (read once per scrape, shared by its collectors). */
  private current: ServerStats | undefined;

  constructor(private readonly sources: MetricsSources) {
    // One registry per format: prom-client renames counters in place for OpenMetrics.
    this.text = createMetricsRegistry(sources, false, () => this.current!);
    this.openMetrics = createMetricsRegistry(sources, true, () => this.current!);
  }

  /** A scrape: Prometheus's text exposition format, or OpenMetrics with `openMetrics`. */
  async scrape(openMetrics: boolean): Promise<string> {
    // prom-client starts every collector before any finishes: they all see this read.
    this.current = this.sources.stats();
    try {
      return await (openMetrics ? this.openMetrics : this.text).metrics();
    } finally {
      this.current = undefined;
    }
  }
}

/**
 * A registry with every sabcache metric, formatting the text exposition format, or
 * OpenMetrics with `openMetrics`, whose collectors read the scrape's figures from `stats`.
 */
function createMetricsRegistry(sources: MetricsSources, openMetrics: boolean, stats: () => ServerStats): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  const counter = (name: string, help: string, value: (s: ServerStats) => number): void => {
    registry.registerMetric(readAtScrape(openMetrics ? name.replace(/_total$/, '') : name, help, 'counter', () => [{ value: value(stats()) }]));
  };
  const gauge = (name: string, help: string, value: (s: ServerStats) => number | undefined): void => {
    registry.registerMetric(readAtScrape(name, help, 'gauge', () => {
      const v = value(stats());
      return v === undefined ? [] : [{ value: v }];
    }));
  };

  counter('sabcache_hits_total', 'Reads that found their key.', (s) => s.hits);
  counter('sabcache_misses_total', 'Reads that did not find their key.', (s) => s.misses);
  counter('sabcache_sets_total', 'Values stored.', (s) => s.sets);
  counter('sabcache_deletes_total', 'Keys deleted.', (s) => s.deletes);
  counter('sabcache_evictions_total', 'Entries evicted to make room.', (s) => s.evictions);
  counter('sabcache_expirations_total', 'Entries removed at their expiry.', (s) => s.expired);
  counter('sabcache_evicted_segments_total', 'Segments evicted.', (s) => s.evictedSegments);
  counter('sabcache_promotions_total', 'Entries promoted from the small queue to the main one (S3-FIFO).', (s) => s.promotions);
  counter('sabcache_ghost_hits_total', 'Inserts of keys the ghost queue remembered (S3-FIFO).', (s) => s.ghostHits);
  counter('sabcache_compactions_total', 'Segments compacted.', (s) => s.compactedSegments);
  counter('sabcache_code_cache_hits_total', 'Modules and scripts compiled with V8 code cache data from the cache (sabcache/code-cache).', (s) => s.codeCacheHits);
  counter('sabcache_code_cache_misses_total', 'Code cache lookups that found no data.', (s) => s.codeCacheMisses);
  counter('sabcache_code_cache_rejected_total', 'Code cache data refused (damaged, or rejected by V8) and replaced.', (s) => s.codeCacheRejected);
  counter('sabcache_code_cache_stored_bytes_total', 'Bytes of code cache data stored.', (s) => s.codeCacheStoredBytes);
  gauge('sabcache_items', 'Entries stored.', (s) => s.items);
  gauge('sabcache_memory_used_bytes', 'Bytes of the buffer in use (segments written, index, metadata).', (s) => s.memoryUsedBytes);
  gauge('sabcache_live_bytes', 'Bytes of live entries in segments.', (s) => s.liveBytes);
  gauge('sabcache_memory_limit_bytes', 'The shared buffer size (--memory).', (s) => s.memoryLimitBytes);
  registry.registerMetric(readAtScrape('sabcache_segments', 'Segments by state.', 'gauge', () => {
    const seg = stats().segments;
    return (['free', 'active', 'sealed', 'evicting', 'span'] as const).map((state) => ({ labels: { state }, value: seg[state] }));
  }));
  registry.registerMetric(readAtScrape(openMetrics ? 'sabcache_thread_requests' : 'sabcache_thread_requests_total', 'Requests served, by attached thread (its block).', 'counter', () =>
    stats().threads.filter((t) => t.attached).map((t) => ({ labels: { thread: t.thread }, value: t.requests }))));
  gauge('sabcache_server_threads', 'Server worker threads serving.', (s) => s.serverThreads);
  gauge('sabcache_uptime_seconds', 'Seconds since the server started.', (s) => s.uptimeSeconds);
  registry.registerMetric(readAtScrape('sabcache_connections_open', 'Connections open, by protocol: RESP and WebSocket (plain HTTP connections are not seen).', 'gauge', () => {
    const l = stats().limits;
    return l === undefined ? [] : [{ labels: { protocol: 'resp' }, value: l.openConnectionsResp }, { labels: { protocol: 'ws' }, value: l.openConnectionsWs }];
  }));
  registry.registerMetric(readAtScrape(openMetrics ? 'sabcache_rejected' : 'sabcache_rejected_total', 'Requests and connections refused, by reason.', 'counter', () => {
    const l = stats().limits;
    if (l === undefined) return [];
    return [
      { labels: { reason: 'max_connections' }, value: l.refusedConnections },
      { labels: { reason: 'max_connections_per_address' }, value: l.refusedConnectionsPerAddress },
      { labels: { reason: 'rate_limit' }, value: l.rateLimited },
      { labels: { reason: 'rate_limit_global' }, value: l.rateLimitedGlobal },
      { labels: { reason: 'auth' }, value: l.refusedAuth },
    ];
  }));
  gauge('sabcache_wal_bytes', 'Bytes of WAL files in the data dir.', (s) => s.persistence?.walBytes);
  gauge('sabcache_wal_lag_records', 'Changes logged since the last snapshot (what a restart would replay).', (s) => s.persistence?.walLagRecords);
  gauge('sabcache_snapshot_age_seconds', 'Seconds since the last snapshot was written.', (s) => (s.persistence?.lastSnapshotAtMs ? (Date.now() - s.persistence.lastSnapshotAtMs) / 1000 : undefined));
  gauge('sabcache_snapshot_duration_seconds', 'How long the last snapshot took to write.', (s) => (s.persistence?.lastSnapshotAtMs ? s.persistence.lastSnapshotDurationMs / 1000 : undefined));

  // Operations and their latency, by protocol and class, from every worker's histograms.
  const merged = (): { protocol: string; cls: string; h: Float64Array }[] => {
    const out = [];
    for (let p = 0; p < PROTOCOLS.length; p++) for (let c = 0; c < CLASSES.length; c++) out.push({ protocol: PROTOCOLS[p], cls: CLASSES[c], h: mergedHistogram(sources.metricsBuffer, p, c) });
    return out;
  };
  registry.registerMetric(readAtScrape(openMetrics ? 'sabcache_operations' : 'sabcache_operations_total', 'Operations served, by protocol and class (read, write, batch, other).', 'counter', () =>
    merged().map(({ protocol, cls, h }) => ({ labels: { protocol, class: cls }, value: countAndSum(h).count }))));
  const boundsNs = LATENCY_BOUNDS_SECONDS.map((s) => Math.round(s * 1e9));
  registry.registerMetric(readAtScrape('sabcache_operation_duration_seconds', 'Time an operation spent in the server, by protocol and class: an HTTP request from its handler to its answer; a WebSocket message or a RESP read from the start to the end of its handling, for each operation it carried.', 'histogram', () =>
    merged().flatMap(({ protocol, cls, h }) => {
      const { count, sumNs } = countAndSum(h);
      const at = cumulativeAt(h, 0, boundsNs);
      const labels = { protocol, class: cls };
      return [
        ...LATENCY_BOUNDS_SECONDS.map((le, i) => ({ metricName: 'sabcache_operation_duration_seconds_bucket', labels: { ...labels, le }, value: at[i] })),
        { metricName: 'sabcache_operation_duration_seconds_bucket', labels: { ...labels, le: '+Inf' }, value: count },
        { metricName: 'sabcache_operation_duration_seconds_sum', labels, value: sumNs / 1e9 },
        { metricName: 'sabcache_operation_duration_seconds_count', labels, value: count },
      ];
    })));
  return registry;
}
