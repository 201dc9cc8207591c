/**
 * Rate limits enforced by every server thread against one budget (`--rate-limit`,
 * `--rate-limit-burst`, `--rate-limit-global`): GCRA, the generic cell rate algorithm of ATM
 * networks (ITU-T I.371; as `redis-cell` and Brandur Leach's `throttled` apply it to
 * requests), with its one word of state per client kept in the shared limits buffer
 * (limit-words.ts) and updated by compare-and-swap, so no lock is taken and no thread can
 * be stalled by another.
 *
 * Times are 32-bit counts of {@link TICK_NS} ticks, read relative to now (modulo 2^32: two
 * times up to 275 s apart are told apart), so the state is an Int32 and a check allocates
 * nothing (a BigInt64 cell cost about 55 ns more per check, bench:rate-limit). A stored time
 * is never more than the tolerance ahead of the time it was stored at, so a value further
 * ahead than that is an old time read around the modulus: it is taken as past. And every
 * server thread calls {@link RateLimiter.sweep} every minute, which moves times that are past
 * up to now, so no time grows older than the modulus allows. Rates are whole ticks apart:
 * a rate of r is enforced as `1e9 / (TICK_NS · round(1e9 / TICK_NS / r))` per second,
 * within 0.7% of r up to 100,000/s and within 6.4% up to the largest, 1,000,000/s.
 *
 * GCRA keeps a theoretical arrival time (TAT) per client. A request at `now` with emission
 * interval `T = 1 s / rate` and tolerance `τ = (burst − 1) · T` is allowed when
 * `max(TAT, now) − now ≤ τ`, and then moves TAT to `max(TAT, now) + T`; otherwise it is
 * refused, and may come back after `max(TAT, now) − τ − now`. A client idle long enough to
 * have its whole burst back has `TAT ≤ now`, which is the same as never having been seen:
 * its cell may go to another client, which is how a fixed table serves any number of
 * clients over time.
 *
 * Clients: a credential's name, or the client's address when anonymous ({@link identityOfName},
 * {@link identityOfAddress}). A client owns a cell found by probing PROBES (limit-words.ts) cells from
 * a home cell; when all of them belong to clients that are still in debt, it shares its home
 * cell (counted: `HEADER_RATE_CELLS_SHARED`), which can only refuse more, never let more
 * through.
 *
 * @module
 */
import {
  HEADER_GLOBAL_TAT,
  HEADER_RATE_CELLS_SHARED,
  HEADER_REFUSED_GLOBAL_RATE,
  HEADER_REFUSED_RATE,
  type LimitsViews,
  limitsViews,
  monotonicNs,
  RATE_CELL_BITS,
  RATE_CELLS,
  TICK_NS,
} from './limit-words.ts';
import { BadOptionError } from '../errors.ts';
import { findOrClaimCell } from './tagged-cells.ts';

/** The largest rate, per second (one request per 8 ticks). */
export const MAX_RATE = 1_000_000;
/** The longest a burst may last at its rate, in seconds (tolerance and interval stay well inside the 275 s the ticks tell apart). */
export const MAX_BURST_SECONDS = 120;
/**
 * How stale a "now" may be when it is used, in ticks (10 s): a thread descheduled between
 * reading the clock and checking, or a RESP read's commands checked with the instant the read
 * arrived, sees cells other threads charged later as further ahead than one tolerance. Only
 * a time further ahead than tolerance + interval + this is taken for an old one read around
 * the modulus (which the sweeps keep from happening at all).
 */
const STALE_TICKS = Math.ceil(10e9 / TICK_NS);

/** Rate limit settings (0 = that limit is off). */
export interface RateLimits {
  /** Requests per second per client (credential, or address when anonymous), at most {@link MAX_RATE}; 0 = off. */
  perClient: number;
  /** Requests a client may send at once after being idle (GCRA's burst); at least 1, lasting at most {@link MAX_BURST_SECONDS} at the rate. */
  perClientBurst: number;
  /** Requests per second of all clients together, at most {@link MAX_RATE}; 0 = off. */
  global: number;
  /** Requests all clients together may send at once; at least 1, lasting at most {@link MAX_BURST_SECONDS}. */
  globalBurst: number;
}

/**
 * Checks a rate and its burst (`what` names the flags in the error).
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for a rate over {@link MAX_RATE} or a burst over {@link MAX_BURST_SECONDS} of it.
 */
