// `pnpm nats:generate`: writes what the deployments take from the permissions in
// src/permissions.ts, so a changed grant reaches them in one step (tests/deploy checks both are
// current):
//   - charts/switchboard/files/nats-permissions.json: every identity's permissions; the chart
//     pairs them with the public keys from its values (natsAuth.users).
//   - docker/nats/auth.conf: the compose stack's users. DEV ONLY: their seeds are checked in
//     (docker/nats/seeds/<identity>.nk); existing seeds are kept, missing ones made.
// `pnpm nats:generate --keys DIR`: a new key set for a real installation — one seed file per
// identity in DIR (for the Secrets) and the public keys as a values.yaml snippet on stdout.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { NATS_IDENTITIES, createNatsUserKey, natsAuthConfig, natsPermissions, publicKeyOfSeed } from '../src/index.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART_PERMISSIONS = path.join(REPO, 'charts/switchboard/files/nats-permissions.json');
export const COMPOSE_AUTH = path.join(REPO, 'docker/nats/auth.conf');
export const COMPOSE_SEEDS = path.join(REPO, 'docker/nats/seeds');

/** The chart's file: identity → permissions, in nats-server's terms (formatted as the repository's JSON). */
export async function chartPermissions(): Promise<string> {
  const permissions = Object.fromEntries(NATS_IDENTITIES.map((identity) => [identity, natsPermissions(identity)]));
  const options = (await resolveConfig(CHART_PERMISSIONS)) ?? {};
  return format(JSON.stringify(permissions), { ...options, parser: 'json' });
}

async function readSeed(identity: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(COMPOSE_SEEDS, `${identity}.nk`), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** The compose stack's auth.conf from the seeds in docker/nats/seeds (made when missing). */
export async function composeAuth(createMissing: boolean): Promise<string> {
  const users = [];
  for (const identity of NATS_IDENTITIES) {
    let seed = await readSeed(identity);
    if (!seed) {
      if (!createMissing) throw new Error(`docker/nats/seeds/${identity}.nk is missing: run pnpm nats:generate`);
      seed = createNatsUserKey().seed;
      await writeFile(path.join(COMPOSE_SEEDS, `${identity}.nk`), `${seed}\n`);
    }
    users.push({ identity, publicKey: publicKeyOfSeed(seed) });
  }
  return `# DEV ONLY: the seeds of these keys are checked in (docker/nats/seeds).\n${natsAuthConfig(users)}`;
}

async function newKeySet(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lines = ['natsAuth:', '  users:'];
  for (const identity of NATS_IDENTITIES) {
    const key = createNatsUserKey();
    const file = path.join(dir, `${identity}.nk`);
    await writeFile(file, `${key.seed}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    lines.push(`    ${identity}: ${key.publicKey}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stderr.write(
    `Seeds written to ${dir}/<identity>.nk. Per service: kubectl create secret generic <release>-nats-<identity> --from-file=seed=${dir}/<identity>.nk\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const keysAt = process.argv.indexOf('--keys');
  if (keysAt >= 0) {
    const dir = process.argv[keysAt + 1];
    if (!dir) throw new Error('--keys needs a directory for the seed files');
    await newKeySet(dir);
  } else {
    await mkdir(path.dirname(CHART_PERMISSIONS), { recursive: true });
    await mkdir(COMPOSE_SEEDS, { recursive: true });
    await writeFile(CHART_PERMISSIONS, await chartPermissions());
    await writeFile(COMPOSE_AUTH, await composeAuth(true));
    process.stdout.write(`wrote ${path.relative(REPO, CHART_PERMISSIONS)} and ${path.relative(REPO, COMPOSE_AUTH)}\n`);
  }
}
