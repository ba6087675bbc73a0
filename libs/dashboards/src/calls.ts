import { RANGE, RATE_INTERVAL, TENANT, TENANT_DEPARTMENT } from './selectors.js';
import type { DashboardSpec } from './spec.js';

/** Per-minute rate of a routing counter, per department. */
const perMinute = (counter: string) =>
  `sum by (department) (rate(${counter}{${TENANT_DEPARTMENT}}[${RATE_INTERVAL}])) * 60`;

const waitQuantile = (q: number) =>
  `histogram_quantile(${q}, sum by (department, le) (rate(calls_wait_bucket{${TENANT_DEPARTMENT}}[${RATE_INTERVAL}])))`;

// Service level as the 115 promise counts it: of the callers who waited in a queue (answered,
// abandoned or overflowed), the share answered within 30 s. 30 is a bucket boundary of calls.wait.
const serviceLevel = (window: string, by: string) =>
  `sum by (${by}) (increase(calls_wait_bucket{${TENANT_DEPARTMENT},outcome="answered",le="30"}[${window}]))` +
  ` / sum by (${by}) (increase(calls_wait_count{${TENANT_DEPARTMENT}}[${window}]))`;

// Red below the 75 % target.
const SERVICE_LEVEL_COLOURS = [
  { from: null, color: 'red' },
  { from: 0.75, color: 'green' },
];

export const callsDashboard: DashboardSpec = {
  name: 'calls',
  title: 'Switchboard / Calls',
  description: 'Calls offered, answered and abandoned, waiting times and the service level per department.',
  variables: ['tenant', 'department'],
  panels: [
    {
      title: 'Offered calls per minute',
      description: 'Calls that entered a department queue (after the IVR).',
      kind: 'timeseries',
      unit: 'short',
      queries: [{ expr: perMinute('calls_offered_total'), legend: '{{department}}' }],
      width: 8,
    },
    {
      title: 'Answered calls per minute',
      description: 'Calls an agent answered and was bridged to.',
      kind: 'timeseries',
      unit: 'short',
      queries: [{ expr: perMinute('calls_answered_total'), legend: '{{department}}' }],
      width: 8,
    },
    {
      title: 'Abandoned calls per minute',
      description: 'Callers who hung up while queued or ringing.',
      kind: 'timeseries',
      unit: 'short',
      queries: [{ expr: perMinute('calls_abandoned_total'), legend: '{{department}}' }],
      width: 8,
    },
    {
      title: 'Overflow and fallback per minute',
      description:
        'Calls sent past the maximum wait to their overflow target, and calls that took the fallback path, by reason.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: `sum by (department, target) (rate(calls_overflowed_total{${TENANT_DEPARTMENT}}[${RATE_INTERVAL}])) * 60`,
          legend: 'overflow {{department}} → {{target}}',
        },
        {
          expr: `sum by (reason) (rate(calls_fallback_total{${TENANT}}[${RATE_INTERVAL}])) * 60`,
          legend: 'fallback {{reason}}',
        },
      ],
    },
    {
      title: 'Concurrent calls',
      description: 'Calls being routed now (all replicas) and callers waiting per department.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        { expr: `sum(calls_active{${TENANT}})`, legend: 'active' },
        { expr: `sum by (department) (calls_queued{${TENANT_DEPARTMENT}})`, legend: 'queued {{department}}' },
      ],
    },
    {
      title: 'Waiting time p50 / p95 per department',
      description: 'Time callers waited in the queue, whatever the outcome.',
      kind: 'timeseries',
      unit: 's',
      queries: [
        { expr: waitQuantile(0.5), legend: 'p50 {{department}}' },
        { expr: waitQuantile(0.95), legend: 'p95 {{department}}' },
      ],
    },
    {
      title: 'Service level (answered within 30 s)',
      description: 'Share of queued callers answered within 30 s over the selected range; the 115 promise is 75 %.',
      kind: 'stat',
      unit: 'percentunit',
      queries: [{ expr: serviceLevel(RANGE, 'department'), legend: '{{department}}' }],
      thresholds: SERVICE_LEVEL_COLOURS,
    },
    {
      title: 'Service level per hour',
      description: 'Share of queued callers answered within 30 s, over the past hour at each point.',
      kind: 'timeseries',
      unit: 'percentunit',
      queries: [{ expr: serviceLevel('1h', 'department'), legend: '{{department}}' }],
      thresholds: SERVICE_LEVEL_COLOURS,
    },
  ],
};
