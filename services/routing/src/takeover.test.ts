import { Kvm, type KV } from '@nats-io/kv';
import { callControlV1, callV1, directoryServiceV1, directoryV1, ivrServiceV1, presenceV1 } from '@switchboard/proto';
import { connectNats, createLogger, type DeliveredMessage, type NatsHandle } from '@switchboard/service-kit';
import { startNats, TESTER, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRouter, type RouterDeps } from './call-router.js';
import { CallStateStore, type CallState } from './call-state.js';
import type { FlowClients } from './clients.js';
import { routingConfigSchema } from './config.js';
import { DepartmentQueues } from './department-queue.js';
import { InFlightCalls } from './in-flight-calls.js';
import { ReplicaLeases } from './replica-leases.js';
import { oneDepartmentView } from '../test/one-department.js';
import { WaitEstimates } from './wait-estimates.js';

// Takeover on real KV buckets (a local NATS), routers in this process with the other services
// scripted: a lease that stops being renewed is found dead (not before the lease ran out), a
// dead owner's call is taken by exactly one of two survivors racing for it, a redelivered
// call.started is ignored while its owner lives, and a replica that lost a call stops acting.

const logger = createLogger({ service: 'routing-takeover-test', level: 'silent' });
const TENANT = 't-takeover';
const view = oneDepartmentView(TENANT);

let server: NatsServer;
let nats: NatsHandle;
let kvm: Kvm;
let states: CallStateStore;
let queues: DepartmentQueues;
const stops: Array<() => unknown> = [];

/** What one router's scripted services were asked. */
interface Asked {
  collects: string[];
  dials: string[];
  releases: string[];
}

/** One menu (1 → standesamt), one free agent, an adapter whose collect answers as `collect` says. */
function services(asked: Asked, collect: () => Promise<callControlV1.PlayAndCollectResponse>): FlowClients {
  const control = {
    answer: async () => ({}),
    playAndCollect: async (request: callControlV1.PlayAndCollectRequest) => {
      asked.collects.push(request.commandId);
      return collect();
    },
    dial: async (request: callControlV1.DialRequest) => {
      asked.dials.push(request.commandId);
      return { legId: 'leg-1', disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED };
    },
  };
  return {
    directory: {
      resolveNumber: async () =>
        directoryServiceV1.ResolveNumberResponse.fromPartial({
          tenantId: TENANT,
          kind: directoryV1.NumberKind.NUMBER_KIND_MAIN,
          siteId: 'rathaus',
          entryPoint: { kind: directoryV1.EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main' },
        }),
      isOpen: async () => ({ state: directoryServiceV1.OpenState.OPEN_STATE_OPEN }),
    },
    ivr: {
      evaluateStep: async (request: ivrServiceV1.EvaluateStepRequest) =>
        request.input === ivrServiceV1.StepInput.STEP_INPUT_DIGITS
          ? ivrServiceV1.EvaluateStepResponse.fromPartial({
              action: ivrServiceV1.ActionKind.ACTION_KIND_TRANSFER,
              menuId: 'main',
              target: { kind: ivrServiceV1.TargetKind.TARGET_KIND_DEPARTMENT, ref: 'standesamt' },
            })
          : ivrServiceV1.EvaluateStepResponse.fromPartial({
              action: ivrServiceV1.ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
              menuId: 'main',
              collect: { prompts: ['sound:switchboard/main-menu'], maxDigits: 1, timeoutMs: 5_000 },
            }),
    },
    presence: {
      reserve: async () =>
        presenceV1.ReserveResponse.fromPartial({
          reservations: [{ agentId: 'anna', reservationId: 'r-1', target: { endpoint: 'PJSIP/anna' } }],
        }),
      release: async (request: presenceV1.ReleaseRequest) => {
        asked.releases.push(request.reservationId);
        return {};
      },
    },
    control: () => control,
  } as unknown as FlowClients;
}

const pressedOne = async () =>
  callControlV1.PlayAndCollectResponse.fromPartial({
    digits: '1',
    endedBy: callControlV1.CollectEnd.COLLECT_END_MAX_DIGITS,
  });

function callState(callId: string, owner: string): CallState {
  return {
    tenantId: TENANT,
    callId,
    adapterId: 'pbx-1',
    direction: 'inbound',
    dialedNumber: '+494624720',
    caller: '+4940123456',
    callerChannel: 'PJSIP/trunk-00000001',
    startedAt: Date.now(),
    step: 'entry',
    owner,
    answered: false,
    siteId: '',
    overflows: 0,
    excluded: [],
    attempt: 0,
  };
}

/** A router as service.ts wires it, with a fixed view of who is dead and its own in-flight follower. */
async function router(
  replicaId: string,
  asked: Asked,
  collect: () => Promise<callControlV1.PlayAndCollectResponse>,
  dead: ReadonlySet<string>,
  flows: Array<Promise<unknown>> = [],
  followCalls = true,
): Promise<CallRouter> {
  const inFlight = new InFlightCalls({ logger, onChange: (key, call) => created?.onStateChange(key, call) });
  const deps: RouterDeps = {
    replicaId,
    config: routingConfigSchema.parse({ NATS_URL: server.url }),
    logger,
    states,
    queues,
    directory: { get: async () => view },
    clients: services(asked, collect),
    callbacks: await kvm.create('routing-callbacks', { history: 1 }),
    waits: new WaitEstimates({ windowMs: 60_000, minSamples: 2 }),
    liveness: { isLive: (replica) => !dead.has(replica), isDead: (replica) => dead.has(replica) },
    inFlight,
    track: (work) => {
      flows.push(work);
      return work;
    },
  };
  const created = new CallRouter(deps);
  if (followCalls) {
    await inFlight.follow(states.kv);
    stops.push(() => inFlight.stop());
  }
  return created;
}

const asked = (): Asked => ({ collects: [], dials: [], releases: [] });

/** Resolves once `check` holds, looking again whenever the call's state is written. */
async function untilState(callId: string, check: (state: CallState) => boolean): Promise<CallState> {
  const watch = await states.kv.watch({ key: `${TENANT}.${callId}` });
  try {
    for await (const entry of watch) {
      if (entry.operation === 'PUT' && check(entry.json<CallState>())) return entry.json<CallState>();
    }
  } finally {
    watch.stop();
  }
  throw new Error(`state of ${callId} never matched`);
}

function startedMessage(callId: string): DeliveredMessage {
  const event = callV1.CallStarted.fromPartial({
    meta: { eventId: `e-${callId}`, tenantId: TENANT, occurredAt: new Date() },
    callId,
    adapterId: 'pbx-1',
    direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
    dialedNumber: '+494624720',
    callerLeg: { from: '+4940123456', endpoint: 'PJSIP/trunk-00000001', createdAt: new Date() },
  });
  return { decode: () => event } as unknown as DeliveredMessage;
}

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({ url: server.url, credentials: server.credentials(TESTER), name: 'takeover-test', logger });
  kvm = new Kvm(nats.js);
  states = new CallStateStore(await kvm.create('routing-calls', { history: 1 }));
  queues = await DepartmentQueues.open(nats, {
    bucket: 'routing-queue',
    presenceBucket: 'presence',
    ttlMs: 60_000,
    logger,
  });
});

