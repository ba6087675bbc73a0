import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError, decodeSecretKey } from './secret-box.js';

const key = randomBytes(32);
const box = new SecretBox(key);

describe('SecretBox', () => {
  it('opens what it sealed, with a fresh IV each time', () => {
    const first = box.seal('8a0e3b', 't-kropp/kropp-101');
    const second = box.seal('8a0e3b', 't-kropp/kropp-101');
    expect(box.open(first, 't-kropp/kropp-101')).toBe('8a0e3b');
    expect(first.iv).not.toBe(second.iv);
    expect(Buffer.from(first.iv, 'base64')).toHaveLength(12);
    expect(first.data).not.toContain('8a0e3b');
  });

  it('refuses a tampered record, another record’s context and a record of an unknown key', () => {
    const sealed = box.seal('secret', 'a');
    const flipped = Buffer.from(sealed.data, 'base64');
    flipped[0]! ^= 1;
    expect(() => box.open({ ...sealed, data: flipped.toString('base64') }, 'a')).toThrow(SecretBoxError);
    expect(() => box.open({ ...sealed, tag: Buffer.alloc(16).toString('base64') }, 'a')).toThrow(SecretBoxError);
    expect(() => box.open(sealed, 'b')).toThrow(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'a')).toThrow(/neither the current nor a previous key/);
  });

  it('refuses a record whose key id names another key (wrong key)', () => {
    const other = new SecretBox(randomBytes(32));
    const sealed = box.seal('secret', 'a');
    expect(() => other.open({ ...sealed, keyId: other.keyId }, 'a')).toThrow(/altered, or sealed with another key/);
  });

  it('opens records of a previous key after the key was replaced', () => {
    const sealed = box.seal('secret', 'a');
    const next = new SecretBox(randomBytes(32), [key]);
    expect(next.keyId).not.toBe(box.keyId);
    expect(next.open(sealed, 'a')).toBe('secret');
    expect(next.seal('secret', 'a').keyId).toBe(next.keyId);
  });
});

describe('decodeSecretKey', () => {
  it('takes 32 bytes as hex or base64 and nothing else', () => {
    expect(decodeSecretKey(key.toString('hex'))).toEqual(key);
    expect(decodeSecretKey(key.toString('base64'))).toEqual(key);
    expect(decodeSecretKey(key.toString('base64url'))).toEqual(key);
    expect(decodeSecretKey(key.toString('hex').slice(2))).toBeUndefined();
    expect(decodeSecretKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(decodeSecretKey('')).toBeUndefined();
  });
});
