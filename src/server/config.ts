/**
 * Server configuration: command-line flags, each with an environment variable, validated
 * once at start. Flags win over the environment; with neither, the embedded default
 * applies, so `sabcache` runs with no configuration at all.
 *
 * @module
 */
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { BadOptionError } from '../errors.ts';
import { MAX_KEY_BYTES_LIMIT } from '../options.ts';
import { nearestName } from '../util/known-options.ts';
import { parseBytes } from '../util/parse-bytes.ts';
import type { TlsFiles } from './uws.ts';
import { checkRate, MAX_RATE, type RateLimits } from './rate-limiter.ts';
import { Credentials, loadUsersFile, MIN_TOKEN_SECRET_BYTES } from './credentials.ts';
import { type ConfigEntry, configValueText, readConfigFile } from './config-file.ts';
import { LOG_LEVELS, type LogLevel, type LogOptions } from './log.ts';

/** A validated server configuration. */
export interface ServerConfig {
  /** Data port address. @default "0.0.0.0" */
  host: string;
  /** Data port (HTTP key API). @default 7070 */
  port: number;
  /**
   * Redis protocol (RESP) port, served by every worker thread (SO_REUSEPORT) on `host`; 0
   * turns it off. @default 7379
   */
  respPort: number;
  /** Admin port address (health, stats); keep it on loopback unless you mean it. @default "127.0.0.1" */
  adminHost: string;
  /** Admin port. @default 7071 */
  adminPort: number;
  /** Server worker threads, each with its own uWebSockets.js App on the data port. @default os.availableParallelism() */
  threads: number;
  /** Shared buffer size, in bytes (everything the cache holds). @default 256 MiB */
  memoryBytes: number;
  /** Largest key, in UTF-8 bytes. @default 1024 */
  maxKeyBytes: number;
  /** Largest value, in bytes. @default 1 MiB */
  maxValueBytes: number;
  /**
   * Byte budget of one answer: an HTTP batch or key page, a WebSocket message's answers.
   * Values are copied while the total stays under it; past it the request gets
   * `SABCACHE_ERR_RESPONSE_TOO_LARGE` (HTTP 413, a per-request WebSocket error). At least
   * max-value-bytes + 1 KiB, so any one value can be served. @default max-value-bytes + 4 MiB
   */
  maxResponseBytes: number;
  /**
   * Start even when the WAL does not continue from the snapshot (records missing): the
   * gap is logged and counted in `/v1/stats` (`persistence.walGaps`). Without it such a
   * start fails with `SABCACHE_ERR_WAL_GAP`. @default false
   */
  recoverPastGaps: boolean;
  /** Largest WebSocket message a client may send, in bytes. @default max-value-bytes + 64 KiB */
  wsMaxMessageBytes: number;
  /** Most requests in one WebSocket message. @default 1000 */
  wsMaxRequests: number;
  /** Bytes buffered for a WebSocket client that does not read before it is disconnected (close 4001). @default 16 MiB */
  wsMaxBackpressureBytes: number;
  /** Seconds without traffic before a WebSocket is closed; 0 = never. @default 120 */
  wsIdleTimeoutSeconds: number;
  /**
   * Protected mode (as Redis's): while no credentials are configured, only clients on the
   * loopback interface are served, on every port; the others get 403
   * `SABCACHE_ERR_PROTECTED_MODE` (RESP `-DENIED`). `--protected-mode no` serves everyone.
   * @default true
   */
  protectedMode: boolean;
  /**
   * TLS on every port (data, WebSocket, RESP, admin): the certificate chain and its key,
   * PEM files (Redis's `tls-cert-file`, `tls-key-file`). Both or neither; none: plaintext.
   * @default none
   */
  tlsCertFile: string;
  tlsKeyFile: string;
  /**
   * Users (credentials.ts): a JSON file of names, password hashes, roles and key patterns.
   * With it (or a token secret) every client must authenticate and protected mode is off.
   * @default none
   */
  usersFile: string;
  /** The HS256 secret of signed tokens (JWTs with sub, exp, role, keys), at least 32 bytes; prefer the environment variable. @default none */
  tokenSecret: string;
  /**
   * Requests per second per client: a credential, or the client's address when anonymous;
   * every thread and protocol share one budget (rate-limiter.ts, GCRA). Over it: HTTP 429
   * with `Retry-After`, a per-request WebSocket error, RESP `-ERR`. 0 = off. @default 0
   */
  rateLimit: number;
  /** Requests a client may send at once after being idle (GCRA burst), at least 1. @default rate-limit (one second's worth) */
  rateLimitBurst: number;
  /** Requests per second of all clients together; 0 = off. @default 0 */
  rateLimitGlobal: number;
  /** Requests all clients together may send at once, at least 1. @default rate-limit-global */
  rateLimitGlobalBurst: number;
  /**
   * Connections open at once on the RESP port and WebSockets, every thread together
   * (connection-limiter.ts; plain HTTP connections cannot be counted: SECURITY.md); past
   * it a connection is refused (RESP `-ERR max number of clients reached`, HTTP 503 at the
   * upgrade). Redis's `maxclients`. 0 = no limit. @default 10000
   */
  maxConnections: number;
  /** Connections open at once from one client address (as max-connections counts them); 0 = no limit. @default 0 */
  maxConnectionsPerAddress: number;
  /**
   * Operations taking at least this many microseconds go to the slow log (RESP `SLOWLOG`,
   * `GET /v1/admin/slowlog`); 0 logs every one, -1 none. Redis's `slowlog-log-slower-than`.
   * @default 10000
   */
  slowlogThresholdUs: number;
  /** Slow log entries kept (each server thread keeps this many; SLOWLOG GET returns at most this many). Redis's `slowlog-max-len`. @default 128 */
  slowlogMaxLen: number;
  /** Least severe log level written: fatal, error, warn, info, debug, trace, or silent (log.ts). @default "info" */
  logLevel: LogLevel;
  /** `json` (a JSON object a line, pino's) or `pretty` (pino-pretty's lines, for a terminal). @default "json" */
  logFormat: 'json' | 'pretty';
  /** A file for the log, rotated by pino-roll (log.ts); empty: standard output. @default "" */
  logFile: string;
  /** Rotate the log file at this size, in bytes; 0: not by size. @default 100 MiB */
  logRotateSizeBytes: number;
  /** Rotate the log file `daily`, `hourly`, or `never` (by time). @default "daily" */
  logRotateInterval: 'daily' | 'hourly' | 'never';
  /** Rotated log files kept besides the current one. @default 7 */
  logRotateKeep: number;
  /** Browser Origins allowed to use the data port: CORS for HTTP, and WebSocket upgrades (comma-separated; `*` = any). Requests without Origin are always allowed. @default none */
  allowedOrigins: string[];
  /** Directory for snapshots; empty = in memory only (nothing is read or written). @default "" */
  dataDir: string;
  /** Seconds between periodic snapshots (with a data dir); 0 = only on request and at shutdown. @default 300 */
  snapshotIntervalSeconds: number;
  /** Snapshot files kept in the data dir, newest first; older ones are deleted. @default 2 */
  snapshotKeep: number;
  /** Log every change to a write-ahead log in the data dir, replayed after a crash. Needs `dataDir`. @default false */
  wal: boolean;
  /** When WAL records reach the disk: `always` (answers wait for it), `everysec`, `no`. @default "everysec" */
  fsync: 'always' | 'everysec' | 'no';
}

