/**
 * The lifecycle state a server worker shares with its routes.
 *
 * @module
 */
import type { ThreadMetrics } from './thread-metrics.ts';

/** Lifecycle state a worker shares with its routes. */
export interface ServingState {
  /** Requests whose response has not been sent yet (bodies still streaming). */
  inFlight: number;
  /**
   * Set when the worker is stopping: requests on open connections are still served, each
   * answer closing its connection, so clients reconnect to another worker.
   */
  draining: boolean;
  /**
   * Runs `fn` once the changes made so far are as durable as `--fsync` promises: after the
   * WAL's fdatasync with `--fsync always`, at once otherwise (persist/wal-writer.ts).
   */
  afterDurable(fn: () => void): void;
  /** Whether {@link afterDurable} may wait (`--wal --fsync always`). */
  durableWaits: boolean;
  /** Protected mode (`--protected-mode`, protected-mode.ts): only loopback clients are served. */
  protectedMode: boolean;
  /** This worker's latency recorder (thread-metrics.ts); absent where nothing is recorded (tests). */
  metrics?: ThreadMetrics;
}
