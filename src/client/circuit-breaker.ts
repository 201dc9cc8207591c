/**
 * A circuit breaker per node (the pattern of Nygard's "Release It!", as client libraries
 * of Redis and memcached clusters apply it; twemproxy's `auto_eject_hosts` with
 * `server_failure_limit` and `server_retry_timeout` is the same idea in a proxy):
 *
 * - **closed**: requests go to the node; `failureLimit` failures in a row (no answer:
 *   connection refused, reset, timeout) open it;
 * - **open**: the node is left out (its keys go to the other nodes, as twemproxy ejects a
 *   host) until `retryTimeoutMs` have passed;
 * - **half-open**: one request is let through as a probe; its success closes the circuit,
 *   its failure opens it again for another `retryTimeoutMs`.
 *
 * An answer the server gave (any HTTP status, a RESP error) is not a failure: the node is up.
 *
 * @module
 */

/** A breaker's state. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options of {@link CircuitBreaker} (twemproxy's names in brackets). */
export interface CircuitOptions {
  /** Failures in a row that open the circuit [server_failure_limit]. @default 3 */
  failureLimit?: number;
  /** Milliseconds an open circuit waits before a probe [server_retry_timeout]. @default 2000 */
  retryTimeoutMs?: number;
  /** The clock, in milliseconds. @default Date.now */
  now?: () => number;
}

/** One node's breaker. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private state_: CircuitState = 'closed';
  readonly failureLimit: number;
  readonly retryTimeoutMs: number;
  private readonly now: () => number;

  constructor(options: CircuitOptions = {}) {
    this.failureLimit = options.failureLimit ?? 3;
    this.retryTimeoutMs = options.retryTimeoutMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** The state now (an open circuit whose timeout passed reads half-open). */
  get state(): CircuitState {
    if (this.state_ === 'open' && this.now() - this.openedAt >= this.retryTimeoutMs) this.state_ = 'half-open';
    return this.state_;
  }

  /**
   * Whether a request may go to the node now: always when closed, never when open, and
   * when half-open only the first (the probe) until it settles.
   */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Whether the node counts as live for routing (not open; half-open nodes take their keys back to be probed). */
  get live(): boolean {
    return this.state !== 'open';
  }

  /** The node answered. */
  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state_ = 'closed';
  }

  /** The node did not answer. */
  failure(): void {
    this.probing = false;
    if (this.state_ === 'half-open' || ++this.failures >= this.failureLimit) {
      this.state_ = 'open';
      this.openedAt = this.now();
      this.failures = 0;
    }
  }
}
