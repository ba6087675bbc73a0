import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNatsUserKey } from '@switchboard/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, baseConfigSchema, loadConfig, natsConfigSchema, withNatsCredentialRule } from '../config.js';
import { NatsCredentialsError, natsSeedFromConfig } from './connection.js';

const schema = withNatsCredentialRule(baseConfigSchema.extend(natsConfigSchema.shape));
const URL = 'nats://127.0.0.1:4222';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-nats-seed-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(schema, env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('NATS credentials in the configuration', () => {
  it('requires a seed: there is no anonymous connection', () => {
    expect(problemsOf({ NATS_URL: URL })).toEqual([
      'NATS_NKEY_SEED or NATS_NKEY_SEED_FILE: is required but not set (NATS never connects without credentials)',
    ]);
  });

  it('takes one source only, and never shows a bad seed', () => {
    const { seed } = createNatsUserKey();
    expect(problemsOf({ NATS_URL: URL, NATS_NKEY_SEED: seed, NATS_NKEY_SEED_FILE: '/run/secrets/seed' })).toEqual([
      'NATS_NKEY_SEED, NATS_NKEY_SEED_FILE: set one of them, not both',
    ]);
    const [problem] = problemsOf({ NATS_URL: URL, NATS_NKEY_SEED: `${seed.slice(0, -1)}!` });
    expect(problem).toBe(
      'NATS_NKEY_SEED: must be an nkey user seed (SU…, 58 characters) (got a value of 58 characters, not shown)',
    );
  });

  it('reads the seed inline or from a file (a mounted Secret), and names a file it cannot read', async () => {
    const { seed } = createNatsUserKey();
    const file = path.join(dir, 'seed');
    await writeFile(file, `${seed}\n`);
    await expect(natsSeedFromConfig({ NATS_NKEY_SEED: seed })).resolves.toBe(seed);
    await expect(natsSeedFromConfig({ NATS_NKEY_SEED_FILE: file })).resolves.toBe(seed);
    await expect(natsSeedFromConfig({ NATS_NKEY_SEED_FILE: path.join(dir, 'missing') })).rejects.toThrow(
      /cannot read NATS_NKEY_SEED_FILE .*missing/,
    );
    await expect(natsSeedFromConfig({})).rejects.toBeInstanceOf(NatsCredentialsError);
  });
});