export function checkRate(rate: number, burst: number, what: [rateFlag: string, burstFlag: string]): void {
  if (rate === 0) return;
  if (!(rate > 0 && rate <= MAX_RATE)) throw new BadOptionError(what[0], `must be from 0 to ${MAX_RATE} requests per second, got ${rate}`);
  if (!(burst >= 1) || (burst - 1) / rate > MAX_BURST_SECONDS) {
    throw new BadOptionError(what[1], `must be at least 1 and last at most ${MAX_BURST_SECONDS} s at ${what[0]} ${rate} (at most ${rate * MAX_BURST_SECONDS + 1}), got ${burst}`);
  }
}

/** What the limiters refused so far (every thread). */
export interface RateLimitCounts {
  /** Requests refused by a client's own limit. */
  refusedPerClient: number;
  /** Requests refused by the global limit. */
  refusedGlobal: number;
  /** Checks that found no free cell and shared one (see the module comment). */
  cellsShared: number;
}

const RATE_MASK = RATE_CELLS - 1;

/** FNV-1a (32 bits) of `text`'s code units, low bytes only when `bytes`, from `seed`; never 0 (0 marks a free cell). */
function fnv(text: string, seed: number, bytes: boolean): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ (bytes ? text.charCodeAt(i) & 0xff : text.charCodeAt(i)), 0x01000193);
  return (h >>> 0) || 1;
}

/** The identity of a credential: a 32-bit FNV-1a hash of its name, never 0. */
export function identityOfName(text: string): number {
  return fnv(text, 0x811c9dc5, false);
}

/** The seed of address identities (another than names', so a user named like an address is apart from it). */
const ADDRESS_SEED = 0x050c5d1f;

/**
 * A 32-bit FNV-1a hash of an address as text bytes (uWS's `getRemoteAddressAsText()`),
 * never 0. A different seed from {@link identityOfName}'s keeps a user named like an
 * address apart from it.
 */
export function identityOfAddress(address: ArrayBuffer): number {
  const b = new Uint8Array(address);
  let h = ADDRESS_SEED;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h >>> 0) || 1;
}

/**
 * The identity of an address text (Node's `socket.remoteAddress`): the same number
 * {@link identityOfAddress} gives for the same text's bytes, so that one address has one
 * budget over HTTP, WebSocket and RESP.
 */
export function identityOfAddressText(address: string | undefined): number {
  return fnv(address ?? '', ADDRESS_SEED, true);
}

/**
 * One thread's view of the shared rate limits. {@link take} is the only hot call: a few
 * atomic loads and one compare-and-swap per limit, nothing allocated.
 */
export class RateLimiter {
  private readonly v: LimitsViews;
  private readonly epochNs: number;
  /** Emission intervals and tolerances, ticks. */
  private readonly t: number;
  private readonly tau: number;
  private readonly globalT: number;
  private readonly globalTau: number;
  /** Whether the per-client / global limit is on. */
  readonly perClient: boolean;
  readonly global: boolean;

  /**
   * @param buffer the shared limits buffer (limit-words.ts createLimitsBuffer)
   * @param limits the settings; every thread must use the same ones
   * @throws BadOptionError as {@link checkRate}
   */
  constructor(buffer: SharedArrayBuffer, readonly limits: RateLimits) {
    checkRate(limits.perClient, limits.perClientBurst, ['--rate-limit', '--rate-limit-burst']);
    checkRate(limits.global, limits.globalBurst, ['--rate-limit-global', '--rate-limit-global-burst']);
    this.v = limitsViews(buffer);
    this.epochNs = this.v.epoch[0];
    this.perClient = limits.perClient > 0;
    this.global = limits.global > 0;
    this.t = this.perClient ? Math.max(1, Math.round(1e9 / TICK_NS / limits.perClient)) : 0;
    this.tau = (Math.max(1, limits.perClientBurst) - 1) * this.t;
    this.globalT = this.global ? Math.max(1, Math.round(1e9 / TICK_NS / limits.global)) : 0;
    this.globalTau = (Math.max(1, limits.globalBurst) - 1) * this.globalT;
  }

  /** Now, in ticks since the buffer's epoch (the same clock in every thread: limit-words.ts). */
  now(): number {
    return Math.floor((monotonicNs() - this.epochNs) / TICK_NS);
  }

