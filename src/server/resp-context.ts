/**
 * What the RESP command handlers share (resp-commands.ts and its parts): a connection's
 * state, the server facts they report, and the argument helpers.
 *
 * @module
 */
import type { CommandContext } from '../commands/context.ts';
import type { RespWriter } from '../protocol/resp-writer.ts';
import type { Credentials, Principal } from './credentials.ts';
import type { PubSubConnection, RespPubSub } from './resp-pubsub.ts';
import type { SaveRequester } from './save-messages.ts';
import type { LatencySummary } from './latency-stats.ts';

/** One connection's state, as its commands see it. */
export interface RespSession {
  /** Client id (CLIENT ID), unique per server thread and connection. */
  readonly id: number;
  /** CLIENT SETNAME's name. */
  name: string;
  /** Set by QUIT: close once the replies are written. */
  quit: boolean;
  /**
   * Set by a command that answers later (SAVE): settles once its reply is written; the
   * connection runs nothing more until then. The command copies any argument it keeps.
   */
  wait: Promise<void> | undefined;
  /** This connection as keyspace notifications reach it. */
  readonly subscriber: PubSubConnection;
  /** Whether it has a subscription (RESP2 then takes only the pub/sub commands, as Redis). */
  subscribed: boolean;
  /** Who it authenticated as (AUTH, HELLO … AUTH); null before (resp-acl.ts). */
  principal: Principal | null;
  /** The connection's peer, for CLIENT LIST / INFO. */
  readonly addr: string;
}

/** What a command handler gets. */
export interface RespContext {
  readonly cx: CommandContext;
  readonly w: RespWriter;
  readonly session: RespSession;
  /** Server facts for INFO and CLIENT LIST. */
  readonly server: RespServerInfo;
}

/** Facts about the server the INFO and CLIENT commands report. */
export interface RespServerInfo {
  readonly startedAtMs: number;
  readonly port: number;
  readonly memoryLimitBytes: number;
  /** Connections open on this thread. */
  connectedClients(): number;
  /** Commands answered on this thread. */
  commandsProcessed(): number;
  /** Operations per second of the whole cache, lately (INFO instantaneous_ops_per_sec). */
  opsPerSecond(): number;
  /** SAVE, BGSAVE and LASTSAVE: the main thread's snapshots. */
  readonly saves: SaveRequester;
  /** SUBSCRIBE and PSUBSCRIBE: keyspace notifications. */
  readonly pubsub: RespPubSub;
  /** Users and tokens when configured (every command then needs a credential), else null. */
  readonly credentials: Credentials | null;
  /**
   * Called after a failed AUTH from `addr`: resolves when the answer may go out (failures
   * are slowed per address), and logs and counts it.
   */
  authFailed(addr: string): Promise<void>;
  /** Called after a successful AUTH from `addr` (its failures are forgotten). */
  authSucceeded(addr: string): void;
  /** Failed AUTHs and commands refused for their credential, every thread (this thread's failed AUTHs when not shared). */
  authFailures(): number;
  /** Counts a command refused for its credential (NOAUTH, NOPERM). */
  authRefused(): void;
  /** Connections refused by the connection limits, every thread (INFO rejected_connections). */
  rejectedConnections(): number;
  /** Requests refused by the rate limits, every thread and protocol (INFO rejected_rate_limit). */
  rejectedRateLimit(): number;
  /** Latency quantiles by protocol and class, every thread (INFO latencystats; latency-stats.ts). */
  latency(): Record<string, Record<string, LatencySummary>>;
  /** Every worker's slow log (slow-log.ts), for SLOWLOG; null without one. */
  readonly slowLog: SharedArrayBuffer | null;
  /** Commands at least this long (ms) go to the slow log; Infinity: none (thread-metrics.ts). */
  readonly slowMs: number;
  /** Logs a slow command of `session`. */
  slow(ms: number, argv: readonly Buffer[], session: RespSession): void;
}

/** A command's handler: `argv[0]` is its name. */
export type Handler = (c: RespContext, argv: Buffer[]) => void;

/** An argument as lowercase latin1 text (command and option names). */
export const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();
/** An argument as uppercase latin1 text. */
export const upper = (b: Buffer): string => b.toString('latin1').toUpperCase();

/** Parses a Redis integer argument (int64 range); null if it is not one. */
export function intArg(b: Buffer): number | bigint | null {
  const s = b.toString('latin1');
  if (!/^-?\d{1,19}$/.test(s)) return null;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n;
  const big = BigInt(s);
  return big >= -(2n ** 63n) && big < 2n ** 63n ? big : null;
}

/** Redis's error replies for a bad integer and a bad option. */
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';
