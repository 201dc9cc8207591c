import { BadOptionError } from '../errors.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };

/**
 * Parses a size such as `"256mb"`, `"64kb"`, `"1gb"`, `"4096"` or a number of bytes.
 * Units are binary (1kb = 1024 bytes), case-insensitive; `kib`/`mib`/`gib` are accepted too.
 *
 * @param option - the option's name, used in the error message.
 * @returns the size in bytes, a non-negative safe integer.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) when the text is not a size.
 */
export function parseBytes(option: string, value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new BadOptionError(option, `expected a whole number of bytes, got ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*$/i.exec(String(value));
  if (!m) throw new BadOptionError(option, `expected a size like 256mb, 64kb or 1048576, got ${JSON.stringify(value)}`);
  const unit = m[2].toLowerCase().replace('i', '');
  const mult = UNITS[unit];
  if (mult === undefined) throw new BadOptionError(option, `unknown unit in ${JSON.stringify(value)}`);
  const bytes = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes)) throw new BadOptionError(option, `size out of range: ${value}`);
  return bytes;
}
