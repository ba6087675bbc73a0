import { createUser, fromSeed } from '@nats-io/nkeys';

/** A NATS user's key pair as text: the public key goes into the server's config, the seed to the client. */
export interface NatsUserKey {
  readonly publicKey: string;
  /** `SU…`: whoever holds it connects as this user; keep it in a Secret. */
  readonly seed: string;
}

/** A new random user key pair (ed25519). */
export function createNatsUserKey(): NatsUserKey {
  const pair = createUser();
  return { publicKey: pair.getPublicKey(), seed: new TextDecoder().decode(pair.getSeed()) };
}

/** The public key of a user seed; throws a clear error for anything that is not one. */
export function publicKeyOfSeed(seed: string): string {
  const text = seed.trim();
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new Error('not an nkey user seed (SU…, 58 characters)');
  return fromSeed(new TextEncoder().encode(text)).getPublicKey();
}
