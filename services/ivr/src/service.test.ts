import * as grpc from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { MenuMirror, decodeMenuSnapshot, evaluateStep } from '@switchboard/ivr-menus';
import { ivrServiceV1 } from '@switchboard/proto';
import {
  GrpcStatusError,
  connectNats,
  createLogger,
  natsRpcClient,
  type NatsHandle,
  type Principal,
  type RpcClient,
  type RunningService,
} from '@switchboard/service-kit';
import { runService } from '@switchboard/service-kit';
import {
  startMongo,
  startNats,
  type MongoServer,
  type NatsServer,
  eventually,
  TESTER,
  testTokens,
} from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amtMenus, demoMenus, department, everyStep, external, menu, submenu, voicemail } from '../test/menus.js';
import { MenuStore } from './menu-store.js';
import { ivrService } from './service.js';
import { ivrRpcSubject } from '@switchboard/rpc-clients';

const { ActionKind, OpenState, StepInput, StepReason } = ivrServiceV1;
const TOKENS = testTokens();
const auth = TOKENS;
const TENANT = 't-kropp';
const OTHER = 't-other';

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;
type Evaluate = RpcClient<{ evaluateStep: typeof ivrServiceV1.IvrServiceService.evaluateStep }>;

let nats: NatsServer;
let mongo: MongoServer;
let first: RunningService;
let second: RunningService;
let router: NatsHandle;
let hotPath: Evaluate;
let clients: ivrServiceV1.IvrServiceClient[];
let adminToken: string;

const token = (principal: Principal) => auth.token(principal);

