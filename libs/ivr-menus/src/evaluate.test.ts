import * as grpc from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { amtMenus, department, external, menu, submenu, voicemail } from './testing.js';
import { compileMenuSet, evaluateStep } from './evaluate.js';

const { ActionKind, OpenState, StepInput, StepReason } = ivrServiceV1;
const SET = compileMenuSet(7, amtMenus());

function step(request: Partial<ivrServiceV1.EvaluateStepRequest>, set = SET): ivrServiceV1.EvaluateStepResponse {
  return evaluateStep(
    set,
    ivrServiceV1.EvaluateStepRequest.fromPartial({ tenantId: 't-kropp', callId: 'call-1', menuId: 'main', ...request }),
  );
}

function failure(request: Partial<ivrServiceV1.EvaluateStepRequest>, set = SET): { code: number; details: string } {
  try {
    step(request, set);
  } catch (error) {
    if (!(error instanceof GrpcStatusError)) throw error;
    return { code: error.code, details: error.details };
  }
  throw new Error('expected the step to fail');
}

describe('evaluateStep', () => {
  it('plays the entry menu and sends a digit to its department', () => {
    expect(step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_OPEN })).toEqual({
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
      target: undefined,
      revision: '7',
    });
    expect(step({ input: StepInput.STEP_INPUT_DIGITS, digits: '1' })).toEqual({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_SELECTED,
      menuId: 'main',
      retryCount: 0,
      collect: undefined,
      target: department('meldewesen'),
      revision: '7',
    });
  });

  it('retries an invalid digit and a timeout, then takes the fallback', () => {
    const invalid = step({ input: StepInput.STEP_INPUT_DIGITS, digits: '7', retryCount: 0 });
    expect(invalid).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_INVALID_RETRY,
      retryCount: 1,
      collect: { prompts: ['sound:switchboard/invalid', 'sound:switchboard/main'] },
    });
    const timeout = step({ input: StepInput.STEP_INPUT_TIMEOUT, retryCount: invalid.retryCount });
    expect(timeout).toMatchObject({
      reason: StepReason.STEP_REASON_TIMEOUT_RETRY,
      retryCount: 2,
      collect: { prompts: ['sound:switchboard/no-input', 'sound:switchboard/main'] },
    });
    expect(step({ input: StepInput.STEP_INPUT_DIGITS, digits: '7', retryCount: timeout.retryCount })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_FALLBACK,
      menuId: 'main',
      retryCount: 0,
      target: department('zentrale'),
    });
  });

  it('enters a submenu, repeats, and goes back', () => {
    expect(step({ input: StepInput.STEP_INPUT_DIGITS, digits: '2', retryCount: 1 })).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_SELECTED,
      menuId: 'standesamt',
      retryCount: 0,
      collect: { prompts: ['sound:switchboard/standesamt'] },
    });
    expect(step({ menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '2' })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      target: external('+4943319876543'),
    });
    expect(step({ menuId: 'standesamt', input: StepInput.STEP_INPUT_DIGITS, digits: '0' })).toMatchObject({
      menuId: 'main',
      collect: { prompts: ['sound:switchboard/main'] },
    });
    expect(step({ input: StepInput.STEP_INPUT_DIGITS, digits: '9', retryCount: 1 })).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_REPEAT,
      menuId: 'main',
      retryCount: 1,
    });
  });

  it('takes the closed branch outside hours and the holiday branch on holidays', () => {
    expect(step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_CLOSED })).toMatchObject({
      action: ActionKind.ACTION_KIND_PLAY_AND_COLLECT,
      reason: StepReason.STEP_REASON_CLOSED,
      menuId: 'after-hours',
    });
    expect(step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_HOLIDAY })).toMatchObject({
      action: ActionKind.ACTION_KIND_TRANSFER,
      reason: StepReason.STEP_REASON_HOLIDAY,
      target: voicemail('zentrale'),
    });
    // Without an answer from the directory the menu plays as when open.
    expect(step({ input: StepInput.STEP_INPUT_ENTER })).toMatchObject({ menuId: 'main' });
    expect(
      step({ menuId: 'after-hours', input: StepInput.STEP_INPUT_TIMEOUT, openState: OpenState.OPEN_STATE_CLOSED }),
    ).toMatchObject({ action: ActionKind.ACTION_KIND_TRANSFER, reason: StepReason.STEP_REASON_FALLBACK });
  });

  it('uses the closed branch on a holiday when the menu has no holiday branch', () => {
    const set = compileMenuSet(1, [
      menu(
        'main',
        { '1': department('bauhof') },
        { entry: true, hours: { closed: voicemail('bauhof'), holiday: undefined } },
      ),
    ]);
    expect(step({ input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_HOLIDAY }, set)).toMatchObject({
      reason: StepReason.STEP_REASON_HOLIDAY,
      target: voicemail('bauhof'),
    });
  });

  it('collects as many digits as the longest option has', () => {
    const set = compileMenuSet(1, [menu('main', { '1': department('a'), '42#': department('b') }, { entry: true })]);
    expect(step({ input: StepInput.STEP_INPUT_ENTER }, set).collect?.maxDigits).toBe(3);
    expect(step({ input: StepInput.STEP_INPUT_DIGITS, digits: '42#' }, set).target).toEqual(department('b'));
  });

  it('answers an unknown menu, a bad input or a negative retry count with the status EvaluateStep answers', () => {
    expect(failure({ menuId: 'nope', input: StepInput.STEP_INPUT_ENTER })).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'menu "nope" not found',
    });
    expect(failure({ input: StepInput.STEP_INPUT_UNSPECIFIED })).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'input must be ENTER, DIGITS or TIMEOUT',
    });
    expect(failure({ input: StepInput.STEP_INPUT_ENTER, retryCount: -1 })).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'retry_count must not be negative',
    });
  });

  it('stops a loop of submenus that validation would have refused', () => {
    const looping = compileMenuSet(1, [
      menu('a', {}, { entry: true, hours: { closed: submenu('b'), holiday: undefined } }),
      menu('b', {}, { hours: { closed: submenu('a'), holiday: undefined } }),
    ]);
    expect(
      failure({ menuId: 'a', input: StepInput.STEP_INPUT_ENTER, openState: OpenState.OPEN_STATE_CLOSED }, looping),
    ).toEqual({ code: grpc.status.FAILED_PRECONDITION, details: 'menu "a" loops through submenus' });
  });
});
