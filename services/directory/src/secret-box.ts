import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// AES-256-GCM for small secrets at rest. A record names the key that sealed it by a fingerprint
// (never the key), so a new key can be introduced while records sealed with an older one are
// still opened and then resealed. The record's own name is bound in as associated data, so a
// sealed value copied into another record does not open.

const ALGORITHM = 'aes-256-gcm';
/** 96 bits, the IV size GCM is specified for; random per record. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Base64 fields, as stored in MongoDB. */
export interface SealedSecret {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/** A 32-byte key written as 64 hex digits or as base64 (standard or URL-safe); undefined if malformed. */
export function decodeSecretKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export class SecretBox {
  /** Fingerprint of the key new records are sealed with. */
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  /** `previous` keys only open records sealed before the current key was introduced. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new SecretBoxError(`an AES-256 key has 32 bytes, not ${key.length}`);
    }
    this.keyId = keyIdOf(current);
    this.keys = new Map([...previous, current].map((key) => [keyIdOf(key), key]));
  }

  seal(plaintext: string, context: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys.get(this.keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.keyId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  /** Throws SecretBoxError when the key is unknown or the record was altered or sealed for another context. */
  open(sealed: SealedSecret, context: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key)
      throw new SecretBoxError(`sealed with key ${sealed.keyId}, which is neither the current nor a previous key`);
    try {
      const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(sealed.iv, 'base64'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretBoxError(`cannot open the secret of ${context}: altered, or sealed with another key`, {
        cause: error,
      });
    }
  }
}
