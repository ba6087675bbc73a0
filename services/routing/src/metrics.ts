import { metrics } from '@opentelemetry/api';

// The names, units and attributes are the dashboards' contract (/work/briefs/metrics.md).
const meter = metrics.getMeter('@switchboard/routing');

export const WAIT_BUCKETS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

export const routingMetrics = {
  offered: meter.createCounter('calls.offered', {
    description: 'Calls that entered a department queue (after the IVR).',
    unit: '{call}',
  }),
  answered: meter.createCounter('calls.answered', {
    description: 'Calls an agent answered and was bridged to.',
    unit: '{call}',
  }),
  abandoned: meter.createCounter('calls.abandoned', {
    description: 'Callers who hung up while queued or while an agent was ringing.',
    unit: '{call}',
  }),
  overflowed: meter.createCounter('calls.overflowed', {
    description: 'Calls sent past the max wait to the overflow target.',
    unit: '{call}',
  }),
  fallback: meter.createCounter('calls.fallback', {
    description: 'Calls that took the fallback path (unknown number, IVR error, service unavailable, no department).',
    unit: '{call}',
  }),
  active: meter.createUpDownCounter('calls.active', {
    description: 'Calls this replica is routing now.',
    unit: '{call}',
  }),
  queued: meter.createUpDownCounter('calls.queued', {
    description: 'Callers this replica holds waiting in a department queue.',
    unit: '{call}',
  }),
  wait: meter.createHistogram('calls.wait', {
    description: 'Time a caller waited in a department queue, by outcome.',
    unit: 's',
    advice: { explicitBucketBoundaries: WAIT_BUCKETS },
  }),
  decision: meter.createHistogram('routing.decision.duration', {
    description: 'Time routing itself spends on one step of a call (its lookups and requests).',
    unit: 's',
  }),
  callbacks: meter.createCounter('calls.callbacks', {
    description: 'Callback dial-back attempts by outcome; `dropped` when a request is given up.',
    unit: '{call}',
  }),
  outbound: meter.createCounter('calls.outbound', {
    description: 'Outbound calls by policy result.',
    unit: '{call}',
  }),
};

export type FallbackReason = 'unknown_number' | 'ivr_error' | 'service_unavailable' | 'no_department';
export type DecisionStep = 'entry' | 'ivr' | 'reserve' | 'dial';

/** Runs `work` and records its duration under `routing.decision.duration{step}`. */
export async function timed<T>(step: DecisionStep, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    routingMetrics.decision.record((performance.now() - started) / 1000, { step });
  }
}
