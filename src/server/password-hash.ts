/**
 * Password hashes for the users file (credentials.ts): scrypt from `node:crypto` with a
 * random 16-byte salt, stored as `scrypt$N$r$p$<salt base64>$<hash base64>` so that the
 * cost can be raised later without breaking stored hashes. Checks compare in constant time.
 *
 * @module
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { BadOptionError } from '../errors.ts';

/** scrypt's CPU/memory cost N of new hashes (RFC 7914; with r and p below, about 50 ms and 16 MiB here). */
export const SCRYPT_N = 16384;
/** scrypt's block size r of new hashes. */
export const SCRYPT_R = 8;
/** scrypt's parallelization p of new hashes. */
export const SCRYPT_P = 1;
const KEY_BYTES = 32;

/** A parsed hash. */
interface ParsedHash {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/**
 * Parses `text` as a stored hash.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`, naming `where`) when it is not one.
 */
export function parsePasswordHash(text: string, where: string): ParsedHash {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(text);
  if (!m) throw new BadOptionError(where, 'expected a password hash scrypt$N$r$p$salt$hash (make one with: sabcache --hash-password)');
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n < 2 || (n & (n - 1)) !== 0 || n > 2 ** 20 || r < 1 || p < 1 || r * p > 64) throw new BadOptionError(where, `scrypt parameters out of range: N ${n} (a power of two up to 2^20), r ${r}, p ${p}`);
  const salt = Buffer.from(m[4], 'base64');
  const hash = Buffer.from(m[5], 'base64');
  if (salt.length < 8 || hash.length < 16) throw new BadOptionError(where, 'salt or hash too short');
  return { n, r, p, salt, hash };
}

/** Hashes `password` for the users file (a new random salt each time). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_BYTES, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `password` matches the parsed hash `h` (scrypt again, compared in constant time). */
export function passwordMatches(password: string, h: ParsedHash): boolean {
  const got = scryptSync(password, h.salt, h.hash.length, { N: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 1024 * 1024 });
  return timingSafeEqual(got, h.hash);
}
