import { ratingService } from '@switchboard/rating/service';
import { runService, type RunningService } from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, testTokens } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgram } from '../program.js';

const TOKENS = testTokens();
let nats: NatsServer;
let mongo: MongoServer;
let rating: RunningService;
const savedEnv = { ...process.env };

async function sb(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await createProgram()
      .exitOverride()
      .parseAsync(['node', 'sb', ...args]);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

beforeAll(async () => {
  nats = await startNats();
  mongo = await startMongo();
  rating = await runService(ratingService, {
    env: {
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...nats.env('rating'),
      MONGO_URL: mongo.url,
      MONGO_DB: 'cli',
      ...TOKENS.env,
    },
    handleSignals: false,
  });
  process.env['SB_RATING_ADDR'] = `127.0.0.1:${rating.grpcPort}`;
  process.env['AUTH_SIGNING_KEY'] = TOKENS.issuerEnv.AUTH_SIGNING_KEY;
  delete process.env['SB_TOKEN'];
});

afterAll(async () => {
  process.env = savedEnv;
  await rating?.shutdown('test over');
  await mongo?.stop();
  await nats?.stop();
});

describe('sb usage and sb rerate against the rating service', () => {
  it('prints the usage of a month, as text and as JSON', async () => {
    const text = await sb('usage', '--tenant', 't-cli', '--month', '2026-03');
    expect(text).toContain('t-cli 2026-03 (rating version 1, 0 voice package(s))');
    expect(text).toMatch(/de-fixed\s+0\.0\s+0\.0/);
    const json = JSON.parse(await sb('usage', '--tenant', 't-cli', '--month', '2026-03', '--json'));
    expect(json).toMatchObject({ tenantId: 't-cli', month: '2026-03', ratingVersion: 1 });
    expect(json.pools.map((pool: { pool: string }) => pool.pool)).toEqual(['de-fixed', 'de-mobile']);
  });

  it('rerates a month into a new rating version', async () => {
    expect(await sb('rerate', '--tenant', 't-cli', '--month', '2026-03')).toBe(
      't-cli 2026-03: rating version 1 → 2, 0 legs rerated\n',
    );
    expect(JSON.parse(await sb('usage', '--tenant', 't-cli', '--month', '2026-03', '--json')).ratingVersion).toBe(2);
  });

  it('reports a bad month with the field error from the service', async () => {
    await expect(sb('usage', '--tenant', 't-cli', '--month', 'March')).rejects.toThrow(
      'rating getUsage: month: must be YYYY-MM, got "March"',
    );
  });
});
