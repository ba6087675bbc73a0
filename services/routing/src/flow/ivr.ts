import { callControlV1, ivrServiceV1 } from '@switchboard/proto';
import { isUnavailable } from '../clients.js';
import { timed } from '../metrics.js';
import { fallback, tenantOrFallback, toVoicemail } from './announce.js';
import { CallGone, Handover } from './call-end.js';
import type { CallFlow, Change } from './driver.js';
import { connectStaff, denied, outsideTarget } from './entry.js';
import { enqueue } from './queue.js';

// The IVR dialog: the menu's next step for the caller's input (enter, digits, timeout), its
// prompts played with the digits collected, until a target (department, colleague, outside
// number, voicemail) is reached.

const { ActionKind, StepInput, TargetKind } = ivrServiceV1;
const INPUTS = {
  enter: StepInput.STEP_INPUT_ENTER,
  digits: StepInput.STEP_INPUT_DIGITS,
  timeout: StepInput.STEP_INPUT_TIMEOUT,
};
const COLLECT_TIMEOUT_MS = 300_000;

export async function ivrStep(call: CallFlow): Promise<Change | void> {
  const { state } = call;
  const step = state.ivr!;
  let answer: ivrServiceV1.EvaluateStepResponse;
  try {
    answer = await timed('ivr', () =>
      call.guard(
        call.deps.clients.ivr.evaluateStep({
          tenantId: state.tenantId,
          callId: state.callId,
          menuId: step.menuId,
          input: INPUTS[step.input],
          digits: step.digits,
          retryCount: step.retryCount,
          openState: step.openState,
        }),
      ),
    );
  } catch (error) {
    if (error instanceof Handover || error instanceof CallGone) throw error;
    return fallback(call, isUnavailable(error) ? 'service_unavailable' : 'ivr_error', error);
  }
  if (answer.action === ActionKind.ACTION_KIND_PLAY_AND_COLLECT && answer.collect) {
    const collect = answer.collect;
    const result = await call.guard(
      call.control(COLLECT_TIMEOUT_MS).playAndCollect({
        // Per visit, not written: a replica that takes the call over replays the dialog from the
        // entry with the same ids, and the adapter answers each with the digits it collected.
        ...call.command(`ivr-${++call.ivrVisits}`),
        media: collect.prompts,
        language: collect.language,
        maxDigits: collect.maxDigits || 1,
        terminator: '',
        firstDigitTimeoutMs: collect.timeoutMs,
        interDigitTimeoutMs: collect.interDigitTimeoutMs,
        bargeIn: collect.bargeIn,
      }),
    );
    if (result.endedBy === callControlV1.CollectEnd.COLLECT_END_HANGUP)
      throw new CallGone('caller hung up in the menu');
    state.ivr = {
      ...step,
      menuId: answer.menuId,
      retryCount: answer.retryCount,
      input: result.digits ? 'digits' : 'timeout',
      digits: result.digits,
    };
    return;
  }
  const target = answer.target;
  switch (target?.kind) {
    case TargetKind.TARGET_KIND_DEPARTMENT:
      return enqueue(call, target.ref);
    case TargetKind.TARGET_KIND_SUBMENU:
    case TargetKind.TARGET_KIND_REPEAT:
      state.ivr = {
        ...step,
        menuId: target.kind === TargetKind.TARGET_KIND_SUBMENU ? target.ref : answer.menuId,
        retryCount: 0,
        input: 'enter',
        digits: '',
      };
      return;
    case TargetKind.TARGET_KIND_EXTENSION: {
      const view = await tenantOrFallback(call);
      if (!view) return;
      return connectStaff(call, view.staffByExtension(target.ref), state.caller);
    }
    case TargetKind.TARGET_KIND_EXTERNAL: {
      const view = await tenantOrFallback(call);
      if (!view) return;
      // A menu's outside number follows the policy of the site whose number was dialled.
      const decision = view.checkOutbound(target.ref, state.siteId);
      if (!decision.allowed) {
        denied(call, decision);
        return fallback(call, 'ivr_error', new Error(`the menu's outside number is refused: ${decision.reason}`));
      }
      return {
        step: 'connecting',
        target: outsideTarget(
          call,
          decision.number,
          view.callerIdFor(state.siteId) || state.caller,
          state.siteId ? { site_id: state.siteId } : {},
        ),
      };
    }
    case TargetKind.TARGET_KIND_VOICEMAIL:
      return toVoicemail(target.ref, []);
    default:
      return fallback(call, 'ivr_error', new Error(`IVR answered without a usable target (${answer.reason})`));
  }
}
