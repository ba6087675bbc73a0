import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Msg } from '@nats-io/nats-core';
import { CallEvents, callControlSubject } from '@switchboard/events';
import { callControlV1, callV1 } from '@switchboard/proto';
import {
  connectNats,
  createLogger,
  newEventMeta,
  publishEvent,
  serveNatsRpc,
  type NatsHandle,
} from '@switchboard/service-kit';
import { startStack, type ServiceName, type Stack } from '@switchboard/stack';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BENCH_DIGIT, BENCH_NUMBER, BENCH_TENANT, writeBenchTenant } from './bench-tenant.js';
import { cpuMs, histogramMeans, natsServerPid, result, type Result } from './measure.js';

// Call setup through the whole chain. `--mode ari`: ari-sim → ari-adapter → routing → ivr →
// presence → Dial; latency = the caller's StasisStart (placeCall) → the Dial request on NATS,
// minus the time the caller controls (each PlayAndCollect from request to reply: prompt and key
// press). `--mode nats`: this script is the adapter — it publishes call.started itself, answers
// every call-control request at once (the key pressed immediately), and measures publish → Dial.

const positiveInt = (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return number;
};

interface Options {
  mode: 'ari' | 'nats';
  calls: number;
  rate?: number;
  concurrency: number;
  agents: number;
  routingReplicas: number;
  json?: string;
  timeoutMs: number;
}

const options = new Command('bench:call-setup')
  .addOption(
    new Option('--mode <mode>', 'ari (through ari-sim and the adapter) or nats (events straight onto NATS)')
      .choices(['ari', 'nats'])
      .default('ari'),
  )
  .option('--calls <n>', 'calls to place', positiveInt, 1_000)
  .option('--rate <per-second>', 'open loop: start calls at this rate (default: closed loop)', positiveInt)
  .option('--concurrency <n>', 'closed loop: calls in flight at once', positiveInt, 32)
  .option('--agents <n>', 'agents of the benchmark department (no wrap-up)', positiveInt, 300)
  .option('--routing-replicas <n>', 'routing processes', positiveInt, 1)
  .option('--timeout-ms <ms>', 'a call without a Dial after this counts as failed', positiveInt, 15_000)
  .option('--json <file>', 'write the figures as JSON')
  .parse()
  .opts<Options>();

const quiet = createLogger({ service: 'bench', level: 'silent' });
const ADAPTER = 'bench';
/** How long a bench call talks before the caller hangs up (nats mode). */
const TALK_MS = 200;

interface Pending {
  startedAt: number;
  /** Caller-controlled time (PlayAndCollect request → reply). */
  collectMs: number;
  settle(latencyMs: number | undefined): void;
}

const pending = new Map<string, Pending>();

function track(callId: string, startedAt: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(callId);
      resolve(undefined);
    }, options.timeoutMs);
    pending.set(callId, {
      startedAt,
      collectMs: 0,
      settle: (latency) => {
        clearTimeout(timer);
        pending.delete(callId);
        resolve(latency);
      },
    });
  });
}

function dialSeen(callId: string, at: number): void {
  const call = pending.get(callId);
  if (call) call.settle(at - call.startedAt - call.collectMs);
}

