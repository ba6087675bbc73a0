import * as grpc from '@grpc/grpc-js';
import { Kvm, type KV } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { MENU_BUCKET_CONFIG, MenuMirror, encodeMenuSnapshot } from '@switchboard/ivr-menus';
import { ivrServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { eventually, startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirroredMenuSteps, type MenuStepClient } from './menus.js';

const { ActionKind, OpenState, StepInput, StepReason, TargetKind } = ivrServiceV1;
const logger = createLogger({ service: 'routing-menus-test', level: 'silent' });
const TENANT = 't-kropp';

const department = (ref: string) => ({ kind: TargetKind.TARGET_KIND_DEPARTMENT, ref });
const submenu = (ref: string) => ({ kind: TargetKind.TARGET_KIND_SUBMENU, ref });
const voicemail = (ref: string) => ({ kind: TargetKind.TARGET_KIND_VOICEMAIL, ref });

function menu(menuId: string, options: Record<string, ivrServiceV1.Target>, extra: Partial<ivrServiceV1.Menu> = {}) {
  return ivrServiceV1.Menu.fromPartial({
    tenantId: TENANT,
    menuId,
    name: menuId,
    language: 'de-DE',
    prompts: [`sound:switchboard/kropp/${menuId}`],
    options: Object.entries(options).map(([digits, target]) => ({ digits, target })),
    timeoutMs: 6_000,
    interDigitTimeoutMs: 2_000,
    bargeIn: true,
    maxRetries: 1,
    fallback: department('zentrale'),
    ...extra,
  });
}

/** Shaped like the demo tenant's menus: a registry submenu, after-hours menu, voicemail on holidays. */
const MENUS = [
  menu(
    'main-menu',
    { '1': department('buergerbuero'), '2': submenu('standesamt-menu'), '0': department('zentrale') },
    { entry: true, hours: { closed: submenu('after-hours'), holiday: voicemail('zentrale') } },
  ),
  menu('standesamt-menu', { '1': department('standesamt'), '2': department('standesamt'), '9': submenu('main-menu') }),
  menu('after-hours', { '1': voicemail('zentrale') }, { maxRetries: 0, fallback: voicemail('zentrale') }),
];

/** ivr's EvaluateStep as the flow's NATS client would reach it; records what it was asked. */
class IvrStandIn implements MenuStepClient {
  readonly asked: ivrServiceV1.EvaluateStepRequest[] = [];
  failure: GrpcStatusError | undefined;

  evaluateStep = async (request: ivrServiceV1.EvaluateStepRequest) => {
    this.asked.push(request);
    if (this.failure) throw this.failure;
    return ivrServiceV1.EvaluateStepResponse.fromPartial({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_SELECTED,
      menuId: request.menuId,
      target: department('from-ivr'),
      revision: '99',
    });
  };
}

let nats: NatsServer;
let ivr: NatsHandle;
let routing: NatsHandle;
let bucket: KV;
let mirror: MenuMirror;

const request = (partial: Partial<ivrServiceV1.EvaluateStepRequest>) =>
  ivrServiceV1.EvaluateStepRequest.fromPartial({ tenantId: TENANT, callId: 'call-1', menuId: 'main-menu', ...partial });

async function rejection(work: Promise<unknown>): Promise<{ code: number; details: string }> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof GrpcStatusError)) throw new Error(`expected a GrpcStatusError, got ${String(error)}`);
  return { code: error.code, details: error.details };
}

/** Writes the tenant's menus as ivr does and waits until the mirror holds that revision. */
async function publish(revision: number, menus: ivrServiceV1.Menu[]): Promise<void> {
  await bucket.put(TENANT, encodeMenuSnapshot({ tenantId: TENANT, revision, publishedAt: new Date(), menus }));
  await eventually(() => (mirror.get(TENANT)?.set.revision === revision ? true : undefined), `revision ${revision}`);
}

beforeAll(async () => {
  nats = await startNats();
  const connect = (identity: 'ivr' | 'routing') =>
    connectNats({ url: nats.url, credentials: nats.credentials(identity), name: `${identity}-test`, logger });
  [ivr, routing] = await Promise.all([connect('ivr'), connect('routing')]);
  bucket = await new Kvm(ivr.js).create(KV_BUCKETS.ivrMenus, MENU_BUCKET_CONFIG);
  mirror = await MenuMirror.open(routing, { logger });
  await publish(4, MENUS);
}, 60_000);

afterAll(async () => {
  mirror?.stop();
  await Promise.all([ivr?.connection.close(), routing?.connection.close()]);
  await nats?.stop();
});