  /**
   * Counts one request of the client `identity` ({@link identityOfName},
   * {@link identityOfAddress}) at `now` (ticks, {@link now}). Returns 0 when it may go on, or
   * how long the client must wait before it may, in milliseconds (at least 1; nothing was
   * charged). The client's own limit is checked first, so a client over it does not spend
   * the global budget. Without a per-client limit, `identity` is not used (callers may pass 0
   * and skip finding it out).
   */
  take(identity: number, now = this.now()): number {
    const now32 = now | 0;
    if (this.perClient) {
      const wait = gcra(this.v.rateTats, this.cellOf(identity, now32), now32, this.t, this.tau);
      if (wait > 0) {
        Atomics.add(this.v.header, HEADER_REFUSED_RATE, 1);
        return Math.max(1, Math.ceil((wait * TICK_NS) / 1e6));
      }
    }
    if (this.global) {
      const wait = gcra(this.v.header, HEADER_GLOBAL_TAT, now32, this.globalT, this.globalTau);
      if (wait > 0) {
        Atomics.add(this.v.header, HEADER_REFUSED_GLOBAL_RATE, 1);
        return Math.max(1, Math.ceil((wait * TICK_NS) / 1e6));
      }
    }
    return 0;
  }

  /**
   * Moves every time that is past up to now (which changes no decision: GCRA takes the later
   * of a cell's time and now), so that no stored time grows old enough to be read around the
   * 2^32 modulus as a future one. Every server thread calls it about once a minute (all
   * cells: `from` 0 to `to` RATE_CELLS, about 0.3 ms); a cell changed meanwhile by a request
   * is left as that request made it (compare-and-swap: a store could put back a time from
   * before a request's charge and let the next request through free).
   */
  sweep(now = this.now(), from = 0, to = RATE_CELLS): void {
    const now32 = now | 0;
    const tats = this.v.rateTats;
    for (let i = from; i < to; i++) {
      const old = Atomics.load(tats, i);
      if (((old - now32) | 0) < 0) Atomics.compareExchange(tats, i, old, now32);
    }
    const old = Atomics.load(this.v.header, HEADER_GLOBAL_TAT);
    if (((old - now32) | 0) < 0) Atomics.compareExchange(this.v.header, HEADER_GLOBAL_TAT, old, now32);
  }

  /**
   * The cell of `identity`: the one it owns among its probes, or a free one it claims, or
   * (every probe owned by a client in debt) its home cell, shared.
   */
  private cellOf(identity: number, now: number): number {
    // A cell is free when its owner's TAT has passed (that owner has its whole burst back:
    // forgetting it changes nothing for it). A request of the old owner already past its tag
    // check may still charge the cell once: that only refuses more (the new owner starts
    // from that TAT).
    const i = findOrClaimCell(this.v.rateTags, homeCellOf(identity), RATE_MASK, identity, this.rateCellFree, now);
    if (i >= 0) return i;
    Atomics.add(this.v.header, HEADER_RATE_CELLS_SHARED, 1);
    return homeCellOf(identity);
  }

  /** Whether rate cell `i` may be taken at `now` (see cellOf). */
  private readonly rateCellFree = (i: number, _owner: number, now: number): boolean => ahead(Atomics.load(this.v.rateTats, i), now, this.tau + this.t) === 0;

  /** What the limiters refused so far, every thread. */
  counts(): RateLimitCounts {
    return {
      refusedPerClient: Atomics.load(this.v.header, HEADER_REFUSED_RATE),
      refusedGlobal: Atomics.load(this.v.header, HEADER_REFUSED_GLOBAL_RATE),
      cellsShared: Atomics.load(this.v.header, HEADER_RATE_CELLS_SHARED),
    };
  }
}

/** The first rate cell `identity` probes (the top bits of a multiplicative hash); it owns one of the PROBES cells from there. */
export function homeCellOf(identity: number): number {
  return Math.imul(identity, 0x9e3779b1) >>> (32 - RATE_CELL_BITS);
}

/**
 * How far the stored time `tat` is ahead of `now` (both ticks modulo 2^32), in ticks: 0
 * when it is past, or further ahead than any stored time can be (`limit`: the tolerance and
 * one interval, plus {@link STALE_TICKS}), which is an old time read around the modulus.
 */
function ahead(tat: number, now: number, limit: number): number {
  const d = (tat - now) | 0;
  return d > 0 && d <= limit + STALE_TICKS ? d : 0;
}

/**
 * GCRA on cell `i` of `tats` at `now` (ticks): 0 and the TAT moved on when allowed, else the
 * ticks to wait (nothing charged). Lock-free: the TAT is read, the new one computed, and
 * written only if the cell still holds what was read; else another thread charged it in
 * between, and the check runs again on its TAT. A plain store instead would let two
 * threads charge the same slot and let one request through for free (the multi-thread
 * test in test/server/rate-limiter.test.ts counts the requests allowed).
 */
function gcra(tats: Int32Array, i: number, now: number, t: number, tau: number): number {
  for (;;) {
    const old = Atomics.load(tats, i);
    const a = ahead(old, now, tau + t);
    if (a > tau) return a - tau;
    if (Atomics.compareExchange(tats, i, old, (now + a + t) | 0) === old) return 0;
  }
}
