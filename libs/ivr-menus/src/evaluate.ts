import * as grpc from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';

const { ActionKind, OpenState, StepInput, StepReason, TargetKind } = ivrServiceV1;
type Menu = ivrServiceV1.Menu;
type Target = ivrServiceV1.Target;
type Response = ivrServiceV1.EvaluateStepResponse;

/** A validated menu prepared for the per-call path: option lookup by digits, collect settings. */
export interface CompiledMenu {
  readonly menu: Menu;
  readonly options: ReadonlyMap<string, Target>;
  readonly maxDigits: number;
}

/** One tenant's validated menus at one revision. */
export interface CompiledMenuSet {
  readonly revision: number;
  readonly menus: ReadonlyMap<string, CompiledMenu>;
}

export function compileMenuSet(revision: number, menus: readonly Menu[]): CompiledMenuSet {
  return {
    revision,
    menus: new Map(
      menus.map((menu) => [
        menu.menuId,
        {
          menu,
          options: new Map(menu.options.map((option) => [option.digits, option.target!])),
          maxDigits: Math.max(1, ...menu.options.map((option) => option.digits.length)),
        },
      ]),
    ),
  };
}

/**
 * The next action of a call in a menu. Pure and stateless: the call's menu id and retry count
 * come with the request and go back with the answer. Submenu, opening-hours and fallback
 * branches are followed here, so routing needs one request per caller input.
 */
export function evaluateStep(set: CompiledMenuSet, request: ivrServiceV1.EvaluateStepRequest): Response {
  if (request.retryCount < 0)
    throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'retry_count must not be negative');
  const current = find(set, request.menuId);
  // Each hop enters another menu; validation forbids loops of hops, this bounds a bad cache.
  let hopsLeft = set.menus.size;

  const collect = (
    compiled: CompiledMenu,
    retryCount: number,
    reason: ivrServiceV1.StepReason,
    before: string[] = [],
  ) => {
    const { menu } = compiled;
    return response(set, menu.menuId, ActionKind.ACTION_KIND_PLAY_AND_COLLECT, reason, retryCount, {
      collect: {
        prompts: [...before, ...menu.prompts],
        language: menu.language,
        maxDigits: compiled.maxDigits,
        timeoutMs: menu.timeoutMs,
        interDigitTimeoutMs: menu.interDigitTimeoutMs,
        bargeIn: menu.bargeIn,
      },
    });
  };

  const enter = (compiled: CompiledMenu, reason: ivrServiceV1.StepReason): Response => {
    const { hours } = compiled.menu;
    if (request.openState === OpenState.OPEN_STATE_HOLIDAY && (hours?.holiday ?? hours?.closed)) {
      return goTo(compiled, (hours.holiday ?? hours.closed)!, StepReason.STEP_REASON_HOLIDAY);
    }
    if (request.openState === OpenState.OPEN_STATE_CLOSED && hours?.closed) {
      return goTo(compiled, hours.closed, StepReason.STEP_REASON_CLOSED);
    }
    return collect(compiled, 0, reason);
  };

  const goTo = (from: CompiledMenu, target: Target, reason: ivrServiceV1.StepReason): Response => {
    if (target.kind === TargetKind.TARGET_KIND_REPEAT)
      return collect(from, request.retryCount, StepReason.STEP_REASON_REPEAT);
    if (target.kind !== TargetKind.TARGET_KIND_SUBMENU) {
      return response(set, from.menu.menuId, ActionKind.ACTION_KIND_TRANSFER, reason, 0, { target });
    }
    hopsLeft -= 1;
    if (hopsLeft < 0)
      throw new GrpcStatusError(grpc.status.FAILED_PRECONDITION, `menu "${request.menuId}" loops through submenus`);
    return enter(find(set, target.ref), reason);
  };

  const retryOrFallback = (reason: ivrServiceV1.StepReason, before: string[]): Response => {
    const next = request.retryCount + 1;
    if (next > current.menu.maxRetries) return goTo(current, current.menu.fallback!, StepReason.STEP_REASON_FALLBACK);
    return collect(current, next, reason, before);
  };

  switch (request.input) {
    case StepInput.STEP_INPUT_ENTER:
      return enter(current, StepReason.STEP_REASON_ENTERED);
    case StepInput.STEP_INPUT_DIGITS: {
      const target = current.options.get(request.digits);
      if (!target) return retryOrFallback(StepReason.STEP_REASON_INVALID_RETRY, current.menu.invalidPrompts);
      return goTo(current, target, StepReason.STEP_REASON_SELECTED);
    }
    case StepInput.STEP_INPUT_TIMEOUT:
      return retryOrFallback(StepReason.STEP_REASON_TIMEOUT_RETRY, current.menu.noInputPrompts);
    default:
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'input must be ENTER, DIGITS or TIMEOUT');
  }
}

function find(set: CompiledMenuSet, menuId: string): CompiledMenu {
  const compiled = set.menus.get(menuId);
  if (!compiled) throw new GrpcStatusError(grpc.status.NOT_FOUND, `menu "${menuId}" not found`);
  return compiled;
}

function response(
  set: CompiledMenuSet,
  menuId: string,
  action: ivrServiceV1.ActionKind,
  reason: ivrServiceV1.StepReason,
  retryCount: number,
  detail: { collect?: ivrServiceV1.PlayAndCollect; target?: Target },
): Response {
  return {
    action,
    reason,
    menuId,
    retryCount,
    collect: detail.collect,
    target: detail.target,
    revision: String(set.revision),
  };
}