describe('mirroredMenuSteps', () => {
  it('walks the menus as EvaluateStep does, without asking ivr', async () => {
    const ivrService = new IvrStandIn();
    const steps = mirroredMenuSteps(mirror, ivrService, logger);

    expect(await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_ENTER }))).toEqual({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_ENTERED,
      menuId: 'main-menu',
      retryCount: 0,
      collect: {
        prompts: ['sound:switchboard/kropp/main-menu'],
        language: 'de-DE',
        maxDigits: 1,
        timeoutMs: 6_000,
        interDigitTimeoutMs: 2_000,
        bargeIn: true,
      },
      target: undefined,
      revision: '4',
    });
    const submenuEntered = await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_DIGITS, digits: '2' }));
    expect(submenuEntered).toMatchObject({ menuId: 'standesamt-menu', reason: StepReason.STEP_REASON_SELECTED });
    expect(
      await steps.evaluateStep(
        request({ menuId: submenuEntered.menuId, input: StepInput.STEP_INPUT_DIGITS, digits: '2' }),
      ),
    ).toMatchObject({ action: ActionKind.ACTION_KIND_TRANSFER, target: department('standesamt') });
    expect(
      await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_CLOSED })),
    ).toMatchObject({ menuId: 'after-hours', reason: StepReason.STEP_REASON_CLOSED });
    expect(
      await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_HOLIDAY })),
    ).toMatchObject({ reason: StepReason.STEP_REASON_HOLIDAY, target: voicemail('zentrale') });
    const retried = await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_TIMEOUT }));
    expect(retried).toMatchObject({ reason: StepReason.STEP_REASON_TIMEOUT_RETRY, retryCount: 1 });
    expect(
      await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_DIGITS, digits: '7', retryCount: 1 })),
    ).toMatchObject({ reason: StepReason.STEP_REASON_FALLBACK, target: department('zentrale') });
    expect(await rejection(steps.evaluateStep(request({ input: StepInput.STEP_INPUT_UNSPECIFIED })))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'input must be ENTER, DIGITS or TIMEOUT',
    });
    expect(ivrService.asked).toEqual([]);
  });

  it('follows a new revision as soon as the mirror has it', async () => {
    const steps = mirroredMenuSteps(mirror, new IvrStandIn(), logger);
    const [main, ...rest] = MENUS;
    await publish(5, [
      { ...main!, options: [...main!.options, { digits: '3', target: department('bauamt') }] },
      ...rest,
    ]);
    expect(await steps.evaluateStep(request({ input: StepInput.STEP_INPUT_DIGITS, digits: '3' }))).toMatchObject({
      target: department('bauamt'),
      revision: '5',
    });
  });

  it('asks ivr once for a tenant or a menu the mirror does not have, and passes its answer or error on', async () => {
    const ivrService = new IvrStandIn();
    const steps = mirroredMenuSteps(mirror, ivrService, logger);
    const unknownTenant = request({ tenantId: 't-new', input: StepInput.STEP_INPUT_ENTER });
    const unknownMenu = request({ menuId: 'saved-just-now', input: StepInput.STEP_INPUT_ENTER });
    expect(await steps.evaluateStep(unknownTenant)).toMatchObject({ target: department('from-ivr'), revision: '99' });
    expect(await steps.evaluateStep(unknownMenu)).toMatchObject({ menuId: 'saved-just-now', revision: '99' });
    expect(ivrService.asked).toEqual([unknownTenant, unknownMenu]);

    // ivr unreachable: the flow sees the same error as from its own request (and falls back).
    ivrService.failure = new GrpcStatusError(grpc.status.UNAVAILABLE, 'no responders');
    expect(await rejection(steps.evaluateStep(unknownTenant))).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: 'no responders',
    });
  });

  it('answers an unknown tenant or menu with the NOT_FOUND of EvaluateStep when there is no fallback', async () => {
    const steps = mirroredMenuSteps(mirror, undefined, logger);
    const notFound = { code: grpc.status.NOT_FOUND, details: 'menu "main-menu" not found' };
    expect(
      await rejection(steps.evaluateStep(request({ tenantId: 't-new', input: StepInput.STEP_INPUT_ENTER }))),
    ).toEqual(notFound);
    expect(
      await rejection(steps.evaluateStep(request({ menuId: 'no-such-menu', input: StepInput.STEP_INPUT_ENTER }))),
    ).toEqual({ code: grpc.status.NOT_FOUND, details: 'menu "no-such-menu" not found' });
  });
});
