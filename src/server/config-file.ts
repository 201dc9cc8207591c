/**
 * The config file (`sabcache --config FILE`): Redis's `redis.conf` format with the flags'
 * names. One entry a line, `name value`; `#` starts a comment (a line, or after a value and
 * a space); blank lines are skipped; a value with spaces, quotes or `#` is written in double
 * quotes (`\"` and `\\` inside); a flag without a value (`wal`) takes yes/no, on/off,
 * true/false. Each name at most once.
 *
 * ```
 * # /etc/sabcache/sabcache.conf
 * port 7070
 * memory 2gb
 * data-dir /var/lib/sabcache
 * wal yes
 * ```
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { BadOptionError } from '../errors.ts';
import { nearestName } from '../util/known-options.ts';

/** One entry of a config file: its value's text and where it was. */
export interface ConfigEntry {
  text: string;
  /** `FILE:LINE`, for errors and `--print-config`. */
  where: string;
}

/** Whether `rest` (what follows a value) is nothing, or spaces then a `#` comment. */
function onlyComment(rest: string): boolean {
  return rest === '' || /^\s+#/.test(rest) || /^\s*$/.test(rest);
}

/** A line's value: one bare word, or one double-quoted string, then maybe a comment; null when malformed. */
function valueOf(rest: string): string | null {
  if (!rest.startsWith('"')) {
    const word = /^\S+/.exec(rest)![0];
    return onlyComment(rest.slice(word.length)) ? word : null;
  }
  let out = '';
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      const n = rest[++i];
      if (n !== '"' && n !== '\\') return null;
      out += n;
    } else if (c === '"') {
      return onlyComment(rest.slice(i + 1)) ? out : null;
    } else {
      out += c;
    }
  }
  return null; // no closing quote
}

/**
 * Reads `path`: each entry by its name, for the names in `known`.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) naming `FILE:LINE` for an unreadable
 *   file, a line that is not `name value`, an unknown name (with the nearest known one), or
 *   a name given twice.
 */
export function readConfigFile(path: string, known: readonly string[]): Map<string, ConfigEntry> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadOptionError('--config', `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const entries = new Map<string, ConfigEntry>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${path}:${i + 1}`;
    const m = /^([A-Za-z0-9-]+)(?:\s+(.*))?$/.exec(line);
    if (!m) throw new BadOptionError(where, `expected "name value", got ${JSON.stringify(line.slice(0, 80))}`);
    const name = m[1].toLowerCase();
    if (!known.includes(name)) throw new BadOptionError(where, `unknown name ${JSON.stringify(m[1])}; did you mean ${nearestName(name, known)}?`);
    if (m[2] === undefined) throw new BadOptionError(where, `${name} has no value`);
    const value = valueOf(m[2]);
    if (value === null) throw new BadOptionError(where, `${name}: a value with spaces or quotes must be one "double-quoted" string (\\" and \\\\ inside), got ${JSON.stringify(m[2].slice(0, 80))}`);
    const before = entries.get(name);
    if (before) throw new BadOptionError(where, `${name} is given twice (first at ${before.where})`);
    entries.set(name, { text: value, where });
  }
  return entries;
}

/** `text` as a config file value: bare when it can be, else double-quoted. */
export function configValueText(text: string): string {
  return text !== '' && !/[\s"#\\]/.test(text) ? text : `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