interface OptionSpec {
  key: keyof ServerConfig;
  flag: string;
  env: string;
  unit: string;
  default: () => string;
  help: string;
  parse: (name: string, text: string) => string | number | boolean;
  /** A flag without a value (`--wal`); its variable takes 1/0, true/false, on/off. */
  boolean?: true;
}

function portOrOff(name: string, text: string): number {
  return text === '0' ? 0 : port(name, text);
}

function port(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new BadOptionError(name, `expected a port from 1 to 65535, got ${JSON.stringify(text)}`);
  return n;
}
function host(name: string, text: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(text)) throw new BadOptionError(name, `expected an address such as 127.0.0.1, got ${JSON.stringify(text)}`);
  return text;
}
function bytesIn(min: number, max: number) {
  return (name: string, text: string): number => {
    const n = parseBytes(name, text);
    if (n < min || n > max) throw new BadOptionError(name, `must be from ${min} to ${max} bytes, got ${n}`);
    return n;
  };
}
function count(min: number, max: number) {
  return (name: string, text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new BadOptionError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  };
}
function idleSeconds(name: string, text: string): number {
  const n = count(0, 960)(name, text);
  if (n > 0 && n < 8) throw new BadOptionError(name, 'must be 0 (never) or from 8 to 960 seconds');
  return n;
}
function origins(name: string, text: string): string {
  for (const o of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (o !== '*' && !/^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(o)) throw new BadOptionError(name, `expected origins like https://app.example.com (comma-separated) or *, got ${JSON.stringify(o)}`);
  }
  return text;
}
function tokenSecret(name: string, text: string): string {
  if (text !== '' && Buffer.byteLength(text) < MIN_TOKEN_SECRET_BYTES) throw new BadOptionError(name, `must be at least ${MIN_TOKEN_SECRET_BYTES} bytes (HS256), got ${Buffer.byteLength(text)}`);
  return text;
}
function readableFile(name: string, text: string): string {
  if (text === '') return text;
  try {
    accessSync(text, constants.R_OK);
  } catch (e) {
    throw new BadOptionError(name, `cannot read ${JSON.stringify(text)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text;
}
function directory(name: string, text: string): string {
  if (text.includes('\0')) throw new BadOptionError(name, 'a path must not contain NUL');
  return text;
}
function onOff(name: string, text: string): boolean {
  if (/^(1|true|on|yes)$/i.test(text)) return true;
  if (/^(0|false|off|no|)$/i.test(text)) return false;
  throw new BadOptionError(name, `expected on or off, got ${JSON.stringify(text)}`);
}
/** yes or no, as Redis's `protected-mode` takes it; nothing else (an empty value does not turn protection off). */
function yesNo(name: string, text: string): boolean {
  if (/^yes$/i.test(text)) return true;
  if (/^no$/i.test(text)) return false;
  throw new BadOptionError(name, `expected yes or no, got ${JSON.stringify(text)}`);
}
function fsyncPolicy(name: string, text: string): string {
  if (text !== 'always' && text !== 'everysec' && text !== 'no') throw new BadOptionError(name, `expected always, everysec or no, got ${JSON.stringify(text)}`);
  return text;
}
function microsecondsOrOff(name: string, text: string): number {
  if (text === '-1') return -1;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 3_600_000_000) throw new BadOptionError(name, `expected microseconds from 0 to 3600000000, or -1 (off), got ${JSON.stringify(text)}`);
  return n;
}
function oneOf(...values: string[]) {
  return (name: string, text: string): string => {
    if (!values.includes(text)) throw new BadOptionError(name, `expected ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, got ${JSON.stringify(text)}`);
    return text;
  };
}
function threads(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 62) throw new BadOptionError(name, `expected 1 to 62 threads, got ${JSON.stringify(text)}`);
  return n;
}

/** The credentials of `config` (users file, token secret); `configured` is false without either. */
export function credentialsOf(config: ServerConfig): Credentials {
  return new Credentials(config.usersFile ? loadUsersFile(config.usersFile) : null, config.tokenSecret || null);
}

/** The log options of `config` (log.ts). */
export function logOptionsOf(config: ServerConfig): LogOptions {
  return { level: config.logLevel, format: config.logFormat, file: config.logFile, rotateSizeBytes: config.logRotateSizeBytes, rotateInterval: config.logRotateInterval, rotateKeep: config.logRotateKeep };
}

/** The rate limits of `config` (rate-limiter.ts). */
export function rateLimitsOf(config: ServerConfig): RateLimits {
  return { perClient: config.rateLimit, perClientBurst: config.rateLimitBurst, global: config.rateLimitGlobal, globalBurst: config.rateLimitGlobalBurst };
}

/** The TLS files of `config`, or undefined for plaintext. */
export function tlsFilesOf(config: ServerConfig): TlsFiles | undefined {
  return config.tlsCertFile ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : undefined;
}

/** Every option, in the order `--help` and the README list them. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'SABCACHE_HOST', unit: 'address', default: () => '0.0.0.0', help: 'address of the data port', parse: host },
  { key: 'port', flag: 'port', env: 'SABCACHE_PORT', unit: 'port', default: () => '7070', help: 'data port: HTTP key API', parse: port },
  { key: 'respPort', flag: 'resp-port', env: 'SABCACHE_RESP_PORT', unit: 'port', default: () => '7379', help: 'Redis protocol (RESP) port; 0 turns it off', parse: portOrOff },
  { key: 'adminHost', flag: 'admin-host', env: 'SABCACHE_ADMIN_HOST', unit: 'address', default: () => '127.0.0.1', help: 'address of the admin port (loopback unless you mean it)', parse: host },
  { key: 'adminPort', flag: 'admin-port', env: 'SABCACHE_ADMIN_PORT', unit: 'port', default: () => '7071', help: 'admin port: /healthz, /readyz, /v1/stats', parse: port },
  { key: 'threads', flag: 'threads', env: 'SABCACHE_THREADS', unit: 'threads', default: () => String(availableParallelism()), help: 'server worker threads on the data port', parse: threads },
  { key: 'memoryBytes', flag: 'memory', env: 'SABCACHE_MEMORY', unit: 'bytes (kb/mb/gb)', default: () => '256mb', help: 'shared memory for the whole cache', parse: bytesIn(1024 * 1024, 4 * 1024 ** 3 - 4096) },
  { key: 'maxKeyBytes', flag: 'max-key-bytes', env: 'SABCACHE_MAX_KEY_BYTES', unit: 'bytes', default: () => '1024', help: 'largest key (UTF-8 bytes)', parse: bytesIn(1, MAX_KEY_BYTES_LIMIT) },
  { key: 'maxValueBytes', flag: 'max-value-bytes', env: 'SABCACHE_MAX_VALUE_BYTES', unit: 'bytes (kb/mb/gb)', default: () => '1mb', help: 'largest value', parse: bytesIn(1, 256 * 1024 * 1024) },
  { key: 'maxResponseBytes', flag: 'max-response-bytes', env: 'SABCACHE_MAX_RESPONSE_BYTES', unit: 'bytes (kb/mb/gb)', default: () => 'max-value-bytes + 4mb', help: 'byte budget of one answer (HTTP batch, WebSocket message); past it: 413 / a per-request error', parse: bytesIn(2048, 2 * 1024 ** 3) },
  { key: 'wsMaxMessageBytes', flag: 'ws-max-message-bytes', env: 'SABCACHE_WS_MAX_MESSAGE_BYTES', unit: 'bytes (kb/mb/gb)', default: () => 'max-value-bytes + 64kb', help: 'largest WebSocket message from a client (larger: close 1009)', parse: bytesIn(1024, 512 * 1024 * 1024) },
  { key: 'wsMaxRequests', flag: 'ws-max-requests', env: 'SABCACHE_WS_MAX_REQUESTS', unit: 'requests', default: () => '1000', help: 'most requests in one WebSocket message', parse: count(1, 100_000) },
  { key: 'wsMaxBackpressureBytes', flag: 'ws-max-backpressure-bytes', env: 'SABCACHE_WS_MAX_BACKPRESSURE_BYTES', unit: 'bytes (kb/mb/gb)', default: () => '16mb', help: 'unread answers buffered per WebSocket before it is closed (4001)', parse: bytesIn(64 * 1024, 1024 ** 3) },
  { key: 'wsIdleTimeoutSeconds', flag: 'ws-idle-timeout', env: 'SABCACHE_WS_IDLE_TIMEOUT', unit: 'seconds', default: () => '120', help: 'close a WebSocket idle this long (0 = never; pings keep live ones open)', parse: idleSeconds },
  { key: 'dataDir', flag: 'data-dir', env: 'SABCACHE_DATA_DIR', unit: 'path', default: () => '', help: 'directory for snapshots, loaded on start (none by default: in memory only)', parse: directory },
  { key: 'snapshotIntervalSeconds', flag: 'snapshot-interval', env: 'SABCACHE_SNAPSHOT_INTERVAL', unit: 'seconds', default: () => '300', help: 'seconds between snapshots with --data-dir (0 = only on request and at shutdown)', parse: count(0, 7 * 24 * 3600) },
  { key: 'snapshotKeep', flag: 'snapshot-keep', env: 'SABCACHE_SNAPSHOT_KEEP', unit: 'files', default: () => '2', help: 'snapshot files kept in --data-dir', parse: count(1, 1000) },
  { key: 'wal', flag: 'wal', env: 'SABCACHE_WAL', unit: 'on/off', default: () => 'off', help: 'log every change to a write-ahead log in --data-dir, replayed after a crash', parse: onOff, boolean: true },
  { key: 'recoverPastGaps', flag: 'recover-past-gaps', env: 'SABCACHE_RECOVER_PAST_GAPS', unit: 'on/off', default: () => 'off', help: 'start even if WAL records are missing after the snapshot (logged, counted); off: such a start fails', parse: onOff, boolean: true },
  { key: 'fsync', flag: 'fsync', env: 'SABCACHE_FSYNC', unit: 'policy', default: () => 'everysec', help: 'when WAL records reach the disk: always (answers wait), everysec, no', parse: fsyncPolicy },
  { key: 'protectedMode', flag: 'protected-mode', env: 'SABCACHE_PROTECTED_MODE', unit: 'yes/no', default: () => 'yes', help: 'serve only loopback clients while no credentials are configured (no: serve everyone; only on a network you trust)', parse: yesNo },
  { key: 'tlsCertFile', flag: 'tls-cert-file', env: 'SABCACHE_TLS_CERT_FILE', unit: 'path', default: () => '', help: 'certificate chain (PEM) for TLS on every port, with --tls-key-file (none: plaintext)', parse: readableFile },
  { key: 'tlsKeyFile', flag: 'tls-key-file', env: 'SABCACHE_TLS_KEY_FILE', unit: 'path', default: () => '', help: 'private key (PEM) of --tls-cert-file', parse: readableFile },
  { key: 'usersFile', flag: 'users-file', env: 'SABCACHE_USERS_FILE', unit: 'path', default: () => '', help: 'users (JSON: name, password hash, role, keys); every client must then authenticate', parse: readableFile },
  { key: 'tokenSecret', flag: 'token-secret', env: 'SABCACHE_TOKEN_SECRET', unit: 'secret', default: () => '', help: 'HS256 secret of signed tokens (at least 32 bytes; prefer the environment variable: flags show in ps)', parse: tokenSecret },
  { key: 'rateLimit', flag: 'rate-limit', env: 'SABCACHE_RATE_LIMIT', unit: 'requests/s', default: () => '0', help: 'requests per second per client (credential, or address when anonymous), every thread and protocol together; 0 = off', parse: count(0, MAX_RATE) },
  { key: 'rateLimitBurst', flag: 'rate-limit-burst', env: 'SABCACHE_RATE_LIMIT_BURST', unit: 'requests', default: () => 'rate-limit', help: 'requests a client may send at once after being idle', parse: count(1, 100_000_000) },
  { key: 'rateLimitGlobal', flag: 'rate-limit-global', env: 'SABCACHE_RATE_LIMIT_GLOBAL', unit: 'requests/s', default: () => '0', help: 'requests per second of all clients together; 0 = off', parse: count(0, MAX_RATE) },
  { key: 'rateLimitGlobalBurst', flag: 'rate-limit-global-burst', env: 'SABCACHE_RATE_LIMIT_GLOBAL_BURST', unit: 'requests', default: () => 'rate-limit-global', help: 'requests all clients together may send at once', parse: count(1, 1_000_000_000) },
  { key: 'maxConnections', flag: 'max-connections', env: 'SABCACHE_MAX_CONNECTIONS', unit: 'connections', default: () => '10000', help: 'connections open at once on the RESP port and WebSockets, all threads (Redis maxclients); 0 = no limit', parse: count(0, 10_000_000) },
  { key: 'maxConnectionsPerAddress', flag: 'max-connections-per-address', env: 'SABCACHE_MAX_CONNECTIONS_PER_ADDRESS', unit: 'connections', default: () => '0', help: 'connections open at once from one client address; 0 = no limit', parse: count(0, 10_000_000) },
  { key: 'slowlogThresholdUs', flag: 'slowlog-threshold', env: 'SABCACHE_SLOWLOG_THRESHOLD', unit: 'µs', default: () => '10000', help: 'operations at least this slow go to the slow log (SLOWLOG, /v1/admin/slowlog); 0 = all, -1 = none (--slowlog-threshold=-1)', parse: microsecondsOrOff },
  { key: 'slowlogMaxLen', flag: 'slowlog-max-len', env: 'SABCACHE_SLOWLOG_MAX_LEN', unit: 'entries', default: () => '128', help: 'slow log entries kept (512 bytes each per server thread)', parse: count(1, 10_000) },
  { key: 'logLevel', flag: 'log-level', env: 'SABCACHE_LOG_LEVEL', unit: 'level', default: () => 'info', help: 'least severe log level written: fatal, error, warn, info, debug, trace, silent', parse: oneOf(...LOG_LEVELS) },
  { key: 'logFormat', flag: 'log-format', env: 'SABCACHE_LOG_FORMAT', unit: 'format', default: () => 'json', help: 'json (a JSON object a line) or pretty (for a terminal)', parse: oneOf('json', 'pretty') },
  { key: 'logFile', flag: 'log-file', env: 'SABCACHE_LOG_FILE', unit: 'path', default: () => '', help: 'write the log to this file, rotated (none: standard output)', parse: directory },
  { key: 'logRotateSizeBytes', flag: 'log-rotate-size', env: 'SABCACHE_LOG_ROTATE_SIZE', unit: 'bytes (kb/mb/gb)', default: () => '100mb', help: 'rotate the log file at this size (0: not by size)', parse: (name, text) => (text === '0' ? 0 : bytesIn(1024, 1024 ** 4)(name, text)) },
  { key: 'logRotateInterval', flag: 'log-rotate-interval', env: 'SABCACHE_LOG_ROTATE_INTERVAL', unit: 'interval', default: () => 'daily', help: 'rotate the log file daily, hourly or never', parse: oneOf('daily', 'hourly', 'never') },
  { key: 'logRotateKeep', flag: 'log-rotate-keep', env: 'SABCACHE_LOG_ROTATE_KEEP', unit: 'files', default: () => '7', help: 'rotated log files kept besides the current one', parse: count(1, 10_000) },
  { key: 'allowedOrigins', flag: 'allowed-origins', env: 'SABCACHE_ALLOWED_ORIGINS', unit: 'origins', default: () => '', help: 'browser Origins allowed to use the data port (CORS, WebSocket), comma-separated, or * (none by default)', parse: origins },
];

/**
 * `SABCACHE_*` variables read elsewhere that a server start leaves alone: the CLI's
 * (`SABCACHE_URL`, `SABCACHE_NODES`, `SABCACHE_ADMIN_URL`, `SABCACHE_USER`, `SABCACHE_PASSWORD`, `SABCACHE_TOKEN`), the fault-injection switch of the tests and the
 * benchmarks' key count. Any other `SABCACHE_*` variable is refused as a likely misspelling.
 */
const OTHER_VARIABLES = ['SABCACHE_URL', 'SABCACHE_NODES', 'SABCACHE_ADMIN_URL', 'SABCACHE_USER', 'SABCACHE_PASSWORD', 'SABCACHE_TOKEN', 'SABCACHE_FAULT_INJECTION', 'SABCACHE_BENCH_KEYS'];

/** Where an option's value came from (`--print-config`). */
export interface ConfigSource {
  /** `flag`, `env` (its variable), `file` (the config file), or `default`. */
  from: 'flag' | 'env' | 'file' | 'default';
  /** The flag, the variable's name, `FILE:LINE`, or "" for a default. */
  where: string;
  /** The value's text as given (a default's as `--help` shows it; a secret as "(set)"). */
  text: string;
}

/** The result of reading the command line: run with a config, print it, or print help. */
export type ConfigResult = { help: true } | { help: false; printConfig: boolean; config: ServerConfig; sources: Record<string, ConfigSource> };

/** Options whose default depends on another one: derived after the rest. */
const DERIVED = new Set<keyof ServerConfig>(['wsMaxMessageBytes', 'maxResponseBytes', 'rateLimitBurst', 'rateLimitGlobalBurst']);
/** Options whose value `--print-config` does not show. */
const SECRET = new Set<keyof ServerConfig>(['tokenSecret']);

/**
 * Reads flags (`argv`, without node and script), the environment, and the config file
 * (`--config FILE` or `SABCACHE_CONFIG`; config-file.ts), in that order of precedence:
 * a flag wins over its variable, which wins over the file, which wins over the default.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming the flag, variable or
 *   `FILE:LINE`, for an unknown flag (with the nearest known one), an unknown `SABCACHE_*`
 *   variable, an unknown or malformed config file entry, or a bad value.
 */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ConfigResult {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries([['help', { type: 'boolean', short: 'h' }], ['config', { type: 'string' }], ['print-config', { type: 'boolean' }], ...OPTIONS.map((o) => [o.flag, { type: o.boolean ? 'boolean' : 'string' }])]),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    const unknown = /Unknown option '(--?[^']+)'/.exec((e as Error).message);
    if (unknown) throw new BadOptionError(unknown[1], `unknown flag; did you mean --${nearestName(unknown[1].replace(/^-+/, ''), ['help', 'config', 'print-config', ...OPTIONS.map((o) => o.flag)])}? (see --help)`);
    throw new BadOptionError('command line', `${(e as Error).message} (see --help)`);
  }
  if (values.help) return { help: true };
  const knownVariables = [...OPTIONS.map((o) => o.env), 'SABCACHE_CONFIG', ...OTHER_VARIABLES];
  for (const name of Object.keys(env)) {
    if (name.startsWith('SABCACHE_') && !knownVariables.includes(name)) {
      throw new BadOptionError(name, `unknown environment variable; did you mean ${nearestName(name, knownVariables)}?`);
    }
  }
  const configPath = typeof values.config === 'string' ? values.config : env.SABCACHE_CONFIG;
  const file = configPath ? readConfigFile(configPath, OPTIONS.map((o) => o.flag)) : new Map<string, ConfigEntry>();
  const config: Record<string, string | number | boolean> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const o of OPTIONS) {
    const fromFlag = o.boolean && values[o.flag] === true ? 'on' : values[o.flag];
    const entry = file.get(o.flag);
    const source: ConfigSource = typeof fromFlag === 'string' ? { from: 'flag', where: `--${o.flag}`, text: fromFlag }
      : env[o.env] !== undefined ? { from: 'env', where: o.env, text: env[o.env]! }
      : entry !== undefined ? { from: 'file', where: entry.where, text: entry.text }
      : { from: 'default', where: '', text: o.default() };
    sources[o.flag] = SECRET.has(o.key) && source.text !== '' ? { ...source, text: '(set; not shown)' } : source;
    if (source.from === 'default' && DERIVED.has(o.key)) continue;
    config[o.key] = o.parse(source.from === 'default' ? `--${o.flag}` : source.from === 'file' ? `${source.where}: ${o.flag}` : source.where, source.text);
  }
  config.wsMaxMessageBytes ??= (config.maxValueBytes as number) + 64 * 1024;
  config.maxResponseBytes ??= (config.maxValueBytes as number) + 4 * 1024 * 1024;
  config.rateLimitBurst ??= Math.max(1, config.rateLimit as number);
  config.rateLimitGlobalBurst ??= Math.max(1, config.rateLimitGlobal as number);
  checkRate(config.rateLimit as number, config.rateLimitBurst as number, ['--rate-limit', '--rate-limit-burst']);
  checkRate(config.rateLimitGlobal as number, config.rateLimitGlobalBurst as number, ['--rate-limit-global', '--rate-limit-global-burst']);
  if ((config.maxResponseBytes as number) < (config.maxValueBytes as number) + 1024) {
    throw new BadOptionError('--max-response-bytes', `must be at least --max-value-bytes + 1024 (${(config.maxValueBytes as number) + 1024}), so that one value can be served`);
  }
  (config as Record<string, unknown>).allowedOrigins = String(config.allowedOrigins).split(',').map((x) => x.trim()).filter(Boolean);
  if (config.wal && !config.dataDir) throw new BadOptionError('--wal', 'needs --data-dir (where the log is written)');
  // The users file is read now, so that a malformed one stops the start with its reason.
  if (config.usersFile) loadUsersFile(String(config.usersFile));
  if (config.logFormat === 'pretty' && config.logFile) throw new BadOptionError('--log-format', 'pretty is for a terminal: a --log-file gets JSON lines');
  if (!config.tlsCertFile !== !config.tlsKeyFile) throw new BadOptionError(config.tlsCertFile ? '--tls-key-file' : '--tls-cert-file', 'TLS needs both --tls-cert-file and --tls-key-file');
  return { help: false, printConfig: values['print-config'] === true, config: config as unknown as ServerConfig, sources };
}

/**
 * `--print-config`: the effective configuration as a config file (config-file.ts) that
 * gives the same server, each line with where its value came from.
 */
export function printConfigText(sources: Record<string, ConfigSource>): string {
  const width = Math.max(...OPTIONS.map((o) => o.flag.length));
  const lines = OPTIONS.map((o) => {
    const s = sources[o.flag];
    const from = s.from === 'default' ? 'default' : s.from === 'flag' ? `flag ${s.where}` : s.from === 'env' ? `environment ${s.where}` : `file ${s.where}`;
    // A derived default ("max-value-bytes + 4mb") is a comment: it is not a value.
    const derived = s.from === 'default' && DERIVED.has(o.key);
    const value = o.boolean ? (/^(1|true|on|yes)$/i.test(s.text) ? 'yes' : 'no') : configValueText(s.text);
    // A secret is never printed: its line says only that it is set.
    const hidden = derived || (SECRET.has(o.key) && s.text !== '');
    return `${hidden ? '# ' : ''}${o.flag.padEnd(width)} ${hidden ? s.text : value}  # ${from}`;
  });
  return ['# sabcache --print-config: the effective configuration, and where each value came from', ...lines].join('\n');
}

