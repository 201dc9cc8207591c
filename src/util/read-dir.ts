import { readdirSync } from 'node:fs';

/**
 * The names in directory `dir`, or none when it does not exist (a data directory not yet
 * created). @throws the file system's other errors (`EACCES`, `ENOTDIR`), as Node raises them.
 */
export function readDirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
