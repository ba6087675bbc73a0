// The kit's per-request overhead over NATS: `node --import tsx libs/service-kit/bench/rpc.ts
// [--requests 20000] [--concurrency 16] [--traces off|on] [--json out.json]`.
// Routing's connection (this process) sends CallControl Answer requests to an adapter's
// connection (a child process serving them with an empty handler) through a local nats-server,
// with each side's telemetry started as a service's would be: `--traces on` configures an OTLP
// endpoint (a local receiver), `off` none. Each side's CPU time over the measured requests, per
// request, is what the kit and nats.js cost: the handler does nothing.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { callControlServeSubject, callControlSubject } from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import { startNats, startOtlpReceiver, type OtlpReceiver } from '@switchboard/testkit';
import { createLogger } from '../src/logger.js';
import { connectNats } from '../src/nats/connection.js';
import { natsRpcClient, serveNatsRpc, type RpcHandlers } from '../src/nats/rpc.js';
import { startTelemetry } from '../src/telemetry.js';

const definition = callControlV1.CallControlServiceService;
const TENANT = 't-bench';
const ADAPTER = 'bench-1';
const logger = createLogger({ service: 'rpc-bench', level: 'warn' });

type FromParent = { type: 'start' } | { type: 'stop' };
type FromChild = { type: 'ready' } | { type: 'cpu'; microseconds: number; served: number };

/** The adapter's side: serves Answer until the parent says stop, and reports its CPU time. */
async function serve(): Promise<void> {
  const telemetry = startTelemetry({
    serviceName: 'ari-adapter',
    serviceVersion: 'bench',
    otlpEndpoint: process.env['OTEL_EXPORTER_OTLP_ENDPOINT'],
  });
  const nats = await connectNats({
    url: process.env['NATS_URL']!,
    name: 'ari-adapter',
    logger,
    credentials: { identity: 'ari-adapter', seed: process.env['NATS_NKEY_SEED']! },
  });
  let served = 0;
  const handlers = Object.fromEntries(
    Object.keys(definition).map((key) => [
      key,
      async () => {
        served++;
        return {};
      },
    ]),
  ) as unknown as RpcHandlers<typeof definition>;
  serveNatsRpc(nats, {
    definition,
    handlers,
    logger,
    subjectFor: (method) => callControlServeSubject(ADAPTER, method),
  });
  await nats.connection.flush();
  let cpuAtStart = process.cpuUsage();
  let servedAtStart = 0;
  process.on('message', (message: FromParent) => {
    if (message.type === 'start') {
      cpuAtStart = process.cpuUsage();
      servedAtStart = served;
      return;
    }
    const cpu = process.cpuUsage(cpuAtStart);
    process.send!({ type: 'cpu', microseconds: cpu.user + cpu.system, served: served - servedAtStart } as FromChild);
    void nats.connection
      .drain()
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0));
  });
  process.send!({ type: 'ready' } as FromChild);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function next<T extends FromChild['type']>(child: ChildProcess, type: T): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromChild) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<FromChild, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`the serving process exited (${code}) before "${type}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '16' },
      traces: { type: 'string', default: 'off' },
      json: { type: 'string' },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`--requests must be a positive integer`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer`);
  if (values.traces !== 'off' && values.traces !== 'on') throw new Error(`--traces must be "off" or "on"`);
  const warmUp = Math.min(2_000, requests);

  const server = await startNats();
  let receiver: OtlpReceiver | undefined;
  let child: ChildProcess | undefined;
  try {
    receiver = values.traces === 'on' ? await startOtlpReceiver() : undefined;
    const telemetry = startTelemetry({
      serviceName: 'routing',
      serviceVersion: 'bench',
      otlpEndpoint: receiver?.endpoint,
    });
    child = fork(fileURLToPath(import.meta.url), ['--serve'], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...server.env('ari-adapter'),
        ...(receiver ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await next(child, 'ready');
    const nats = await connectNats({
      url: server.url,
      name: 'routing',
      logger,
      credentials: server.credentials('routing'),
    });
    const client = natsRpcClient(nats, {
      definition,
      subjectFor: (method, request) => callControlSubject(request.tenantId, ADAPTER, method),
    });

    const latencies: number[] = [];
    const run = async (count: number, record: boolean) => {
      let sent = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (sent < count) {
            const index = sent++;
            const t0 = performance.now();
            await client.answer({ tenantId: TENANT, callId: `c${index}`, commandId: `a${index}` });
            if (record) latencies.push(performance.now() - t0);
          }
        }),
      );
    };

    await run(warmUp, false);
    child.send({ type: 'start' } satisfies FromParent);
    const cpuAtStart = process.cpuUsage();
    const startedAt = performance.now();
    await run(requests, true);
    const elapsedMs = performance.now() - startedAt;
    const clientCpu = process.cpuUsage(cpuAtStart);
    const serverReport = next(child, 'cpu');
    child.send({ type: 'stop' } satisfies FromParent);
    const { microseconds: serverMicroseconds, served } = await serverReport;
    await once(child, 'exit');
    await nats.connection.drain();
    await telemetry.shutdown();

    latencies.sort((a, b) => a - b);
    const result = {
      requests,
      concurrency,
      traces: values.traces,
      served,
      requestsPerSecond: Math.round((requests / elapsedMs) * 1000),
      p50Ms: Number(percentile(latencies, 50).toFixed(3)),
      p99Ms: Number(percentile(latencies, 99).toFixed(3)),
      clientCpuUsPerRequest: Number(((clientCpu.user + clientCpu.system) / requests).toFixed(1)),
      serverCpuUsPerRequest: Number((serverMicroseconds / served).toFixed(1)),
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    };
    process.stdout.write(
      `${requests} requests, concurrency ${concurrency}, traces ${result.traces}: ${result.requestsPerSecond}/s, ` +
        `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms; CPU per request: client ${result.clientCpuUsPerRequest} µs, ` +
        `server ${result.serverCpuUsPerRequest} µs (load average ${result.loadAverage1m})\n`,
    );
    if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (child && child.exitCode === null) child.kill();
    await receiver?.stop();
    await server.stop();
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
