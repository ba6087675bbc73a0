import { TENANT } from './selectors.js';
import type { DashboardSpec } from './spec.js';

// Every rating replica reports the same figures: max, not sum.
const byPool = (gauge: string) => `max by (tenant, pool) (${gauge}{${TENANT}})`;

export const usageDashboard: DashboardSpec = {
  name: 'usage',
  title: 'Switchboard / Usage',
  description:
    'Minutes used against the booked bundles, overage so far and the month-end forecast (Europe/Berlin months).',
  variables: ['tenant'],
  panels: [
    {
      title: 'Minutes used vs bundle',
      description: 'Minutes rated from each pool this month, and the bundle size.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        { expr: byPool('rating_pool_used'), legend: 'used {{tenant}} {{pool}}' },
        { expr: byPool('rating_pool_included'), legend: 'bundle {{tenant}} {{pool}}' },
      ],
    },
    {
      title: 'Bundle used',
      description: 'Share of each bundle used this month; alerts fire at 80 % and 100 %.',
      kind: 'bargauge',
      unit: 'percentunit',
      // The alert thresholds: 80 % and 100 %.
      thresholds: [
        { from: null, color: 'green' },
        { from: 0.8, color: 'orange' },
        { from: 1, color: 'red' },
      ],
      queries: [
        {
          expr: `${byPool('rating_pool_used')} / (${byPool('rating_pool_included')} > 0)`,
          legend: '{{tenant}} {{pool}}',
        },
      ],
    },
    {
      title: 'Overage so far',
      description: 'Amount beyond the bundles this month, net, in EUR (the metric is in cents).',
      kind: 'stat',
      unit: 'currencyEUR',
      queries: [{ expr: `max by (tenant) (rating_overage_amount{${TENANT}}) / 100`, legend: '{{tenant}}' }],
    },
    {
      title: 'Month-end forecast vs bundle',
      description: 'Minutes each pool is forecast to reach by the end of the month, and the bundle size.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        { expr: byPool('rating_pool_forecast'), legend: 'forecast {{tenant}} {{pool}}' },
        { expr: byPool('rating_pool_included'), legend: 'bundle {{tenant}} {{pool}}' },
      ],
    },
  ],
};
