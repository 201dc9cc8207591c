/**
 * Whether this machine stores a multi-byte word's low byte first (x86, ARM). The shared
 * buffer's words are read through typed arrays in the machine's order; code that moves
 * words between an Int32Array and a little-endian DataView (to skip per-byte loops) may do
 * so only when this holds, and falls back to byte copies otherwise.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
