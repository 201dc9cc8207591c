/**
 * Self-checking values for the stress tests: each carries its key, the writing thread, a
 * counter, padding of varying length and a checksum over all of that, so a torn value
 * (bytes from two writes) or a foreign value (another key's) is detected.
 */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A self-checking value of `key`; `extra` more bytes of padding (large values: spans of segments). */
export function makeValue(key: string, thread: number, counter: number, extra = 0): string {
  const body = `${key}|${thread}|${counter}|${'p'.repeat((counter % 257) + extra)}`;
  return `${body}|${fnv1a(body)}`;
}

/** Why `value` is not a well-formed value of `key`, or '' if it is. */
export function checkValue(key: string, value: string): string {
  const cut = value.lastIndexOf('|');
  if (cut < 0) return 'no checksum';
  const body = value.slice(0, cut);
  if (fnv1a(body) !== value.slice(cut + 1)) return 'torn (checksum)';
  if (body.slice(0, body.indexOf('|')) !== key) return 'foreign (another key)';
  return '';
}
