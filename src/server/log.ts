/**
 * The server's log, through pino: JSON lines by default (`--log-format json`), or
 * pino-pretty's lines for a terminal (`--log-format pretty`); to standard output, or to a
 * file pino-roll rotates by size and time (`--log-file`, `--log-rotate-size`,
 * `--log-rotate-interval`, `--log-rotate-keep`). `--log-level` (fatal, error, warn, info,
 * debug, trace, silent) filters at the source.
 *
 * One sink, in the main thread: the main thread's own lines go to it, and so do the server
 * workers' lines, which each worker sends as a message ({@link workerLogger}): posting a
 * message never blocks the worker's event loop, whatever the sink does. With a log file the
 * sink is pino's transport (a thread of its own writing the file); on standard output it
 * writes as the main thread goes (the main thread serves only the admin port and the
 * maintenance).
 *
 * Each thread's logger is its module's {@link log} (until configured: JSON at info on
 * standard output, for tests and in-process use).
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { MessagePort } from 'node:worker_threads';
import { pino, type Logger } from 'pino';

export type { Logger };

/** The log levels, most severe first (pino's, as `--log-level` takes them). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where and how the log is written (config.ts reads it from the flags). */
export interface LogOptions {
  /** Least severe level written. @default "info" */
  level: LogLevel;
  /** JSON lines, or pino-pretty's lines for a terminal. @default "json" */
  format: 'json' | 'pretty';
  /** A file pino-roll writes and rotates; "" for standard output. @default "" */
  file: string;
  /** Rotate the file at this size, in bytes; 0: not by size. @default 100 MiB */
  rotateSizeBytes: number;
  /** Rotate the file every day, every hour, or not by time. @default "daily" */
  rotateInterval: 'daily' | 'hourly' | 'never';
  /** Rotated files kept besides the current one. @default 7 */
  rotateKeep: number;
}

/** A line sink: the main thread's destination, which worker lines are written to as they are. */
interface Sink {
  write(line: string): unknown;
  flushSync?(): void;
  end?(): void;
}

let sink: Sink | null = null;

/** This thread's logger (see the module comment). */
export let log: Logger = pino({ name: 'sabcache' });

/** The message a worker posts for each log line (see {@link workerLogger}). */
export interface LogLineMessage {
  type: 'log';
  line: string;
}

/** Whether `m` is a worker's {@link LogLineMessage}. */
export function isLogLine(m: unknown): m is LogLineMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'log' && typeof (m as { line?: unknown }).line === 'string';
}

/**
 * Sets up the main thread's log as `options` say, and returns it (also {@link log}).
 * pino-roll creates the file's directory; an unwritable one fails at its first write,
 * reported on standard error by pino's transport.
 */
export function configureMainLog(options: LogOptions): Logger {
  let destination: Sink;
  if (options.file !== '') {
    destination = pino.transport({
      target: 'pino-roll',
      options: {
        file: options.file,
        mkdir: true,
        ...(options.rotateSizeBytes > 0 ? { size: `${Math.max(1, Math.round(options.rotateSizeBytes / 1024))}k` } : {}),
        ...(options.rotateInterval !== 'never' ? { frequency: options.rotateInterval } : {}),
        limit: { count: options.rotateKeep },
      },
    }) as Sink;
  } else if (options.format === 'pretty') {
    destination = prettyStream();
  } else {
    destination = pino.destination({ dest: 1, sync: true });
  }
  sink = destination;
  log = pino({ name: 'sabcache', level: options.level }, destination as pino.DestinationStream);
  return log;
}

/** pino-pretty as a stream in this thread (it writes to standard output synchronously). */
function prettyStream(): Sink {
  // Loaded only when asked for: the JSON default needs none of it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => Sink;
  return pretty({ sync: true, colorize: process.stdout.isTTY === true, ignore: 'pid,hostname' });
}

/** Writes a line a worker sent (a JSON line pino made there) to the main thread's sink. */
export function writeWorkerLine(line: string): void {
  if (sink !== null) sink.write(line);
  else process.stdout.write(line);
}

/** Flushes and closes the sink (at the end of the process). */
export function closeLog(): Promise<void> {
  const s = sink;
  sink = null;
  if (s === null) return Promise.resolve();
  s.flushSync?.();
  if (s.end === undefined || s === (process.stdout as unknown)) return Promise.resolve();
  return new Promise((resolve) => {
    (s as unknown as NodeJS.WritableStream).once?.('close', () => resolve());
    s.end!();
    setTimeout(resolve, 2000).unref();
  });
}

/** Makes `logger` this thread's {@link log} again (tests that swapped it). */
export function restoreLog(logger: Logger): void {
  log = logger;
}

/**
 * A server worker's logger: lines made here at `level`, posted to the main thread as
 * {@link LogLineMessage}s (never blocking this thread), tagged with the worker's index.
 * Becomes this thread's {@link log}.
 */
export function workerLogger(port: MessagePort | { postMessage(m: unknown): void }, level: LogLevel, worker: number): Logger {
  const destination = { write: (line: string) => port.postMessage({ type: 'log', line } satisfies LogLineMessage) };
  log = pino({ name: 'sabcache', level }, destination).child({ worker });
  return log;
}
