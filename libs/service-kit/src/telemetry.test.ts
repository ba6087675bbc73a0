import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTRUMENT = fileURLToPath(new URL('./instrument.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./telemetry.fixture.ts', import.meta.url));

let mongo: MongoServer;
let collector: Server;
const exports: Buffer[] = [];

beforeAll(async () => {
  mongo = await startMongo();
  // A stand-in OTLP/HTTP collector: it keeps what it is sent and answers 200.
  collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') exports.push(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  collector?.close();
  await mongo?.stop();
});

describe('telemetry', () => {
  it('exports grpc-js and mongodb spans over OTLP with the service name', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', INSTRUMENT, FIXTURE], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'telemetry-fixture',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        MONGO_URL: mongo.url,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);

    // OTLP protobuf keeps strings as UTF-8, so names can be found in the raw bodies.
    const body = Buffer.concat(exports).toString('latin1');
    expect(body).toContain('telemetry-fixture');
    expect(body).toContain('switchboard.callcontrol.v1.CallControlService/Answer');
    expect(body).toContain('@opentelemetry/instrumentation-mongodb');
    expect(body).toContain('insert pings');
  });
});
