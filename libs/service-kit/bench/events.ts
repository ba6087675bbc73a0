// The kit's per-event overhead on JetStream: `node --import tsx libs/service-kit/bench/events.ts
// [--events 10000] [--concurrency 16] [--json out.json]`, without an exporter (as a service
// without OTEL_EXPORTER_OTLP_ENDPOINT). First `publishEvent` of `--events` call.leg_updated events
// (`--concurrency` publishes in flight), then the same stored events through `startConsumer` with
// a handler that only decodes, once to warm up and once per ack mode (a durable each,
// `concurrency` 16): CPU time of this process per event in each phase, and events per second.
// NATS runs in its own process.
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { startNats } from '@switchboard/testkit';
import { createLogger } from '../src/logger.js';
import { connectNats, ensureStreams } from '../src/nats/connection.js';
import { startConsumer, type AckMode } from '../src/nats/consumer.js';
import { newEventMeta } from '../src/nats/event-meta.js';
import { publishEvent } from '../src/nats/publish.js';
import { startTelemetry } from '../src/telemetry.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
});
const events = Number(values.events);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(events) || events < 1) throw new Error('--events must be a positive integer');
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a positive integer');
const TENANT = 't-bench';
const logger = createLogger({ service: 'events-bench', level: 'warn' });

/** CPU µs of this process per event and events per second while `work` runs. */
async function measure(work: () => Promise<void>): Promise<{ cpuUsPerEvent: number; eventsPerSecond: number }> {
  const cpuAtStart = process.cpuUsage();
  const startedAt = performance.now();
  await work();
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    cpuUsPerEvent: Number(((cpu.user + cpu.system) / events).toFixed(1)),
    eventsPerSecond: Math.round((events / elapsedMs) * 1000),
  };
}

const telemetry = startTelemetry({ serviceName: 'events-bench', serviceVersion: 'bench' });
const server = await startNats();
try {
  const nats = await connectNats({
    url: server.url,
    name: 'events-bench',
    logger,
    credentials: server.credentials('tester'),
  });
  await ensureStreams(nats.jsm, [CALLS_STREAM]);

  const leg = callV1.Leg.fromPartial({ legId: 'leg-1', channelId: 'leg-1', endpoint: 'PJSIP/agent-1' });
  const publish = await measure(async () => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < events) {
          const index = sent++;
          await publishEvent(nats, CallEvents.legUpdated, {
            meta: newEventMeta(TENANT, 'events-bench'),
            callId: `c${index}`,
            leg,
            bridged: false,
          });
        }
      }),
    );
  });

  const consume = async (ack: AckMode, durable = `bench-${ack}`) =>
    measure(async () => {
      let handled = 0;
      let allHandled!: () => void;
      const done = new Promise<void>((resolve) => (allHandled = resolve));
      const consumer = await startConsumer(nats, logger, {
        stream: CALLS_STREAM,
        durable,
        filterSubjects: [`sb.${TENANT}.call.leg_updated`],
        concurrency: 16,
        ack,
        handler: async (message) => {
          message.decode(CallEvents.legUpdated);
          if (++handled === events) allHandled();
        },
      });
      await done;
      await consumer.stop();
    });
  // A first pass not counted: whichever mode ran first would pay for the JIT's warm-up.
  await consume('confirmed', 'bench-warm-up');
  const confirmed = await consume('confirmed');
  const fireAndForget = await consume('fire-and-forget');
  await nats.connection.drain();

  const result = {
    events,
    concurrency,
    publish,
    consume: { confirmed, 'fire-and-forget': fireAndForget },
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
  process.stdout.write(
    `${events} events: publishEvent ${publish.cpuUsPerEvent} µs CPU each (${publish.eventsPerSecond}/s); ` +
      `consumed with ack 'confirmed' ${confirmed.cpuUsPerEvent} µs (${confirmed.eventsPerSecond}/s), ` +
      `'fire-and-forget' ${fireAndForget.cpuUsPerEvent} µs (${fireAndForget.eventsPerSecond}/s) ` +
      `(load average ${result.loadAverage1m})\n`,
  );
  if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await server.stop();
  await telemetry.shutdown();
}
