import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { panelQueries } from '@switchboard/dashboards';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

// The dashboards' arithmetic on known series (`promtool test rules`, promql_expr_test): the exact
// panel expressions, with a 5 m rate interval and a 1 h range, give the figures an operator expects.

const queries = panelQueries({ rateInterval: '5m', range: '1h' });
const expr = (dashboard: string, panel: string, refId = 'A') => {
  const found = queries.find((q) => q.dashboard === dashboard && q.panel === panel && q.refId === refId);
  if (!found) throw new Error(`no panel ${dashboard} / ${panel} (${refId})`);
  return found.expr;
};

const series = [
  // Routing, one department: 15 offered a minute (a rate of exactly 0.25/s); 6+4 waits a minute, 5
  // of them answered within 30 s.
  { series: 'calls_offered_total{tenant="t-a",department="bb",job="routing"}', values: '0+15x120' },
  { series: 'calls_wait_bucket{tenant="t-a",department="bb",outcome="answered",le="30"}', values: '0+5x120' },
  { series: 'calls_wait_count{tenant="t-a",department="bb",outcome="answered"}', values: '0+6x120' },
  { series: 'calls_wait_count{tenant="t-a",department="bb",outcome="abandoned"}', values: '0+4x120' },
  // Two routing replicas each routing calls.
  { series: 'calls_active{tenant="t-a",job="routing",instance="r1"}', values: '3x120' },
  { series: 'calls_active{tenant="t-a",job="routing",instance="r2"}', values: '4x120' },
  // Presence: 1 available, 2 on call, 1 in wrap-up, 2 away, 5 offline.
  ...Object.entries({ available: 1, ringing: 0, on_call: 2, wrap_up: 1, away: 2, offline: 5 }).map(([state, n]) => ({
    series: `presence_agents{tenant="t-a",department="bb",state="${state}",job="presence"}`,
    values: `${n}x120`,
  })),
  // Rating, reported by two replicas alike.
  ...['r1', 'r2'].flatMap((instance) => [
    { series: `rating_pool_used{tenant="t-a",pool="de-fixed",instance="${instance}"}`, values: '850x120' },
    { series: `rating_pool_included{tenant="t-a",pool="de-fixed",instance="${instance}"}`, values: '1000x120' },
    { series: `rating_overage_amount{tenant="t-a",instance="${instance}"}`, values: '4210x120' },
  ]),
  // JetStream as two services see it.
  { series: 'events_stream_messages{stream="DLQ",job="rating"}', values: '3x120' },
  { series: 'events_stream_messages{stream="DLQ",job="fax"}', values: '3x120' },
  { series: 'events_consumer_pending{stream="CALLS",consumer="rating-call-ended",job="rating"}', values: '12x120' },
  // ivr restarted once, 30 minutes ago.
  { series: 'process_start_time{job="ivr",instance="i1"}', values: '1000x90 6400x30' },
];

const cases: Array<{ expr: string; eval_time: string; exp_samples: Array<{ labels: string; value: number }> }> = [
  {
    expr: expr('calls', 'Offered calls per minute'),
    eval_time: '100m',
    exp_samples: [{ labels: '{department="bb"}', value: 15 }],
  },
  {
    expr: expr('calls', 'Service level (answered within 30 s)'),
    eval_time: '100m',
    exp_samples: [{ labels: '{department="bb"}', value: 0.5 }],
  },
  { expr: expr('calls', 'Concurrent calls'), eval_time: '100m', exp_samples: [{ labels: '{}', value: 7 }] },
  {
    expr: expr('agents', 'Available agents'),
    eval_time: '100m',
    exp_samples: [{ labels: '{department="bb"}', value: 1 }],
  },
  {
    expr: expr('agents', 'Utilisation'),
    eval_time: '100m',
    exp_samples: [{ labels: '{department="bb"}', value: 0.75 }],
  },
  {
    expr: expr('usage', 'Bundle used'),
    eval_time: '100m',
    exp_samples: [{ labels: '{tenant="t-a",pool="de-fixed"}', value: 0.85 }],
  },
  {
    expr: expr('usage', 'Overage so far'),
    eval_time: '100m',
    exp_samples: [{ labels: '{tenant="t-a"}', value: 42.1 }],
  },
  { expr: expr('platform', 'Dead-letter queue size'), eval_time: '100m', exp_samples: [{ labels: '{}', value: 3 }] },
  {
    expr: expr('platform', 'JetStream consumer lag'),
    eval_time: '100m',
    exp_samples: [{ labels: '{stream="CALLS",consumer="rating-call-ended"}', value: 12 }],
  },
  { expr: expr('platform', 'Restarts'), eval_time: '100m', exp_samples: [{ labels: '{job="ivr"}', value: 1 }] },
];

describe('dashboard arithmetic', () => {
  it('gives the expected figures on known series', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-dashboard-math-'));
    try {
      const file = join(dir, 'tests.yaml');
      await writeFile(
        file,
        stringify({
          rule_files: [],
          evaluation_interval: '1m',
          tests: [{ interval: '1m', input_series: series, promql_expr_test: cases }],
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
