import { Kvm } from '@nats-io/kv';
import { callControlV1, callV1, directoryServiceV1, directoryV1, ivrServiceV1, presenceV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, TESTER, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallStateStore, type CallState } from '../call-state.js';
import type { FlowClients, TenantViews } from '../clients.js';
import { routingConfigSchema } from '../config.js';
import { DepartmentQueues } from '../department-queue.js';
import { oneDepartmentView } from '../../test/one-department.js';
import { WaitEstimates } from '../wait-estimates.js';
import { queueKey } from '../department-queue.js';
import { Handover, TakenOver } from './call-end.js';
import { CallFlow, type FlowDeps } from './driver.js';

// The driver against real KV buckets (a local NATS) and scripted services: what a call writes
// to its state, and what a replica that takes a call over in the IVR finds and repeats.

const logger = createLogger({ service: 'routing-driver-test', level: 'silent' });
const TENANT = 't-driver';
const view = oneDepartmentView(TENANT);

let server: NatsServer;
let nats: NatsHandle;
let states: CallStateStore;
let queues: DepartmentQueues;
let deps: Omit<FlowDeps, 'clients'>;

/** Who the flow asked what: the state writes and the PlayAndCollect command ids. */
interface Recorded {
  updates: CallState['step'][];
  collects: string[];
}

/** Directory, IVR (one menu: digit 1 → standesamt), presence (one free agent) and the adapter, scripted. */
function services(recorded: Recorded, collect: () => Promise<callControlV1.PlayAndCollectResponse>): FlowClients {
  const control = {
    answer: async () => ({}),
    playAndCollect: async (request: callControlV1.PlayAndCollectRequest) => {
      recorded.collects.push(request.commandId);
      return collect();
    },
    dial: async () => ({ legId: 'leg-1', disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED }),
    hangup: async () => ({}),
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
      release: async () => ({}),
    },
    control: () => control,
  } as unknown as FlowClients;
}

/** The call's state store, counting the flow's writes (the router's create is not one of them). */
function counting(recorded: Recorded): CallStateStore {
  const counted = new CallStateStore(states.kv);
  const update = counted.update.bind(counted);
  counted.update = (state, revision) => {
    recorded.updates.push(state.step);
    return update(state, revision);
  };
  return counted;
}

function started(callId: string): CallState {
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
    owner: 'routing-a',
    answered: false,
    siteId: '',
    overflows: 0,
    excluded: [],
    attempt: 0,
  };
}

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({ url: server.url, credentials: server.credentials(TESTER), name: 'driver-test', logger });
  const kvm = new Kvm(nats.js);
  states = new CallStateStore(await kvm.create('routing-calls', { history: 1 }));
  queues = await DepartmentQueues.open(nats, {
    bucket: 'routing-queue',
    presenceBucket: 'presence',
    ttlMs: 60_000,
    logger,
  });
  deps = {
    replicaId: 'routing-a',
    config: routingConfigSchema.parse({ NATS_URL: server.url }),
    logger,
    states,
    queues,
    directory: { get: async () => view } satisfies TenantViews,
    callbacks: await kvm.create('routing-callbacks', { history: 1 }),
    waits: new WaitEstimates({ windowMs: 60_000, minSamples: 2 }),
  };
});

afterAll(async () => {
  queues?.close();
  await nats?.connection.close();
  await server?.stop();
});

describe('call state writes', () => {
  it('writes a call through the IVR with one key press to a free agent three times: queued, ringing, bridged', async () => {
    const recorded: Recorded = { updates: [], collects: [] };
    const pressedOne = async () =>
      callControlV1.PlayAndCollectResponse.fromPartial({
        digits: '1',
        endedBy: callControlV1.CollectEnd.COLLECT_END_MAX_DIGITS,
      });
    const initial = await states.create(started('c-1'));
    const flow = new CallFlow(
      { ...deps, states: counting(recorded), clients: services(recorded, pressedOne) },
      initial!,
    );
    await flow.run();
    expect(recorded.updates).toEqual(['queued', 'ringing', 'bridged']);
    expect(recorded.collects).toEqual(['c-1:ivr-1']);
    expect((await states.get(TENANT, 'c-1'))?.state).toMatchObject({ step: 'bridged', agentId: 'anna' });
  });

  it('stops a call another replica took over at its next checkpoint, writing nothing and leaving no queue entry', async () => {
    const recorded: Recorded = { updates: [], collects: [] };
    // While the caller listens to the menu, this replica is found dead and routing-b takes the call.
    const takenMeanwhile = async () => {
      const stored = (await states.get(TENANT, 'c-3'))!;
      await states.update({ ...stored.state, owner: 'routing-b' }, stored.revision);
      return callControlV1.PlayAndCollectResponse.fromPartial({
        digits: '1',
        endedBy: callControlV1.CollectEnd.COLLECT_END_MAX_DIGITS,
      });
    };
    const state = started('c-3');
    const initial = await states.create(state);
    const flow = new CallFlow(
      { ...deps, states: counting(recorded), clients: services(recorded, takenMeanwhile) },
      initial!,
    );
    await expect(flow.run()).rejects.toThrow(TakenOver);
    // The `queued` write was refused (compare-and-set); the state is routing-b's as it wrote it.
    expect((await states.get(TENANT, 'c-3'))?.state).toMatchObject({ step: 'entry', owner: 'routing-b' });
    const entries = await new Kvm(nats.js).open('routing-queue');
    const entry = await entries.get(queueKey(TENANT, 'standesamt', state.startedAt, 'c-3'));
    expect(entry === null || entry.operation !== 'PUT').toBe(true);
  });

  it('hands a call over in the IVR as created, and the next replica repeats the prompt under the same id', async () => {
    const recorded: Recorded = { updates: [], collects: [] };
    const flows: CallFlow[] = [];
    // The replica stops while the caller listens to the menu.
    const stopping = () => {
      flows[0]!.stop('handover');
      return new Promise<callControlV1.PlayAndCollectResponse>(() => undefined);
    };
    const initial = await states.create(started('c-2'));
    const flow = new CallFlow({ ...deps, states: counting(recorded), clients: services(recorded, stopping) }, initial!);
    flows.push(flow);
    await expect(flow.run()).rejects.toThrow(Handover);
    const handedOver = await states.get(TENANT, 'c-2');
    expect(handedOver?.state).toMatchObject({ step: 'entry', owner: '' });

    const resumed = new CallFlow(
      {
        ...deps,
        replicaId: 'routing-b',
        clients: services(recorded, async () => ({ digits: '1', endedBy: 1, promptsFailed: false })),
      },
      handedOver!,
    );
    await resumed.run();
    expect(recorded.collects).toEqual(['c-2:ivr-1', 'c-2:ivr-1']);
    expect((await states.get(TENANT, 'c-2'))?.state).toMatchObject({ step: 'bridged', owner: 'routing-b' });
  });
});
