// Call-control throughput of the adapter against the ARI emulator: `pnpm bench:ari-adapter
// [--calls 200] [--commands 5000] [--concurrency 50] [--json out.json]`. Everything runs on this
// machine: NATS, the emulator and the adapter (one process with the driver), so the figures
// include the emulator's cost.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { command, MAIN_NUMBER, startHarness } from '../test/harness.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    commands: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    json: { type: 'string' },
  },
});
const calls = Number(values.calls);
const commands = Number(values.commands);
const concurrency = Number(values.concurrency);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const h = await startHarness({ timeScale: 0.01 });
try {
  const setupStarted = performance.now();
  const callIds = Array.from({ length: calls }, (_, index) =>
    h.sim.placeCall({ from: `+4946241${index}`, to: MAIN_NUMBER }),
  );
  await Promise.all(
    callIds.map(async (callId) => {
      await h.events.waitFor('call.started', (event: { callId: string }) => event.callId === callId, 120_000);
      await h.control.answer(command(callId));
    }),
  );
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  // Music on hold on and off: two commands that each make one ARI request and no playback.
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < commands) {
        const index = next++;
        const callId = callIds[index % calls]!;
        const t0 = performance.now();
        if (index % 2 === 0) await h.control.startMusicOnHold({ ...command(callId), mohClass: '' });
        else await h.control.stopMusicOnHold(command(callId));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    calls,
    callsAnsweredPerSecond: Math.round(calls / setupSeconds),
    commands,
    concurrency,
    commandsPerSecond: Math.round(commands / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  for (const callId of callIds) h.sim.hangupCall(callId);
} finally {
  await h.stop();
}