afterAll(async () => {
  for (const stop of stops) await stop();
  queues?.close();
  await nats?.connection.close();
  await server?.stop();
});

describe('replica leases', () => {
  it('finds a replica dead once its key was not renewed for a lease, and not before', async () => {
    const bucket: KV = await kvm.create('routing-replicas', { history: 1 });
    let lastRenewal = 0;
    const found: Array<{ replicas: string[]; at: number }> = [];
    let markDead: () => void = () => undefined;
    const dead = new Promise<void>((resolve) => (markDead = resolve));
    const watcher = new ReplicaLeases(bucket, {
      self: 'routing-b.0000000b',
      leaseMs: 600,
      renewMs: 100,
      logger,
      onDead: (replicas) => {
        found.push({ replicas, at: performance.now() });
        markDead();
      },
      onTick: () => undefined,
      onLapsed: () => undefined,
    });
    await watcher.start(nats);
    stops.push(() => watcher.stop());
    // Replica a renews five times, then is killed (no delete).
    for (let renewal = 0; renewal < 5; renewal++) {
      await bucket.put('routing-a.0000000a', '{}');
      lastRenewal = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(watcher.liveness.isLive('routing-a.0000000a')).toBe(true);
    await dead;
    expect(found).toHaveLength(1);
    expect(found[0]!.replicas).toEqual(['routing-a.0000000a']);
    expect(found[0]!.at - lastRenewal).toBeGreaterThan(600);
    expect(watcher.liveness.isDead('routing-a.0000000a')).toBe(true);
  });
});

describe('takeover', () => {
  it("gives a dead owner's call to exactly one of two survivors, which resumes it from its checkpoint", async () => {
    const dead = new Set(['routing-a.0000000a']);
    const [b, c] = [asked(), asked()];
    const routerB = await router('routing-b.0000000b', b, pressedOne, dead);
    const routerC = await router('routing-c.0000000c', c, pressedOne, dead);
    await states.create(callState('race-1', 'routing-a.0000000a'));
    await untilState('race-1', () => true);
    // Both passes run at once; the compare-and-set lets one through.
    const bridged = untilState('race-1', (state) => state.step === 'bridged');
    routerB.takeOverOrphans();
    routerC.takeOverOrphans();
    const state = await bridged;
    expect(['routing-b.0000000b', 'routing-c.0000000c']).toContain(state.owner);
    const winner = state.owner === 'routing-b.0000000b' ? b : c;
    const loser = winner === b ? c : b;
    expect(winner.collects).toEqual(['race-1:ivr-1']);
    expect(winner.dials).toEqual(['race-1:dial-1']);
    expect(loser).toEqual(asked());
  });

  it('ignores a redelivered call.started while its owner lives, and takes the call over once it is dead', async () => {
    const dead = new Set<string>();
    const b = asked();
    const routerB = await router('routing-b.0000000b', b, pressedOne, dead);
    await states.create(callState('redelivered-1', 'routing-a.0000000a'));
    await routerB.onCallStarted(startedMessage('redelivered-1'));
    expect(routerB.size).toBe(0);
    expect((await states.get(TENANT, 'redelivered-1'))?.state.owner).toBe('routing-a.0000000a');

    dead.add('routing-a.0000000a');
    const bridged = untilState('redelivered-1', (state) => state.step === 'bridged');
    await routerB.onCallStarted(startedMessage('redelivered-1'));
    expect((await bridged).owner).toBe('routing-b.0000000b');
    expect(b.collects).toEqual(['redelivered-1:ivr-1']);
  });

  it('takes a call handed over on shutdown (owner cleared) at once, without any replica found dead', async () => {
    const b = asked();
    const routerB = await router('routing-b.0000000b', b, pressedOne, new Set());
    const bridged = untilState('handed-1', (state) => state.step === 'bridged');
    await states.create(callState('handed-1', ''));
    await untilState('handed-1', () => true);
    routerB.takeOverOrphans();
    expect((await bridged).owner).toBe('routing-b.0000000b');
  });

  it('stops a flow whose call another replica took over, without writing or releasing anything', async () => {
    const b = asked();
    // Replica b waits in the menu; meanwhile replica c takes the call over.
    let inMenu: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (inMenu = resolve));
    const flows: Array<Promise<unknown>> = [];
    const routerB = await router(
      'routing-b.0000000b',
      b,
      () => {
        inMenu();
        return new Promise<callControlV1.PlayAndCollectResponse>(() => undefined);
      },
      new Set(),
      flows,
    );
    await routerB.onCallStarted(startedMessage('lost-1'));
    await waiting;
    expect(routerB.size).toBe(1);
    const stored = (await states.get(TENANT, 'lost-1'))!;
    const taken = await states.update({ ...stored.state, owner: 'routing-c.0000000c' }, stored.revision);
    // The watch tells b at once; its flow ends without a write of its own.
    await flows[0];
    expect(routerB.size).toBe(0);
    const after = (await states.get(TENANT, 'lost-1'))!;
    expect(after.revision).toBe(taken.revision);
    expect(after.state.owner).toBe('routing-c.0000000c');
    expect(b.releases).toEqual([]);
  });
  it('stops, after its own lease lapsed, a flow whose call another replica took while it could not see', async () => {
    const b = asked();
    let inMenu: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (inMenu = resolve));
    const flows: Array<Promise<unknown>> = [];
    // No watch of the calls: as if b's event loop stood still while the others took its call.
    const routerB = await router(
      'routing-b.0000000b',
      b,
      () => {
        inMenu();
        return new Promise<callControlV1.PlayAndCollectResponse>(() => undefined);
      },
      new Set(),
      flows,
      false,
    );
    await routerB.onCallStarted(startedMessage('lapsed-1'));
    await waiting;
    const stored = (await states.get(TENANT, 'lapsed-1'))!;
    await states.update({ ...stored.state, owner: 'routing-c.0000000c' }, stored.revision);
    expect(routerB.size).toBe(1);
    await routerB.verifyOwnership();
    await flows[0];
    expect(routerB.size).toBe(0);
    expect((await states.get(TENANT, 'lapsed-1'))?.state.owner).toBe('routing-c.0000000c');
  });
});
