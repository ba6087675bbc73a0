import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import {
  addPublicKey,
  generateSigningKey,
  parsePublicKeys,
  publicKeyOf,
  removePublicKey,
  type PublicKeySet,
} from '@switchboard/tokens';

export interface KeysCommandIo {
  write(text: string): void;
  now(): Date;
}

const processIo: KeysCommandIo = { write: (text) => void process.stdout.write(text), now: () => new Date() };

export const SIGNING_KEY_FILE = 'signing-key.json';
export const PUBLIC_KEYS_FILE = 'public-keys.json';

async function readKeySet(file: string): Promise<PublicKeySet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file} cannot be read: ${(error as Error).message}`);
  }
  return parsePublicKeys(text, file);
}

/** Written beside and renamed over, so a reader never sees half a key set. */
async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await chmod(temporary, mode);
  await rename(temporary, file);
}

/**
 * `sb keys generate` makes the token signing key pair (ES256); `sb keys retire` takes a key out of
 * the services' key set at the end of a rotation.
 */
export function registerKeysCommands(program: Command, io: KeysCommandIo = processIo): void {
  const keys = program.command('keys').description('the key pair tokens are signed with');
  keys
    .command('generate')
    .description(
      `write a new signing key (${SIGNING_KEY_FILE}, private) and the services' key set (${PUBLIC_KEYS_FILE})`,
    )
    .requiredOption('--out <dir>', 'directory to write both files to')
    .option('--merge <jwks>', 'an existing key set whose keys stay valid (rotation: the old key keeps verifying)')
    .action(async (options: { out: string; merge?: string }) => {
      const existing = options.merge === undefined ? undefined : await readKeySet(options.merge);
      const signingKey = generateSigningKey(io.now());
      const publicKeys = addPublicKey(existing, publicKeyOf(signingKey));
      const keyFile = path.join(options.out, SIGNING_KEY_FILE);
      const setFile = path.join(options.out, PUBLIC_KEYS_FILE);
      try {
        // wx: a signing key in use is never overwritten by accident.
        await writeFile(keyFile, `${JSON.stringify(signingKey, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new Error(
            `${keyFile} exists: move it away or choose another --out (a key in use is never overwritten)`,
          );
        }
        throw error;
      }
      await writeAtomically(setFile, `${JSON.stringify(publicKeys, null, 2)}\n`, 0o644);
      io.write(
        [
          `new key ${signingKey.kid}`,
          `  ${keyFile}: the private key (AUTH_SIGNING_KEY_FILE of the issuer only: sb token, never a service)`,
          `  ${setFile}: the services' AUTH_PUBLIC_KEYS (${publicKeys.keys.map((key) => key.kid).join(', ')})`,
          '',
        ].join('\n'),
      );
    });
  keys
    .command('retire')
    .description('remove a key from a key set, once no token signed with it is in use')
    .requiredOption('--jwks <file>', 'the key set (rewritten in place)')
    .requiredOption('--kid <kid>', 'the key to remove')
    .action(async (options: { jwks: string; kid: string }) => {
      const publicKeys = removePublicKey(await readKeySet(options.jwks), options.kid);
      await writeAtomically(options.jwks, `${JSON.stringify(publicKeys, null, 2)}\n`, 0o644);
      io.write(`${options.jwks}: ${publicKeys.keys.map((key) => key.kid).join(', ')}\n`);
    });
}
