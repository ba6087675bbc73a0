// Reservations over NATS: `pnpm bench:presence [--departments 20] [--agents 10] [--seconds 5]
// [--concurrency 32] [--rate 500] [--json out.json]`. Each operation is what routing does per
// offered call: Reserve (longest idle) then Release. Two phases: as fast as `--concurrency`
// clients go (throughput), then a fixed `--rate` of reservations per second (latency at a load
// routing would produce). NATS, one presence replica and the clients share this machine and
// process, so the figures include the clients' own cost.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { presenceV1 } from '@switchboard/proto';
import { startHarness } from '../test/harness.js';

const { values } = parseArgs({
  options: {
    departments: { type: 'string', default: '20' },
    agents: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '500' },
    json: { type: 'string' },
  },
});
const departments = Number(values.departments);
const agentsPerDepartment = Number(values.agents);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const rate = Number(values.rate);
const tenantId = 't-bench';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const summary = (latencies: number[]) => {
  latencies.sort((a, b) => a - b);
  return {
    p50Ms: Number(percentile(latencies, 50).toFixed(3)),
    p99Ms: Number(percentile(latencies, 99).toFixed(3)),
  };
};

const h = await startHarness(1);
try {
  const api = await h.api(tenantId);
  for (let d = 0; d < departments; d++) {
    for (let a = 0; a < agentsPerDepartment; a++) {
      const agentId = `d${d}-a${a}`;
      await api.upsertAgent({
        tenantId,
        agentId,
        departments: [{ departmentId: `dep${d}`, wrapUpSeconds: 0 }],
        devices: [`PJSIP/${agentId}`],
      });
      await api.setState({ tenantId, agentId, state: presenceV1.AgentState.AGENT_STATE_AVAILABLE });
    }
  }

  let sequence = 0;
  let empty = 0;
  /** One offered call: reserve an agent of a department, release it; returns Reserve's latency. */
  const offer = async (): Promise<number> => {
    const index = sequence++;
    const t0 = performance.now();
    const { reservations } = await h.rpc.reserve(
      presenceV1.ReserveRequest.fromPartial({
        tenantId,
        departmentId: `dep${index % departments}`,
        callId: `c${index}`,
      }),
    );
    const reserveMs = performance.now() - t0;
    const [reservation] = reservations;
    if (!reservation) empty++;
    else
      await h.rpc.release({
        tenantId,
        agentId: reservation.agentId,
        reservationId: reservation.reservationId,
        wrapUp: false,
        busySeconds: 0,
      });
    return reserveMs;
  };

  // Throughput: closed loop.
  const closed: number[] = [];
  const deadline = performance.now() + seconds * 1_000;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) closed.push(await offer());
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  const throughput = {
    reservations: closed.length,
    reservationsPerSecond: Math.round(closed.length / elapsed),
    // Service and clients together (not nats-server): what one Reserve + Release costs this process.
    cpuMsPerReservation: Number(((cpu.user + cpu.system) / 1_000 / closed.length).toFixed(3)),
    ...summary(closed),
  };

  // Latency at a fixed rate: one offer every 1/rate s, each measured on its own.
  const paced: Array<Promise<number>> = [];
  const total = Math.round(rate * seconds);
  const pacedStart = performance.now();
  for (let index = 0; index < total; index++) {
    const due = pacedStart + (index * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    paced.push(offer());
  }
  const pacedLatencies = await Promise.all(paced);
  const atRate = { rate, reservations: total, ...summary(pacedLatencies) };

  const result = {
    departments,
    agentsPerDepartment,
    concurrency,
    throughput,
    atRate,
    noAgentFree: empty,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await h.stop();
}
