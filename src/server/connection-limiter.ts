/**
 * Connection limits shared by every server thread (`--max-connections`,
 * `--max-connections-per-address`): one count of open connections, and one count per client
 * address in a table of cells (limit-words.ts), all in the shared limits buffer, changed
 * with atomic adds so that every thread sees one total.
 *
 * A connection is counted when it opens and uncounted when it closes, on the ports whose
 * connections the server sees open and close: RESP (`node:net`) and WebSocket (uWS's
 * `upgrade`/`close`). Plain HTTP connections are not counted: the uWebSockets.js build this
 * project loads gives JavaScript no event when an HTTP connection opens or closes, nor
 * anything that tells one connection from another (its peer port, a stable response
 * object), so they cannot be counted from here; uWS closes an idle HTTP connection after 10
 * seconds itself.
 *
 * @module
 */
import {
  CONN_CELL_BITS,
  CONN_CELLS,
  HEADER_OPEN_CONNECTIONS,
  HEADER_OPEN_RESP,
  HEADER_OPEN_WS,
  HEADER_REFUSED_ADDRESS_CONNECTIONS,
  HEADER_REFUSED_CONNECTIONS,
  type LimitsViews,
  limitsViews,
} from './limit-words.ts';
import { findOrClaimCell } from './tagged-cells.ts';

/** Connection limit settings (0 = that limit is off). */
export interface ConnectionLimits {
  /** Connections open at once on the counted ports, every thread together; 0 = off. */
  maxConnections: number;
  /** Connections open at once from one address; 0 = off. */
  maxConnectionsPerAddress: number;
}

/** {@link ConnectionLimiter.open}'s answer for a connection past `--max-connections`. */
export const REFUSED_TOTAL = -1;
/** {@link ConnectionLimiter.open}'s answer for a connection past `--max-connections-per-address`. */
export const REFUSED_ADDRESS = -2;
/** A connection's protocol, as {@link ConnectionLimiter.open} and close count it (its gauge's header word). */
export type ConnectionKind = typeof CONNECTION_WS | typeof CONNECTION_RESP;
/** A WebSocket connection. */
export const CONNECTION_WS = HEADER_OPEN_WS;
/** A RESP connection. */
export const CONNECTION_RESP = HEADER_OPEN_RESP;

/** {@link ConnectionLimiter.open}'s answer for a connection counted in the total only (no per-address limit). */
export const NO_CELL = -3;

const CONN_MASK = CONN_CELLS - 1;

/** One thread's view of the shared connection counts. */
export class ConnectionLimiter {
  private readonly v: LimitsViews;

  /**
   * @param buffer the shared limits buffer (limit-words.ts createLimitsBuffer)
   * @param limits the settings; every thread must use the same ones
   */
  constructor(buffer: SharedArrayBuffer, readonly limits: ConnectionLimits) {
    this.v = limitsViews(buffer);
  }

  /**
   * Counts a new connection from the address `identity` (rate-limiter.ts
   * `identityOfAddressText`). Returns a slot (≥ 0, or {@link NO_CELL}) to give back to
   * {@link close} when it closes, or {@link REFUSED_TOTAL} / {@link REFUSED_ADDRESS} when it
   * is over a limit (then nothing stays counted, and it must not be passed to close).
   */
  open(identity: number, kind: ConnectionKind): number {
    const header = this.v.header;
    // Add first, then compare: a check before the add would let two threads both see
    // room for one and both take it.
    const total = Atomics.add(header, HEADER_OPEN_CONNECTIONS, 1) + 1;
    if (this.limits.maxConnections > 0 && total > this.limits.maxConnections) {
      Atomics.sub(header, HEADER_OPEN_CONNECTIONS, 1);
      Atomics.add(header, HEADER_REFUSED_CONNECTIONS, 1);
      return REFUSED_TOTAL;
    }
    if (this.limits.maxConnectionsPerAddress <= 0) return this.opened(kind, NO_CELL);
    const cell = this.cellOf(identity);
    // As above: add, then compare.
    if (Atomics.add(this.v.connCounts, cell, 1) + 1 > this.limits.maxConnectionsPerAddress) {
      Atomics.sub(this.v.connCounts, cell, 1);
      Atomics.sub(header, HEADER_OPEN_CONNECTIONS, 1);
      Atomics.add(header, HEADER_REFUSED_ADDRESS_CONNECTIONS, 1);
      return REFUSED_ADDRESS;
    }
    return this.opened(kind, cell);
  }

  /**
   * Counts an admitted connection in its protocol's gauge; returns `slot`. An atomic add:
   * threads open connections at once (a plain `+=` would lose some, and the gauge would
   * drift below zero as they close).
   */
  private opened(kind: ConnectionKind, slot: number): number {
    Atomics.add(this.v.header, kind, 1);
    return slot;
  }

  /** Uncounts a connection of `kind` that {@link open} counted (its slot). */
  close(slot: number, kind: ConnectionKind): void {
    if (slot < 0 && slot !== NO_CELL) return;
    Atomics.sub(this.v.header, kind, 1);
    Atomics.sub(this.v.header, HEADER_OPEN_CONNECTIONS, 1);
    // The cell the connection was counted in, not a new lookup: its owner may have changed.
    if (slot >= 0) Atomics.sub(this.v.connCounts, slot, 1);
  }

  /**
   * The cell of `identity`: the one it owns among its probes, or a free one (count 0) it
   * claims, or (every probe in use by another address) its home cell, shared: sharing can
   * only refuse more, never let more through.
   */
  private cellOf(identity: number): number {
    // A cell is free when no connection is counted in it. A connection of the old owner
    // counted in between stays in this cell's count (and is uncounted from it): the new owner
    // is at worst refused one connection early.
    const home = Math.imul(identity, 0x85ebca6b) >>> (32 - CONN_CELL_BITS); // the top bits of a multiplicative hash
    const i = findOrClaimCell(this.v.connTags, home, CONN_MASK, identity, this.connCellFree, undefined);
    return i >= 0 ? i : home;
  }

  /** Whether connection cell `i` may be taken (see cellOf). */
  private readonly connCellFree = (i: number): boolean => Atomics.load(this.v.connCounts, i) === 0;

  /** Connections open on the counted ports, every thread. */
  openConnections(): number {
    return Atomics.load(this.v.header, HEADER_OPEN_CONNECTIONS);
  }

  /** Connections open by protocol, every thread. */
  openByProtocol(): { ws: number; resp: number } {
    return { ws: Atomics.load(this.v.header, CONNECTION_WS), resp: Atomics.load(this.v.header, CONNECTION_RESP) };
  }

  /** Connections refused so far: by the total limit, and by the per-address one. */
  refused(): { total: number; perAddress: number } {
    return {
      total: Atomics.load(this.v.header, HEADER_REFUSED_CONNECTIONS),
      perAddress: Atomics.load(this.v.header, HEADER_REFUSED_ADDRESS_CONNECTIONS),
    };
  }
}
