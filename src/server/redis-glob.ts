/**
 * Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE): `*` any bytes, `?` one
 * byte, `[abc]` / `[^a-z]` a class, `\x` the byte x. Matched against latin1 text, so a byte
 * is one character and any key bytes match as Redis's `stringmatchlen` does.
 *
 * @module
 */

/** A glob as a RegExp over the latin1 text of the bytes it is tested on. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') re += '[\\s\\S]*';
    else if (ch === '?') re += '[\\s\\S]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < glob.length) re += `\\x${glob.charCodeAt(++i).toString(16).padStart(2, '0')}`;
    else re += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  return new RegExp(`^${re}$`);
}

/** The literal prefix of a glob (up to its first special character): what a scan can narrow by. */
export function globPrefix(glob: string): string {
  const m = /^[^*?[\\]*/.exec(glob);
  return m ? m[0] : '';
}
