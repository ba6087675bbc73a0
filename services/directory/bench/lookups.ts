// Per-call lookups over NATS: ResolveNumber then IsOpen, as routing does for each call.
// `pnpm bench:directory [--requests 10000] [--concurrency 32] [--json out.json]`
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectNats, createLogger } from '@switchboard/service-kit';
import { startMongo, startNats, TESTER } from '@switchboard/testkit';
import { directoryApi, startDirectory, token } from '../test/harness.js';
import { directoryRpcClient } from '@switchboard/rpc-clients';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);

const [nats, mongo] = await Promise.all([startNats(), startMongo()]);
const service = await startDirectory({ nats, mongo: mongo.url, db: 'directory_bench' });
const admin = directoryApi(
  service.grpcPort!,
  await token({ subject: 'bench', tenantId: 'provider', role: 'operator' }),
);
const document = await readFile(new URL('../demo/amt-kropp.yaml', import.meta.url), 'utf8');
await admin.api.importTenant({ tenantId: 't-kropp', document });
const caller = await connectNats({
  url: nats.url,
  credentials: nats.credentials(TESTER),
  name: 'bench',
  logger: createLogger({ service: 'bench', level: 'silent' }),
});
const lookups = directoryRpcClient(caller);

// Extensions 101–160 through the direct-dial range, at office hours on a weekday.
const dialled = (index: number) => `+49462472${101 + (index % 60)}`;
const at = new Date('2026-11-09T09:00:00Z');
const latencies: number[] = [];
let next = 0;

async function worker(): Promise<void> {
  while (next < requests) {
    const index = next++;
    const started = performance.now();
    await lookups.resolveNumber({ tenantId: 't-kropp', number: dialled(index) });
    await lookups.isOpen({ tenantId: 't-kropp', departmentId: 'buergerbuero', siteId: '', at });
    latencies.push(performance.now() - started);
  }
}

// Warm-up (JIT, connections), not measured.
for (let index = 0; index < 500; index++) await lookups.resolveNumber({ tenantId: 't-kropp', number: dialled(index) });
const began = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - began) / 1_000;

latencies.sort((a, b) => a - b);
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
const result = {
  requests,
  concurrency,
  lookupPairsPerSecond: Math.round(requests / seconds),
  p50Ms: Number(quantile(0.5).toFixed(3)),
  p99Ms: Number(quantile(0.99).toFixed(3)),
  maxMs: Number(latencies.at(-1)!.toFixed(3)),
};
process.stdout.write(
  `${requests} ResolveNumber+IsOpen pairs, concurrency ${concurrency}: ${result.lookupPairsPerSecond}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms\n`,
);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);

admin.close();
await caller.connection.close();
await service.shutdown('bench over');
await Promise.all([nats.stop(), mongo.stop()]);
