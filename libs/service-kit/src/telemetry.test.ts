import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startMongo, startOtlpReceiver, type MongoServer, type OtlpReceiver } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTRUMENT = fileURLToPath(new URL('./instrument.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./telemetry.fixture.ts', import.meta.url));

let mongo: MongoServer;
let collector: OtlpReceiver;

beforeAll(async () => {
  mongo = await startMongo();
  collector = await startOtlpReceiver();
});

afterAll(async () => {
  await collector?.stop();
  await mongo?.stop();
});

describe('telemetry', () => {
  it('exports grpc-js and mongodb spans over OTLP with the service name', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', INSTRUMENT, FIXTURE], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'telemetry-fixture',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        MONGO_URL: mongo.url,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);

    const names = collector.spans.filter((span) => span.serviceName === 'telemetry-fixture').map((span) => span.name);
    // Client and server span of one gRPC call, and a mongodb span inside the fixture's own span.
    expect(names.filter((name) => name === 'grpc.switchboard.callcontrol.v1.CallControlService/Answer')).toHaveLength(
      2,
    );
    const insert = collector.spans.find((span) => span.name === 'insert pings');
    expect(insert?.parentSpanId).toBe(collector.spans.find((span) => span.name === 'handle message')?.spanId);
  });
});
