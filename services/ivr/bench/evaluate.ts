// EvaluateStep throughput over NATS request/reply: `pnpm bench:ivr [--seconds 5]
// [--concurrency 32] [--json out.json]`. Local nats-server and FerretDB (testkit), the ivr service
// as its own process (built dist), and this driver acting as routing with the kit's natsRpcClient.
// Each simulated call takes three steps: enter the main menu, "2" into a submenu, "1" to a department.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import { connectNats, createLogger, natsRpcClient } from '@switchboard/service-kit';
import { startMongo, startNats, TESTER, testTokens } from '@switchboard/testkit';
import { amtMenus } from '../test/menus.js';
import { ivrRpcSubject } from '@switchboard/rpc-clients';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const TOKENS = testTokens();
const TENANT = 't-kropp';
const { StepInput, OpenState } = ivrServiceV1;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const steps: Array<Partial<ivrServiceV1.EvaluateStepRequest>> = [
  { menuId: 'main', input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_OPEN },
  { menuId: 'main', input: StepInput.STEP_INPUT_DIGITS, digits: '2', openState: OpenState.OPEN_STATE_OPEN },
  { menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '1', openState: OpenState.OPEN_STATE_OPEN },
];

const serviceDir = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${serviceDir}/dist/main.js`)) throw new Error('services/ivr is not built: run `pnpm build` first');
const [nats, mongo] = await Promise.all([startNats(), startMongo()]);
const grpcPort = await freePort();
const service = spawn(process.execPath, ['--import', '@switchboard/service-kit/instrument', 'dist/main.js'], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  env: {
    ...process.env,
    ...nats.env('ivr'),
    MONGO_URL: mongo.url,
    MONGO_DB: 'ivr_bench',
    BIND_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    GRPC_PORT: String(grpcPort),
    LOG_LEVEL: 'warn',
    ...TOKENS.env,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const router = await connectNats({
  url: nats.url,
  credentials: nats.credentials(TESTER),
  name: 'ivr-bench',
  logger: createLogger({ service: 'ivr-bench', level: 'silent' }),
});
const client = new ivrServiceV1.IvrServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
try {
  const hotPath = natsRpcClient(router, {
    definition: { evaluateStep: ivrServiceV1.IvrServiceService.evaluateStep },
    subjectFor: (method, request) => ivrRpcSubject(request.tenantId, method),
  });
  const token = await TOKENS.token({
    subject: 'bench',
    tenantId: TENANT,
    role: 'admin',
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 30_000, (error) => (error ? reject(error) : resolve())),
  );
  await new Promise((resolve, reject) =>
    client.saveMenus(
      ivrServiceV1.SaveMenusRequest.fromPartial({ tenantId: TENANT, menus: amtMenus() }),
      metadata,
      (error, response) => (error ? reject(error) : resolve(response)),
    ),
  );

  const run = async (durationMs: number, latencies: number[] | undefined) => {
    const deadline = performance.now() + durationMs;
    let requests = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let index = worker; performance.now() < deadline; index += concurrency) {
          const request = ivrServiceV1.EvaluateStepRequest.fromPartial({
            tenantId: TENANT,
            callId: `call-${Math.floor(index / steps.length)}`,
            ...steps[index % steps.length],
          });
          const t0 = performance.now();
          await hotPath.evaluateStep(request);
          latencies?.push(performance.now() - t0);
          requests += 1;
        }
      }),
    );
    return requests;
  };
  await run(1_000, undefined);
  const latencies: number[] = [];
  const started = performance.now();
  const requests = await run(seconds * 1_000, latencies);
  const elapsed = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  const result = {
    requests,
    concurrency,
    seconds: Number(elapsed.toFixed(2)),
    requestsPerSecond: Math.round(requests / elapsed),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  client.close();
  await router.connection.close();
  if (service.exitCode === null) {
    const exited = new Promise((resolve) => service.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  await Promise.all([nats.stop(), mongo.stop()]);
}