/** nats mode: answers call control like an adapter whose callers press the key at once. */
function serveAsAdapter(bus: NatsHandle): void {
  // As the adapter does: the answered, bridged leg is published before the Dial reply, and the
  // call ends (caller hangs up) a moment later, after routing has confirmed the agent.
  const connect = async (request: callControlV1.DialRequest | callControlV1.ForwardRequest) => {
    dialSeen(request.callId, performance.now());
    const legId = `${request.callId}-agent-${request.commandId}`;
    const now = new Date();
    const meta = () => newEventMeta(request.tenantId, ADAPTER);
    const agentLeg = callV1.Leg.fromPartial({
      legId,
      channelId: legId,
      kind: 'kind' in request ? request.kind : callV1.LegKind.LEG_KIND_FORWARDED_HOME_OFFICE,
      endpoint: 'endpoint' in request ? request.endpoint : `PJSIP/${request.number}@trunk`,
      createdAt: now,
      answeredAt: now,
      state: callV1.LegState.LEG_STATE_ANSWERED,
      tags: request.tags,
    });
    await publishEvent(bus, CallEvents.legUpdated, {
      meta: meta(),
      callId: request.callId,
      leg: agentLeg,
      bridged: true,
    });
    const ended = () =>
      publishEvent(bus, CallEvents.ended, {
        meta: meta(),
        callId: request.callId,
        direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
        startedAt: now,
        endedAt: new Date(),
        endedBy: 'caller',
        legs: [
          callV1.Leg.fromPartial({
            legId: `${request.callId}-caller`,
            channelId: `${request.callId}-caller`,
            kind: callV1.LegKind.LEG_KIND_CALLER,
            from: '+4915100000000',
            to: BENCH_NUMBER,
            createdAt: now,
            answeredAt: now,
            endedAt: new Date(),
            disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED,
            hangupCause: 16,
            state: callV1.LegState.LEG_STATE_ENDED,
          }),
          {
            ...agentLeg,
            endedAt: new Date(),
            disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED,
            hangupCause: 16,
            state: callV1.LegState.LEG_STATE_ENDED,
          },
        ],
      });
    setTimeout(() => void ended().catch(() => undefined), TALK_MS);
    return { legId, disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED };
  };
  serveNatsRpc(bus, {
    definition: callControlV1.CallControlServiceService,
    subjectFor: (method) => callControlSubject(BENCH_TENANT, ADAPTER, method),
    logger: quiet,
    handlers: {
      answer: async () => ({}),
      play: async (request) => ({ playbackId: `${request.callId}-${request.commandId}` }),
      stopPlayback: async () => ({}),
      playAndCollect: async () => ({
        digits: BENCH_DIGIT,
        endedBy: callControlV1.CollectEnd.COLLECT_END_MAX_DIGITS,
        promptsFailed: false,
      }),
      startMusicOnHold: async () => ({}),
      stopMusicOnHold: async () => ({}),
      dial: connect,
      forward: connect,
      // Ring-all: the first target answers at once, as if it had won the race.
      dialAll: async (request) => {
        const { targets, ...common } = request;
        const [first] = targets;
        if (!first) throw new Error('DialAll without targets');
        const { legId, disposition } = await connect(callControlV1.DialRequest.fromPartial({ ...common, ...first }));
        return { legIds: [legId], answeredLegId: legId, disposition };
      },
      hangupLeg: async () => ({}),
      receiveFax: async () => ({}),
      hangup: async () => ({}),
      // The bench's calls overflow nowhere, so no callback is placed and no message recorded.
      recordVoicemail: async () => ({
        outcome: callControlV1.VoicemailOutcome.VOICEMAIL_OUTCOME_FAILED,
        durationSeconds: 0,
        reason: 'the bench records no voicemail',
      }),
      originate: async () => ({ callId: '', disposition: callV1.LegDisposition.LEG_DISPOSITION_UNAVAILABLE }),
    },
  });
}

