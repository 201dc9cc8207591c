/**
 * The messages by which a server worker asks the main thread for a snapshot (Redis SAVE
 * and BGSAVE over RESP) and learns when the last one was written (LASTSAVE). Snapshots are
 * the main thread's (persist/snapshotter.ts); a worker only asks.
 *
 * Worker → main: {@link SaveRequest}. Main → worker: {@link SaveReply} for each request,
 * and {@link LastSaveNotice} after every snapshot written (timer, request, recovery), so
 * LASTSAVE answers at once from the worker's own copy.
 *
 * @module
 */

/**
 * `wait`: write one and answer when it is written (SAVE); `background`: start one unless
 * one is being written (BGSAVE); `schedule`: as background, or once the one being written
 * is done (BGSAVE SCHEDULE).
 */
export type SaveMode = 'wait' | 'background' | 'schedule';

/** A worker's request for a snapshot. */
export interface SaveRequest {
  type: 'save';
  /** Matches the reply to the request (per worker). */
  id: number;
  mode: SaveMode;
}

/**
 * The outcome: `written` (SAVE, done), `started` (BGSAVE), `scheduled` (BGSAVE SCHEDULE
 * while one is being written), `in-progress` (BGSAVE while one is being written),
 * `no-data-dir` (the server has no `--data-dir`), `failed` (`message` says why).
 */
export interface SaveReply {
  type: 'save-done';
  id: number;
  status: 'written' | 'started' | 'scheduled' | 'in-progress' | 'no-data-dir' | 'failed';
  message?: string;
}

/** The time of the last snapshot written (or of the start, before any), unix seconds. */
export interface LastSaveNotice {
  type: 'lastsave';
  unixSeconds: number;
}

/** Whether `m` (a worker's message) is a {@link SaveRequest}. */
export function isSaveRequest(m: unknown): m is SaveRequest {
  const r = m as SaveRequest;
  return typeof m === 'object' && m !== null && r.type === 'save' && Number.isInteger(r.id) && (r.mode === 'wait' || r.mode === 'background' || r.mode === 'schedule');
}

/** How a worker's RESP commands reach the main thread's snapshots. */
export interface SaveRequester {
  /** Sends a {@link SaveRequest}; resolves with its {@link SaveReply}. */
  save(mode: SaveMode): Promise<SaveReply>;
  /** The last {@link LastSaveNotice}'s time, unix seconds. */
  lastSaveSeconds(): number;
}
