/**
 * What the server's persistence needs of a thread's table, as commands (docs/design.md §6):
 * where its mutations are logged, and the WAL sequence number.
 *
 * @module
 */
import type { WalSink } from '../table/table.ts';
import type { CommandContext } from './context.ts';

export type { WalSink };

/** Logs this thread's mutations to `sink` from now on (null: stop logging). */
export function setWalSink(cx: CommandContext, sink: WalSink | null): void {
  cx.table.walSink = sink;
}

/** The WAL sequence number now: the number of the last logged change (0: none). */
export function walSequence(cx: CommandContext): number {
  return cx.table.walSequence();
}

/** Sets the WAL sequence number (recovery, before any thread writes). */
export function setWalSequence(cx: CommandContext, seq: number): void {
  cx.table.setWalSequence(seq);
}