function call<Req, Res>(
  method: keyof ivrServiceV1.IvrServiceClient,
  request: Req,
  options: { token?: string; instance?: number } = {},
): Promise<Res> {
  const client = clients[options.instance ?? 0]!;
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${options.token ?? adminToken}`);
  const fn = client[method] as unknown as Unary<Req, Res>;
  return new Promise((resolve, reject) =>
    fn.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const saveMenus = (request: Partial<ivrServiceV1.SaveMenusRequest>, options?: { token?: string }) =>
  call<ivrServiceV1.SaveMenusRequest, ivrServiceV1.SaveMenusResponse>(
    'saveMenus',
    ivrServiceV1.SaveMenusRequest.fromPartial({ tenantId: TENANT, ...request }),
    options,
  );

function step(request: Partial<ivrServiceV1.EvaluateStepRequest>): Promise<ivrServiceV1.EvaluateStepResponse> {
  return hotPath.evaluateStep(
    ivrServiceV1.EvaluateStepRequest.fromPartial({ tenantId: TENANT, callId: 'call-1', menuId: 'main', ...request }),
  );
}

async function rejection(work: Promise<unknown>): Promise<{ code: number; details: string }> {
  const error = (await work.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { code: number; details: string } | undefined;
  if (!error) throw new Error('expected the request to fail');
  return { code: error.code, details: error.details };
}

/** The revision of the tenant's snapshot in the menu bucket (0 when it has none). */
async function snapshotRevision(tenantId: string): Promise<number> {
  const entry = await (await new Kvm(router.js).open(KV_BUCKETS.ivrMenus)).get(tenantId);
  return entry?.operation === 'PUT' ? Number(decodeMenuSnapshot(entry.value).revision) : 0;
}

/** A step's answer or its error (code and message), to compare two ways of answering it. */
function outcome(work: () => Promise<ivrServiceV1.EvaluateStepResponse>): Promise<unknown> {
  return work().then(
    (response) => ({ response }),
    (error: unknown) => {
      const { code, details } = error as { code: number; details: string };
      return { code, details };
    },
  );
}

/** A counter from /metrics; both in-process instances share one meter provider, so one scrape sees both. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${first.httpPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      total += Number(match[3]);
    }
  }
  return total;
}

function startInstance(resyncIntervalMs = 30_000): Promise<RunningService> {
  return runService(ivrService, {
    env: {
      IVR_RESYNC_INTERVAL_MS: String(resyncIntervalMs),
      ...nats.env('ivr'),
      MONGO_URL: mongo.url,
      MONGO_DB: 'ivr_test',
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      ...TOKENS.env,
    },
    handleSignals: false,
  });
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  // The first instance resyncs often (missed events); the second only learns from events.
  [first, second] = await Promise.all([startInstance(200), startInstance()]);
  clients = [first, second].map(
    (service) => new ivrServiceV1.IvrServiceClient(`127.0.0.1:${service.grpcPort}`, grpc.credentials.createInsecure()),
  );
  router = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'routing-test',
    logger: createLogger({ service: 'routing-test', level: 'silent' }),
  });
  hotPath = natsRpcClient(router, {
    definition: { evaluateStep: ivrServiceV1.IvrServiceService.evaluateStep },
    subjectFor: (method, request) => ivrRpcSubject(request.tenantId, method),
    timeoutMs: 2_000,
  });
  adminToken = await token({ subject: 'admin@kropp', tenantId: TENANT, role: 'admin' });
  await saveMenus({ menus: amtMenus() });
}, 60_000);

afterAll(async () => {
  for (const client of clients ?? []) client.close();
  await router?.connection.close();
  await Promise.all([first?.shutdown('test done'), second?.shutdown('test done')]);
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('EvaluateStep over NATS', () => {
  it('plays the entry menu and sends a digit to its department', async () => {
    const entered = await step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_OPEN });
    expect(entered).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_ENTERED,
      menuId: 'main',
      retryCount: 0,
      collect: {
        prompts: ['sound:switchboard/main'],
        language: 'de-DE',
        maxDigits: 1,
        timeoutMs: 5_000,
        interDigitTimeoutMs: 2_000,
        bargeIn: true,
      },
    });
    expect(await step({ input: StepInput.STEP_INPUT_DIGITS, digits: '1' })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_SELECTED,
      target: department('meldewesen'),
    });
  });

  it('retries an invalid digit and a timeout, then takes the fallback', async () => {
    const fallbacksBefore = await metric('ivr_steps_total', { reason: 'fallback' });
    const invalid = await step({ input: StepInput.STEP_INPUT_DIGITS, digits: '7', retryCount: 0 });
    expect(invalid).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_INVALID_RETRY,
      retryCount: 1,
      collect: { prompts: ['sound:switchboard/invalid', 'sound:switchboard/main'] },
    });
    const timeout = await step({ input: StepInput.STEP_INPUT_TIMEOUT, retryCount: invalid.retryCount });
    expect(timeout).toMatchObject({
      reason: StepReason.STEP_REASON_TIMEOUT_RETRY,
      retryCount: 2,
      collect: { prompts: ['sound:switchboard/no-input', 'sound:switchboard/main'] },
    });
    expect(
      await step({ input: StepInput.STEP_INPUT_DIGITS, digits: '7', retryCount: timeout.retryCount }),
    ).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_FALLBACK,
      menuId: 'main',
      target: department('zentrale'),
    });
    expect(await metric('ivr_steps_total', { reason: 'fallback' })).toBe(fallbacksBefore + 1);
  });

  it('enters a submenu, repeats, and goes back', async () => {
    const inSubmenu = await step({ input: StepInput.STEP_INPUT_DIGITS, digits: '2', retryCount: 1 });
    expect(inSubmenu).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_SELECTED,
      menuId: 'standesamt',
      retryCount: 0,
      collect: { prompts: ['sound:switchboard/standesamt'] },
    });
    expect(await step({ menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '2' })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      target: external('+4943319876543'),
    });
    expect(await step({ menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '0' })).toMatchObject({
      menuId: 'main',
      collect: { prompts: ['sound:switchboard/main'] },
    });
    expect(await step({ input: StepInput.STEP_INPUT_DIGITS, digits: '9', retryCount: 1 })).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_REPEAT,
      menuId: 'main',
      retryCount: 1,
      collect: { prompts: ['sound:switchboard/main'] },
    });
  });

  it('takes the closed branch outside hours and the holiday branch on holidays', async () => {
    expect(await step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_CLOSED })).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_CLOSED,
      menuId: 'after-hours',
    });
    expect(await step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_HOLIDAY })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_HOLIDAY,
      target: voicemail('zentrale'),
    });
    // Without an answer from the directory the menu plays as when open.
    expect(await step({ input: StepInput.STEP_INPUT_ENTER })).toMatchObject({ menuId: 'main' });
    expect(
      await step({
        menuId: 'after-hours',
        input: StepInput.STEP_INPUT_TIMEOUT,
        openState: OpenState.OPEN_STATE_CLOSED,
      }),
    ).toMatchObject({ action: ActionKind.ACTION_KIND_TRANSFER, reason: StepReason.STEP_REASON_FALLBACK });
  });

  it('answers an unknown menu or input with a clear error', async () => {
    const notFoundBefore = await metric('ivr_steps_failed_total', { status: 'NOT_FOUND' });
    expect(await rejection(step({ menuId: 'nope', input: StepInput.STEP_INPUT_ENTER }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'menu "nope" not found',
    });
    expect(await metric('ivr_steps_failed_total', { status: 'NOT_FOUND' })).toBe(notFoundBefore + 1);
    expect(await rejection(step({ input: StepInput.STEP_INPUT_UNSPECIFIED }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});

describe('menu administration', () => {
  it('rejects a dangling submenu, an unreachable menu and a loop without exit', async () => {
    const main = amtMenus()[0]!;
    const dangling = await rejection(
      saveMenus({ menus: [{ ...main, options: [...main.options, { digits: '4', target: submenu('fees') }] }] }),
    );
    expect(dangling).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'menu "main" option "4": submenu "fees" does not exist',
    });
    expect(await rejection(saveMenus({ menus: [menu('orphan', { '1': department('bauhof') })] }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'menu "orphan" is unreachable from the entry menus (main)',
    });
    const loop = await rejection(
      saveMenus({
        menus: [
          menu('standesamt', { '0': submenu('main') }, { fallback: submenu('main') }),
          menu('main', { '2': submenu('standesamt') }, { entry: true, fallback: submenu('standesamt') }),
        ],
        deleteMenuIds: ['after-hours'],
      }),
    );
    expect(loop).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(loop.details).toContain('form a loop without exit');
    expect(await rejection(call('deleteMenu', { tenantId: TENANT, menuId: 'standesamt' }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'menu "main" option "2": submenu "standesamt" does not exist',
    });
    expect(
      await rejection(saveMenus({ menus: [amtMenus()[1]!, amtMenus()[1]!], deleteMenuIds: ['after-hours', 'main'] })),
    ).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'menus named more than once in one save: "standesamt"',
    });
    // Nothing of the rejected saves was kept.
    const listed = await call<ivrServiceV1.ListMenusRequest, ivrServiceV1.ListMenusResponse>('listMenus', {
      tenantId: TENANT,
    });
    expect(listed.menus.map((each) => each.menuId).sort()).toEqual(['after-hours', 'main', 'standesamt']);
  });

  it('refreshes the other instance from the change event', async () => {
    const before = await call<ivrServiceV1.ListMenusRequest, ivrServiceV1.ListMenusResponse>('listMenus', {
      tenantId: TENANT,
    });
    const main = before.menus.find((each) => each.menuId === 'main')!;
    const fees = menu('fees', { '1': department('kasse') });
    const saved = await saveMenus({
      menus: [fees, { ...main, options: [...main.options, { digits: '4', target: submenu('fees') }] }],
      expectedRevision: before.revision,
    });
    expect(saved.revision).toBe(String(Number(before.revision) + 1));
    // The snapshot for routing is written before the save returns.
    expect(await snapshotRevision(TENANT)).toBe(Number(saved.revision));
    // Saved through the first instance; the second answers from its own refreshed memory.
    const answer = await eventually(async () => {
      const response = await call<ivrServiceV1.EvaluateStepRequest, ivrServiceV1.EvaluateStepResponse>(
        'evaluateStep',
        ivrServiceV1.EvaluateStepRequest.fromPartial({
          tenantId: TENANT,
          callId: 'call-2',
          menuId: 'main',
          input: StepInput.STEP_INPUT_DIGITS,
          digits: '4',
        }),
        { instance: 1 },
      );
      return response.revision === saved.revision ? response : undefined;
    }, 'the second instance to load the new revision');
    expect(answer).toMatchObject({ menuId: 'fees', reason: StepReason.STEP_REASON_SELECTED });
    expect(await rejection(saveMenus({ menus: [fees], expectedRevision: before.revision }))).toMatchObject({
      code: grpc.status.ABORTED,
    });
  });

  it('catches up with a save whose event never came', async () => {
    const client = await MongoClient.connect(mongo.url);
    try {
      // A save as another instance makes it, had its publish failed: MongoDB only.
      const store = new MenuStore(client.db('ivr_test'));
      const current = await store.load(TENANT);
      const menus = current.menus.map((each) => (each.menuId === 'main' ? { ...each, maxRetries: 0 } : each));
      expect(await store.replace(TENANT, current.revision, menus, new Date())).toBe(true);
      const revision = String(current.revision + 1);
      const answer = await eventually(async () => {
        const response = await call<ivrServiceV1.EvaluateStepRequest, ivrServiceV1.EvaluateStepResponse>(
          'evaluateStep',
          ivrServiceV1.EvaluateStepRequest.fromPartial({
            tenantId: TENANT,
            menuId: 'main',
            input: StepInput.STEP_INPUT_TIMEOUT,
          }),
          { instance: 0 },
        );
        return response.revision === revision ? response : undefined;
      }, 'the first instance to resync');
      expect(answer).toMatchObject({
        action: ActionKind.ACTION_KIND_TRANSFER,
        reason: StepReason.STEP_REASON_FALLBACK,
      });
      // The instance that found the save also writes the snapshot routing lacked.
      await eventually(
        async () => ((await snapshotRevision(TENANT)) === Number(revision) ? true : undefined),
        'the snapshot of the save whose event never came',
      );
    } finally {
      await client.close();
    }
  });

  it('creates, updates and deletes single menus', async () => {
    const create = (menuToCreate: ivrServiceV1.Menu, tenantId = OTHER) =>
      call<ivrServiceV1.CreateMenuRequest, ivrServiceV1.CreateMenuResponse>(
        'createMenu',
        { tenantId, menu: menuToCreate },
        { token: operatorToken },
      );
    const operatorToken = await token({ subject: 'ops', tenantId: 'provider', role: 'operator' });
    const created = await create(menu('welcome', { '1': department('buergerbuero') }, { entry: true }));
    expect(created.menu).toMatchObject({ tenantId: OTHER, menuId: 'welcome', revision: '1' });
    expect(await rejection(create(menu('welcome', {}, { entry: true })))).toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
    });
    const updated = await call<ivrServiceV1.UpdateMenuRequest, ivrServiceV1.UpdateMenuResponse>(
      'updateMenu',
      { tenantId: OTHER, menu: { ...created.menu!, name: 'Willkommen' } },
      { token: operatorToken },
    );
    expect(updated.menu).toMatchObject({ name: 'Willkommen', revision: '2' });
    await call('deleteMenu', { tenantId: OTHER, menuId: 'welcome' }, { token: operatorToken });
    expect(
      await rejection(call('getMenu', { tenantId: OTHER, menuId: 'welcome' }, { token: operatorToken })),
    ).toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('tenant isolation', () => {
  it("keeps one tenant's menus from another", async () => {
    const otherAdmin = await token({ subject: 'admin@other', tenantId: OTHER, role: 'admin' });
    expect(await rejection(call('listMenus', { tenantId: TENANT }, { token: otherAdmin }))).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const agent = await token({ subject: 'agent@kropp', tenantId: TENANT, role: 'agent' });
    expect(await rejection(saveMenus({ menus: amtMenus() }, { token: agent }))).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    // Over NATS the subject's tenant must be the request's, and menus are looked up per tenant.
    const spoofed = natsRpcClient(router, {
      definition: { evaluateStep: ivrServiceV1.IvrServiceService.evaluateStep },
      subjectFor: (method) => ivrRpcSubject(OTHER, method),
    });
    const error = await spoofed
      .evaluateStep(
        ivrServiceV1.EvaluateStepRequest.fromPartial({
          tenantId: TENANT,
          menuId: 'main',
          input: StepInput.STEP_INPUT_ENTER,
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GrpcStatusError);
    expect((error as GrpcStatusError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await rejection(step({ tenantId: OTHER, menuId: 'main', input: StepInput.STEP_INPUT_ENTER }))).toMatchObject(
      { code: grpc.status.NOT_FOUND },
    );
  });
});

describe('menu snapshots for routing', () => {
  it('answer every step of the Amt and the demo menus as EvaluateStep does', async () => {
    const operatorToken = await token({ subject: 'ops', tenantId: 'provider', role: 'operator' });
    const demo = await saveMenus({ tenantId: 't-demo', menus: await demoMenus() }, { token: operatorToken });
    const current = await call<ivrServiceV1.ListMenusRequest, ivrServiceV1.ListMenusResponse>('listMenus', {
      tenantId: TENANT,
    });
    const mirror = await MenuMirror.open(router, {
      logger: createLogger({ service: 'routing-test', level: 'silent' }),
    });
    try {
      for (const [tenantId, revision, menus] of [
        [TENANT, current.revision, current.menus],
        ['t-demo', demo.revision, demo.menus],
      ] as const) {
        const mirrored = await eventually(() => {
          const held = mirror.get(tenantId);
          return held?.set.revision === Number(revision) ? held.set : undefined;
        }, `revision ${revision} of ${tenantId} in the mirror`);
        for (const partial of everyStep(menus)) {
          const request = ivrServiceV1.EvaluateStepRequest.fromPartial({ tenantId, callId: 'call-3', ...partial });
          const local = await outcome(async () => evaluateStep(mirrored, request));
          // Asked of the first instance: it resyncs often, so it holds every save the mirror has.
          const answered = await outcome(() =>
            call<ivrServiceV1.EvaluateStepRequest, ivrServiceV1.EvaluateStepResponse>('evaluateStep', request, {
              instance: 0,
              token: operatorToken,
            }),
          );
          expect(local, JSON.stringify(partial)).toEqual(answered);
        }
      }
    } finally {
      mirror.stop();
    }
  });

  it('are written at start for every tenant with menus, also one the bucket lost', async () => {
    const kv = await new Kvm(router.js).open(KV_BUCKETS.ivrMenus);
    await kv.purge(TENANT);
    const client = await MongoClient.connect(mongo.url);
    let third: RunningService | undefined;
    try {
      // A tenant saved while no instance could write its snapshot.
      expect(await new MenuStore(client.db('ivr_test')).replace('t-start', 0, amtMenus(), new Date())).toBe(true);
      expect([await snapshotRevision(TENANT), await snapshotRevision('t-start')]).toEqual([0, 0]);
      third = await startInstance();
      const revisions = await call<ivrServiceV1.ListMenusRequest, ivrServiceV1.ListMenusResponse>('listMenus', {
        tenantId: TENANT,
      });
      expect([await snapshotRevision(TENANT), await snapshotRevision('t-start')]).toEqual([
        Number(revisions.revision),
        1,
      ]);
    } finally {
      await third?.shutdown('test done');
      await client.close();
    }
  });
});
