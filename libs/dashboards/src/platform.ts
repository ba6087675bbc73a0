import { RANGE, RATE_INTERVAL } from './selectors.js';
import type { DashboardSpec } from './spec.js';

// Several replicas (and services) report the same stream or consumer from JetStream: max, not sum.
export const platformDashboard: DashboardSpec = {
  name: 'platform',
  title: 'Switchboard / Platform',
  description: 'JetStream lag, RPC latency and errors, event-loop lag, restarts, fax failures and the DLQ.',
  variables: [],
  panels: [
    {
      title: 'JetStream consumer lag',
      description: 'Messages each durable consumer has not acknowledged yet (pending + awaiting ack).',
      kind: 'timeseries',
      unit: 'short',
      queries: [{ expr: 'max by (stream, consumer) (events_consumer_pending)', legend: '{{consumer}}' }],
    },
    {
      title: 'Dead-letter queue size',
      description: 'Messages parked on the DLQ stream; anything above zero needs a look (sb dlq).',
      kind: 'stat',
      unit: 'short',
      queries: [{ expr: 'max(events_stream_messages{stream="DLQ"})', legend: 'DLQ' }],
    },
    {
      title: 'RPC latency p95',
      description: 'Server-side time per RPC, gRPC and NATS request/reply, per service.',
      kind: 'timeseries',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (job, rpc_system, le) (rate(rpc_server_duration_bucket[${RATE_INTERVAL}])))`,
          legend: '{{job}} {{rpc_system}}',
        },
      ],
    },
    {
      title: 'RPC errors per second',
      description: 'RPCs answered with a status other than OK, by service and status.',
      kind: 'timeseries',
      unit: 'reqps',
      queries: [
        {
          expr: `sum by (job, rpc_system, rpc_status) (rate(rpc_server_duration_count{rpc_status!="OK"}[${RATE_INTERVAL}]))`,
          legend: '{{job}} {{rpc_system}} {{rpc_status}}',
        },
      ],
    },
    {
      title: 'Routing decision time p95',
      description: 'Time routing itself spends per call step (entry, IVR, reserve, dial), excluding the caller.',
      kind: 'timeseries',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (step, le) (rate(routing_decision_duration_bucket[${RATE_INTERVAL}])))`,
          legend: '{{step}}',
        },
      ],
    },
    {
      title: 'Event processing',
      description: 'Messages handled by consumers per second, by outcome (acked, retried, parked).',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: `sum by (consumer, outcome) (rate(events_processed_total[${RATE_INTERVAL}]))`,
          legend: '{{consumer}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Event-loop lag p99',
      description: 'How late Node.js timers run, per process: high values delay every call a replica handles.',
      kind: 'timeseries',
      unit: 's',
      queries: [{ expr: 'max by (job, instance) (nodejs_eventloop_delay_p99)', legend: '{{job}} {{instance}}' }],
    },
    {
      title: 'Restarts',
      description: 'Process restarts over the selected range (changes of the process start time).',
      kind: 'stat',
      unit: 'short',
      queries: [{ expr: `sum by (job) (changes(process_start_time[${RANGE}]))`, legend: '{{job}}' }],
    },
    {
      title: 'Fax failures',
      description: 'Faxes not fully received, converted or delivered over the selected range, by reason.',
      kind: 'stat',
      unit: 'short',
      queries: [{ expr: `sum by (reason) (increase(fax_failures_total[${RANGE}]))`, legend: '{{reason}}' }],
    },
  ],
};
