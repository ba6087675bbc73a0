import { metrics, type Counter } from '@opentelemetry/api';
import { ivrServiceV1 } from '@switchboard/proto';

export interface IvrMetrics {
  /** Answered steps by reason (entered, selected, fallback, closed, ...): what callers do. */
  steps: Counter;
  /** Steps answered with an error, by gRPC status code name (unknown menu, bad input). */
  failedSteps: Counter;
}

/** Created at start, after the kit registered the meter provider (earlier ones would be no-ops). */
export function createIvrMetrics(): IvrMetrics {
  const meter = metrics.getMeter('@switchboard/ivr');
  return {
    steps: meter.createCounter('ivr.steps', { description: 'EvaluateStep answers, by reason.', unit: '{step}' }),
    failedSteps: meter.createCounter('ivr.steps.failed', {
      description: 'EvaluateStep requests answered with an error, by status.',
      unit: '{step}',
    }),
  };
}

export function reasonLabel(reason: ivrServiceV1.StepReason): string {
  return ivrServiceV1.stepReasonToJSON(reason).replace('STEP_REASON_', '').toLowerCase();
}
