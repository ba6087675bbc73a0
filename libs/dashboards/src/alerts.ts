// Alert rules, written once: `rulesFile()` is both the plain Prometheus rules file (promtool,
// the test Prometheus, docker compose) and the `spec` of the chart's PrometheusRule.

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: 'warning' | 'critical' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RulesFile {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly rules: readonly AlertRule[] }>;
}

const ANSWERED_WITHIN_30S = 'sum by (tenant, department) (increase(calls_wait_bucket{outcome="answered",le="30"}[1h]))';
const QUEUED = 'sum by (tenant, department) (increase(calls_wait_count[1h]))';
const BUNDLE_SHARE = 'max by (tenant, pool) (rating_pool_used) / (max by (tenant, pool) (rating_pool_included) > 0)';

export const alertRules: readonly AlertRule[] = [
  {
    alert: 'SwitchboardServiceLevelBelowTarget',
    // Only departments with enough calls in the hour for a share to mean something.
    expr: `(${ANSWERED_WITHIN_30S} / ${QUEUED}) < 0.75 and ${QUEUED} >= 10`,
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Service level of {{ $labels.tenant }}/{{ $labels.department }} below 75 %',
      description:
        'Only {{ $value | humanizePercentage }} of queued callers were answered within 30 s in the past hour (target 75 %).',
    },
  },
  {
    alert: 'SwitchboardConsumerLagGrowing',
    expr: 'max by (stream, consumer) (events_consumer_pending) > 100 and max by (stream, consumer) (deriv(events_consumer_pending[10m])) > 0',
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'JetStream consumer {{ $labels.consumer }} is falling behind',
      description: '{{ $value }} messages of {{ $labels.stream }} are unacknowledged and the backlog keeps growing.',
    },
  },
  {
    alert: 'SwitchboardFaxFailures',
    // The counter's series only appears with the first failure, and increase() needs two samples:
    // the second half catches a series that did not exist 15 minutes ago.
    expr: 'sum by (reason) (increase(fax_failures_total[15m])) > 0 or sum by (reason) (fax_failures_total unless fax_failures_total offset 15m) > 0',
    for: '0m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Faxes failed ({{ $labels.reason }})',
      description: '{{ $value }} faxes were not fully received, converted or delivered in the past 15 minutes.',
    },
  },
  {
    alert: 'SwitchboardVoicemailFailures',
    // Counted by the adapter (recording, fetch, store, publish) and the fax service (no audio,
    // no mailbox, delivery); like faxes, a series may appear with its first failure.
    expr: 'sum by (reason) (increase(voicemail_failures_total[15m])) > 0 or sum by (reason) (voicemail_failures_total unless voicemail_failures_total offset 15m) > 0',
    for: '0m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Voicemail messages failed ({{ $labels.reason }})',
      description:
        '{{ $value }} voicemail messages were not fully recorded, stored or delivered in the past 15 minutes.',
    },
  },
  {
    alert: 'SwitchboardUsageOnUnknownSites',
    // Rating charged legs to a default or catch-all site, or a close billed usage to the invoice's
    // catch-all share: the tenant's sites, tariff or billing profile need fixing before the next close.
    expr: 'sum by (tenant) (increase(rating_legs_unknown_site_total[1h])) > 0 or sum by (tenant) (increase(billing_unassigned_site_closes_total[1h])) > 0',
    for: '0m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Usage of {{ $labels.tenant }} on sites the tenant does not have',
      description:
        '{{ $value }} legs or month closes in the past hour named a site missing from the directory or the billing profile; they are billed to a default or the catch-all share "unassigned".',
    },
  },
  {
    alert: 'SwitchboardAuditEntriesNotPublished',
    // The audit log is append-only proof of who changed what; an entry the kit could not publish
    // after its retries exists only in that service's log until someone records it.
    expr: 'sum by (job, tenant) (increase(audit_publish_failures_total[15m])) > 0 or sum by (job, tenant) (audit_publish_failures_total unless audit_publish_failures_total offset 15m) > 0',
    for: '0m',
    labels: { severity: 'critical' },
    annotations: {
      summary: '{{ $labels.job }} could not record changes of {{ $labels.tenant }} in the audit log',
      description:
        '{{ $value }} audited changes in the past 15 minutes are only in the service log (message "audit entry not published"); restore NATS and keep those log lines as the record.',
    },
  },
  {
    alert: 'SwitchboardDeadLetterQueueNotEmpty',
    expr: 'max(events_stream_messages{stream="DLQ"}) > 0',
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Messages parked on the dead-letter queue',
      description: '{{ $value }} messages are parked on the DLQ stream; inspect and replay or discard them.',
    },
  },
  {
    alert: 'SwitchboardBundleAt80Percent',
    expr: `${BUNDLE_SHARE} >= 0.8 < 1`,
    for: '0m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Bundle {{ $labels.pool }} of {{ $labels.tenant }} is 80 % used',
      description: '{{ $value | humanizePercentage }} of the month’s {{ $labels.pool }} minutes are used.',
    },
  },
  {
    alert: 'SwitchboardBundleExhausted',
    expr: `${BUNDLE_SHARE} >= 1`,
    for: '0m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'Bundle {{ $labels.pool }} of {{ $labels.tenant }} is used up',
      description: 'Further {{ $labels.pool }} minutes this month are billed as overage.',
    },
  },
];

export function rulesFile(): RulesFile {
  return { groups: [{ name: 'switchboard', rules: alertRules }] };
}