/** ari mode: watches routing's requests to the adapter and the replies, without answering. */
function observeCallControl(bus: NatsHandle): void {
  const collects = new Map<string, { callId: string; at: number }>();
  bus.connection.subscribe(`sb.${BENCH_TENANT}.callcontrol.>`, {
    callback: (error, message: Msg) => {
      if (error) return;
      const method = message.subject.slice(message.subject.lastIndexOf('.') + 1);
      if (method === 'Dial' || method === 'Forward') {
        dialSeen(callControlV1.DialRequest.decode(message.data).callId, performance.now());
      } else if (method === 'PlayAndCollect' && message.reply) {
        const request = callControlV1.PlayAndCollectRequest.decode(message.data);
        collects.set(message.reply, { callId: request.callId, at: performance.now() });
      }
    },
  });
  bus.connection.subscribe('_INBOX.>', {
    callback: (error, message: Msg) => {
      const collect = error ? undefined : collects.get(message.subject);
      if (!collect) return;
      collects.delete(message.subject);
      const call = pending.get(collect.callId);
      if (call) call.collectMs += performance.now() - collect.at;
    },
  });
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'sb-bench-call-setup-'));
  const logDir = await mkdtemp(path.join(tmpdir(), 'sb-bench-logs-'));
  const files = await writeBenchTenant(work, options.agents);
  const services: ServiceName[] =
    options.mode === 'ari'
      ? ['directory', 'ivr', 'presence', 'ari-adapter', 'routing']
      : ['directory', 'ivr', 'presence', 'routing'];
  process.stdout.write(`starting ${services.join(', ')} with ${options.agents} agents …\n`);
  let stack: Stack | undefined;
  let bus: NatsHandle | undefined;
  try {
    stack = await startStack({
      services,
      replicas: { routing: options.routingReplicas },
      tenantFile: files.tenantFile,
      menusFile: files.menusFile,
      alwaysOpen: true,
      // Agents pick up at once and talk briefly: the benchmark measures set-up, not conversations.
      phoneBehavior: { answerAfterMs: 0, hangupAfterMs: 200 },
      ariSim: { soundDurationMs: 20 },
      logDir,
    });
    // As the test user: in `nats` mode it stands in for the adapter and serves call control.
    bus = await connectNats({
      url: stack.natsUrl,
      credentials: stack.natsCredentials('tester'),
      name: 'bench-call-setup',
      logger: quiet,
    });
    const placedChannels = new Set<string>();
    if (options.mode === 'nats') serveAsAdapter(bus);
    else {
      observeCallControl(bus);
      bus.connection.subscribe(`sb.${BENCH_TENANT}.call.started`, {
        callback: (error, message) => {
          if (error) return;
          const started = callV1.CallStarted.decode(message.data);
          const channelId = started.callerLeg?.channelId ?? '';
          if (!placedChannels.delete(channelId)) return;
          // The call id is known only now: move the measurement over to it.
          const call = pending.get(channelId);
          if (call) {
            pending.delete(channelId);
            pending.set(started.callId, call);
          }
        },
      });
    }

    const sim = stack.ariSim;
    let sequence = 0;
    const placeOne = async (): Promise<number | undefined> => {
      const index = sequence++;
      if (options.mode === 'nats') {
        const callId = `bench-${index}`;
        const measured = track(callId, performance.now());
        await publishEvent(
          bus!,
          CallEvents.started,
          callV1.CallStarted.fromPartial({
            meta: newEventMeta(BENCH_TENANT, ADAPTER),
            callId,
            adapterId: ADAPTER,
            direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
            dialedNumber: BENCH_NUMBER,
            callerLeg: callV1.Leg.fromPartial({
              legId: `${callId}-caller`,
              channelId: `${callId}-caller`,
              kind: callV1.LegKind.LEG_KIND_CALLER,
              from: '+4915100000000',
              to: BENCH_NUMBER,
              createdAt: new Date(),
              state: callV1.LegState.LEG_STATE_ANSWERED,
            }),
          }),
        );
        return measured;
      }
      const startedAt = performance.now();
      const channelId = sim.placeCall({
        from: `+49151${String(index).padStart(8, '0')}`,
        to: BENCH_NUMBER,
        // The key comes just after the 20 ms prompt; its timing is subtracted anyway.
        script: [{ atMs: 30, dtmf: BENCH_DIGIT }],
      });
      placedChannels.add(channelId);
      return track(channelId, startedAt);
    };

    const pids = stack.services.map((service) => ({ name: `${service.name}-${service.replica}`, pid: service.pid }));
    // The NATS server and this script (the adapter stand-in, or ari-sim in-process) share the cores too.
    const natsPid = await natsServerPid();
    if (natsPid) pids.push({ name: 'nats-server', pid: natsPid });
    pids.push({ name: options.mode === 'nats' ? 'bench (adapter stand-in)' : 'bench (ari-sim)', pid: process.pid });
    const cpuBefore = await Promise.all(pids.map(({ pid }) => cpuMs(pid)));
    const latencies: number[] = [];
    let failed = 0;
    const record = (latency: number | undefined) => {
      if (latency === undefined) failed++;
      else latencies.push(latency);
    };
    const began = performance.now();
    if (options.rate) {
      const interval = 1_000 / options.rate;
      const all: Promise<void>[] = [];
      for (let index = 0; index < options.calls; index++) {
        const due = began + index * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        all.push(placeOne().then(record));
      }
      await Promise.all(all);
    } else {
      let left = options.calls;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (left > 0) {
            left--;
            record(await placeOne());
          }
        }),
      );
    }
    const elapsedMs = performance.now() - began;
    const cpuAfter = await Promise.all(pids.map(({ pid }) => cpuMs(pid)));
    const figures: Result = result(options.mode, latencies, failed, elapsedMs);
    const cpuPerCallMs = Object.fromEntries(
      pids.map(({ name }, index) => [
        name,
        Math.round(((cpuAfter[index]! - cpuBefore[index]!) / Math.max(latencies.length, 1)) * 1000) / 1000,
      ]),
    );
    // Where the time goes, as the services measure it themselves (first replica of each).
    const page = async (name: ServiceName) => {
      const found = stack!.services.find((service) => service.name === name);
      return found ? (await fetch(`http://127.0.0.1:${found.httpPort}/metrics`)).text() : '';
    };
    const steps = {
      ...histogramMeans(await page('routing'), 'routing_decision_duration'),
      ...histogramMeans(await page('presence'), 'presence_reserve_duration'),
      ...histogramMeans(await page('ari-adapter'), 'callcontrol_command_duration'),
      ...histogramMeans(await page('ivr'), 'rpc_server_duration'),
    };
    // ari mode: every call the adapter started must end, and nothing may stay in flight.
    const adapterCalls = options.mode === 'ari' ? await settledAdapterCalls(() => page('ari-adapter')) : undefined;
    const report = {
      ...figures,
      ...(adapterCalls ? { adapterCalls } : {}),
      load: options.rate ? { rate: options.rate } : { concurrency: options.concurrency },
      agents: options.agents,
      routingReplicas: options.routingReplicas,
      loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
      cpuPerCallMs,
      stepMeans: steps,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\nservice logs: ${logDir}\n`);
    if (options.json) await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await bus?.connection.close();
    await stack?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

interface AdapterCalls {
  started: number;
  ended: number;
  inFlight: number;
}

/** The adapter's own call counters once they stop moving (or after 30 s: a leak shows as a gap). */
async function settledAdapterCalls(metricsPage: () => Promise<string>): Promise<AdapterCalls> {
  const sample = (text: string, name: string) =>
    Number(new RegExp(`^${name}(?:_total)?(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  const deadline = performance.now() + 30_000;
  for (;;) {
    const text = await metricsPage();
    const calls = {
      started: sample(text, 'calls_started'),
      ended: sample(text, 'calls_ended'),
      inFlight: sample(text, 'calls_in_flight'),
    };
    if ((calls.started === calls.ended && calls.inFlight === 0) || performance.now() > deadline) return calls;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

await main();
process.exit(0);