/** The `--help` text: every option with its environment variable, unit and default. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => `  --${o.flag.padEnd(16)} ${o.env.padEnd(25)} ${o.help}\n${' '.repeat(46)}unit: ${o.unit}; default: ${o.default()}`);
  return [
    'sabcache: a shared-memory cache server (HTTP on uWebSockets.js, one worker thread per core)',
    '',
    'usage: sabcache [options]',
    '',
    '  flag               environment variable      meaning',
    ...rows,
    '  --config FILE     SABCACHE_CONFIG           read options from FILE (redis.conf style: "name value" a line, the flags\' names);',
    '                                              flags win over variables, variables over the file, the file over defaults',
    '  --print-config                               print the effective configuration and where each value came from, then exit',
    '  --help, -h                                   print this help',
    '  --hash-password                              read a password on standard input, print its hash for --users-file',
    '',
    'Data port:  /v1/kv/{key} (GET HEAD PUT PATCH DELETE; POST …/incr|decr|expire|persist),',
    '            POST /v1/mget, POST /v1/mset, GET /v1/keys, WebSocket /v1/ws (docs/)',
    'Admin port: GET /healthz, GET /readyz, GET /metrics, GET /v1/stats, GET|DELETE /v1/admin/slowlog,',
    '            POST /v1/admin/flush, POST /v1/admin/snapshot',
  ].join('\n');
}
