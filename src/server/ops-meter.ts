/**
 * Operations per second as Redis INFO's `instantaneous_ops_per_sec` reports them: a count
 * sampled every 100 ms, and the rate over the last 16 samples (1.6 s), as Redis's
 * `trackInstantaneousMetric` keeps it.
 *
 * @module
 */

/** Samples a growing count and gives its recent rate. */
export class OpsMeter {
  private readonly times: number[] = [];
  private readonly counts: number[] = [];
  private readonly timer: NodeJS.Timeout;

  /**
   * @param count the count so far (operations of every thread: commands/stats.ts operationCount)
   * @param intervalMs between samples (default 100)
   * @param samples kept (default 16)
   */
  constructor(private readonly count: () => number, intervalMs = 100, private readonly samples = 16) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    this.times.push(performance.now());
    this.counts.push(this.count());
    if (this.times.length > this.samples) {
      this.times.shift();
      this.counts.shift();
    }
  }

  /** Operations per second over the samples kept (0 before two samples). */
  perSecond(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    const seconds = (this.times[n - 1] - this.times[0]) / 1000;
    return seconds > 0 ? Math.round((this.counts[n - 1] - this.counts[0]) / seconds) : 0;
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
  }
}
