import { createHash, randomBytes } from 'node:crypto';

/** 144 random bits as 24 URL-safe characters: easy to type into a phone, far beyond guessing. */
export function newSipPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * RFC 2617's HA1, MD5 of `username:realm:password` in lowercase hex: what Asterisk's PJSIP auth
 * takes as `md5_cred` (`auth_type = md5`), so Asterisk never needs the clear password.
 */
export function digestHa1(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest('hex');
}
