/**
 * The command layer's handle on one thread's table (docs/design.md §7 "The command layer").
 * Every front end (the in-process SharedCache, the HTTP, WebSocket and admin routes) holds
 * one per thread and passes it to the command functions of this folder; none reads the
 * table behind it.
 *
 * @module
 */
import { EntryResult } from '../table/entry-result.ts';
import type { Table } from '../table/table.ts';

/** One thread's command context. Not thread-safe itself (one per thread). */
export class CommandContext {
  /** Scratch for parsed versions ([epoch, counter]). */
  readonly versionScratch = new Int32Array(2);
  /** The entry result of commands whose caller passes none. */
  readonly found = new EntryResult();

  /** @param table this thread's table (internal to the command layer). */
  constructor(readonly table: Table) {}

  /** Largest key accepted, in UTF-8 bytes. */
  get maxKeyBytes(): number {
    return this.table.v.maxKeyBytes;
  }

  /** Largest value accepted, in bytes. */
  get maxValueBytes(): number {
    return this.table.v.maxValueBytes;
  }

  /** Time source for TTL deadlines, milliseconds since the epoch (the `now` option). */
  get now(): () => number {
    return this.table.now;
  }
}
