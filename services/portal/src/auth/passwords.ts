import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt as OWASP's Password Storage Cheat Sheet lists it (N = 2^15, r = 8, p = 3: 32 MiB and
 * about as much work as its first choice N = 2^17, p = 1, at a quarter of the memory per sign-in),
 * a 16-byte random salt per hash, a 32-byte key. Stored as `scrypt$N$r$p$salt$key` (base64), so
 * hashes made with other parameters keep verifying.
 */
export const SCRYPT_PARAMETERS = { N: 2 ** 15, r: 8, p: 3 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const HASH_FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/;

function derive(password: string, salt: Buffer, { N, r, p }: { N: number; r: number; p: number }, bytes: number) {
  // Node's default maxmem (32 MiB) is exactly 128·N·r; scrypt needs a little more than that.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, bytes, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** A new hash of `password` with a fresh salt (off the event loop: scrypt runs on libuv's pool). */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('a password must not be empty');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_PARAMETERS, KEY_BYTES);
  const { N, r, p } = SCRYPT_PARAMETERS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Why a stored hash cannot be used, or undefined when it can. */
export function passwordHashProblem(stored: string): string | undefined {
  const match = HASH_FORMAT.exec(stored);
  if (!match) return 'is not a scrypt$N$r$p$salt$key hash (make one with `node services/portal/dist/hash-password.js`)';
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 ** 14 || N > 2 ** 20 || (N & (N - 1)) !== 0)
    return `has N = ${N}; it must be a power of two from 2^14 to 2^20`;
  if (r < 8 || r > 32 || p < 1 || p > 16) return `has r = ${r}, p = ${p}; r must be 8–32 and p 1–16`;
  return undefined;
}

/** Compares in constant time; a malformed hash is an error, not a mismatch. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const problem = passwordHashProblem(stored);
  if (problem) throw new Error(`password hash ${problem}`);
  const [, N, r, p, salt, key] = HASH_FORMAT.exec(stored)!;
  const expected = Buffer.from(key!, 'base64');
  const actual = await derive(password, Buffer.from(salt!, 'base64'), { N: +N!, r: +r!, p: +p! }, expected.length);
  return timingSafeEqual(actual, expected);
}

/**
 * A hash no password matches, verified when an account does not exist, so a wrong username takes
 * as long as a wrong password and does not reveal which accounts exist.
 */
export const UNUSABLE_HASH = `scrypt$${SCRYPT_PARAMETERS.N}$${SCRYPT_PARAMETERS.r}$${SCRYPT_PARAMETERS.p}$${randomBytes(SALT_BYTES).toString('base64')}$${randomBytes(KEY_BYTES).toString('base64')}`;
