import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alertRules } from '@switchboard/dashboards';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

// `promtool test rules`: synthetic series, evaluated at fixed times, against the alerts each rule
// must (and must not) raise, with their rendered annotations.

const RULES = fileURLToPath(new URL('../../../charts/switchboard/rules/switchboard.rules.yaml', import.meta.url));

interface ExpectedAlert {
  exp_labels: Record<string, string>;
  exp_annotations: { summary: string; description: string };
}

interface AlertCase {
  alertname: string;
  eval_time: string;
  exp_alerts: ExpectedAlert[];
}

interface RuleTest {
  name: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: AlertCase[];
}

const TESTS: RuleTest[] = [
  {
    name: 'service level: half answered within 30 s for 90 minutes, another department at 90 %',
    input_series: [
      { series: 'calls_wait_bucket{tenant="t-a",department="bb",outcome="answered",le="30"}', values: '0+5x120' },
      { series: 'calls_wait_count{tenant="t-a",department="bb",outcome="answered"}', values: '0+6x120' },
      { series: 'calls_wait_count{tenant="t-a",department="bb",outcome="abandoned"}', values: '0+4x120' },
      { series: 'calls_wait_bucket{tenant="t-a",department="ok",outcome="answered",le="30"}', values: '0+9x120' },
      { series: 'calls_wait_count{tenant="t-a",department="ok",outcome="answered"}', values: '0+10x120' },
    ],
    alert_rule_test: [
      {
        alertname: 'SwitchboardServiceLevelBelowTarget',
        eval_time: '90m',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', tenant: 't-a', department: 'bb' },
            exp_annotations: {
              summary: 'Service level of t-a/bb below 75 %',
              description: 'Only 50% of queued callers were answered within 30 s in the past hour (target 75 %).',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'consumer lag: one backlog growing, one large but flat',
    input_series: [
      {
        series: 'events_consumer_pending{stream="CALLS",consumer="rating-call-ended",job="rating"}',
        values: '0+10x60',
      },
      { series: 'events_consumer_pending{stream="FAX",consumer="fax-received",job="fax"}', values: '500x60' },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardConsumerLagGrowing', eval_time: '20m', exp_alerts: [] },
      {
        alertname: 'SwitchboardConsumerLagGrowing',
        eval_time: '40m',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', stream: 'CALLS', consumer: 'rating-call-ended' },
            exp_annotations: {
              summary: 'JetStream consumer rating-call-ended is falling behind',
              description: '400 messages of CALLS are unacknowledged and the backlog keeps growing.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'fax failures: a counter that went up, and one that appeared with its first failure',
    input_series: [
      { series: 'fax_failures_total{reason="conversion",job="fax"}', values: '0x30 1x30' },
      { series: 'fax_failures_total{reason="delivery",job="fax"}', values: '_x30 1x30' },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardFaxFailures', eval_time: '25m', exp_alerts: [] },
      {
        alertname: 'SwitchboardFaxFailures',
        eval_time: '35m',
        exp_alerts: ['conversion', 'delivery'].map((reason) => ({
          exp_labels: { severity: 'warning', reason },
          exp_annotations: {
            summary: `Faxes failed (${reason})`,
            description: '1 faxes were not fully received, converted or delivered in the past 15 minutes.',
          },
        })),
      },
      { alertname: 'SwitchboardFaxFailures', eval_time: '55m', exp_alerts: [] },
    ],
  },
  {
    name: 'voicemail failures: the adapter could not fetch a recording, the fax service had no mailbox',
    input_series: [
      { series: 'voicemail_failures_total{reason="fetch",job="ari-adapter"}', values: '0x30 1x30' },
      { series: 'voicemail_failures_total{reason="no_mailbox",job="fax"}', values: '_x30 1x30' },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardVoicemailFailures', eval_time: '25m', exp_alerts: [] },
      {
        alertname: 'SwitchboardVoicemailFailures',
        eval_time: '35m',
        exp_alerts: ['fetch', 'no_mailbox'].map((reason) => ({
          exp_labels: { severity: 'warning', reason },
          exp_annotations: {
            summary: `Voicemail messages failed (${reason})`,
            description: '1 voicemail messages were not fully recorded, stored or delivered in the past 15 minutes.',
          },
        })),
      },
      { alertname: 'SwitchboardVoicemailFailures', eval_time: '55m', exp_alerts: [] },
    ],
  },
  {
    name: 'audit entries not published: rating lost one entry of a tenant, then nothing more',
    input_series: [
      {
        series: 'audit_publish_failures_total{tenant="t-kropp",method="SetTariff",job="rating"}',
        values: '_x30 1x30',
      },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardAuditEntriesNotPublished', eval_time: '25m', exp_alerts: [] },
      {
        alertname: 'SwitchboardAuditEntriesNotPublished',
        eval_time: '35m',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', job: 'rating', tenant: 't-kropp' },
            exp_annotations: {
              summary: 'rating could not record changes of t-kropp in the audit log',
              description:
                '1 audited changes in the past 15 minutes are only in the service log (message "audit entry not published"); restore NATS and keep those log lines as the record.',
            },
          },
        ],
      },
      { alertname: 'SwitchboardAuditEntriesNotPublished', eval_time: '55m', exp_alerts: [] },
    ],
  },
  {
    name: 'usage on unknown sites: rating reassigned legs of one tenant, nothing for another',
    input_series: [
      {
        series: 'rating_legs_unknown_site_total{tenant="t-kropp",rated_to="default",job="rating"}',
        values: '0x70 4x30',
      },
      { series: 'rating_legs_unknown_site_total{tenant="t-other",rated_to="default",job="rating"}', values: '2x100' },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardUsageOnUnknownSites', eval_time: '65m', exp_alerts: [] },
      {
        alertname: 'SwitchboardUsageOnUnknownSites',
        eval_time: '80m',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', tenant: 't-kropp' },
            exp_annotations: {
              summary: 'Usage of t-kropp on sites the tenant does not have',
              description:
                '4 legs or month closes in the past hour named a site missing from the directory or the billing profile; they are billed to a default or the catch-all share "unassigned".',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'DLQ: three messages parked, reported by two services',
    input_series: [
      { series: 'events_stream_messages{stream="DLQ",job="rating"}', values: '0x10 3x20' },
      { series: 'events_stream_messages{stream="DLQ",job="fax"}', values: '0x10 3x20' },
      { series: 'events_stream_messages{stream="CALLS",job="rating"}', values: '900x30' },
    ],
    alert_rule_test: [
      { alertname: 'SwitchboardDeadLetterQueueNotEmpty', eval_time: '13m', exp_alerts: [] },
      {
        alertname: 'SwitchboardDeadLetterQueueNotEmpty',
        eval_time: '20m',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning' },
            exp_annotations: {
              summary: 'Messages parked on the dead-letter queue',
              description: '3 messages are parked on the DLQ stream; inspect and replay or discard them.',
            },
          },
        ],
      },
    ],
  },
  {
    name: 'bundles: one at 85 %, one used up, one at half, one without a bundle',
    input_series: [
      { series: 'rating_pool_used{tenant="t-a",pool="de-fixed",job="rating",instance="r1"}', values: '850x10' },
      { series: 'rating_pool_used{tenant="t-a",pool="de-fixed",job="rating",instance="r2"}', values: '850x10' },
      { series: 'rating_pool_included{tenant="t-a",pool="de-fixed",job="rating",instance="r1"}', values: '1000x10' },
      { series: 'rating_pool_included{tenant="t-a",pool="de-fixed",job="rating",instance="r2"}', values: '1000x10' },
      { series: 'rating_pool_used{tenant="t-b",pool="de-mobile",job="rating"}', values: '840x10' },
      { series: 'rating_pool_included{tenant="t-b",pool="de-mobile",job="rating"}', values: '700x10' },
      { series: 'rating_pool_used{tenant="t-c",pool="de-fixed",job="rating"}', values: '500x10' },
      { series: 'rating_pool_included{tenant="t-c",pool="de-fixed",job="rating"}', values: '1000x10' },
      { series: 'rating_pool_used{tenant="t-d",pool="de-fixed",job="rating"}', values: '20x10' },
      { series: 'rating_pool_included{tenant="t-d",pool="de-fixed",job="rating"}', values: '0x10' },
    ],
    alert_rule_test: [
      {
        alertname: 'SwitchboardBundleAt80Percent',
        eval_time: '5m',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', tenant: 't-a', pool: 'de-fixed' },
            exp_annotations: {
              summary: 'Bundle de-fixed of t-a is 80 % used',
              description: '85% of the month’s de-fixed minutes are used.',
            },
          },
        ],
      },
      {
        alertname: 'SwitchboardBundleExhausted',
        eval_time: '5m',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', tenant: 't-b', pool: 'de-mobile' },
            exp_annotations: {
              summary: 'Bundle de-mobile of t-b is used up',
              description: 'Further de-mobile minutes this month are billed as overage.',
            },
          },
        ],
      },
    ],
  },
];

describe('alert rules under promtool test rules', () => {
  it('cover every alert', () => {
    const tested = new Set(TESTS.flatMap((test) => test.alert_rule_test.map((check) => check.alertname)));
    expect([...tested].sort()).toEqual(alertRules.map((rule) => rule.alert).sort());
  });

  it('fire exactly when they should, with their rendered annotations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-rule-tests-'));
    try {
      const file = join(dir, 'tests.yaml');
      await writeFile(
        file,
        stringify({
          rule_files: [RULES],
          evaluation_interval: '1m',
          tests: TESTS.map((t) => ({ interval: '1m', ...t })),
        }),
      );
      const result = await promisify(execFile)('promtool', ['test', 'rules', file]).catch(
        (error: { stdout?: string; stderr?: string }) => ({
          stdout: `${error.stdout ?? ''}${error.stderr ?? ''}`,
          failed: true,
        }),
      );
      expect(result.stdout).toContain('SUCCESS');
      expect('failed' in result).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
