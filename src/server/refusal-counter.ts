/**
 * Requests and connections refused for their credential (none, a bad one, or one whose role
 * or key patterns do not allow the operation), every thread and protocol together: one
 * word of the shared limits buffer (limit-words.ts), for `/metrics`
 * (`sabcache_rejected_total{reason="auth"}`), `/v1/stats` and INFO `rejected_auth`.
 *
 * @module
 */
import { HEADER_REFUSED_AUTH, limitsViews } from './limit-words.ts';

/** One thread's view of the shared refusal count. */
export class RefusalCounter {
  private readonly header: Int32Array;

  /** @param buffer the shared limits buffer (limit-words.ts createLimitsBuffer) */
  constructor(buffer: SharedArrayBuffer) {
    this.header = limitsViews(buffer).header;
  }

  /** Counts one refusal. An atomic add: every thread counts into the same word. */
  auth(): void {
    Atomics.add(this.header, HEADER_REFUSED_AUTH, 1);
  }

  /** Refusals so far, every thread. */
  authRefused(): number {
    return Atomics.load(this.header, HEADER_REFUSED_AUTH);
  }
}
