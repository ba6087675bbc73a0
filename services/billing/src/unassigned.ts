import { metrics } from '@opentelemetry/api';
import type { Logger } from '@switchboard/service-kit';

/**
 * The alert for usage billed to the catch-all share: `billing.unassigned_site.closes` counts
 * closes that billed some (by tenant), and a warning names tenant, month and site ids, so the
 * profile (or the tariff's default site) gets fixed before the next close.
 */
export function unassignedSitesAlert(logger: Logger) {
  const counter = metrics.getMeter('@switchboard/billing').createCounter('billing.unassigned_site.closes', {
    description: 'Month closes that billed usage on sites missing from the billing profile to the catch-all share.',
    unit: '{close}',
  });
  return (event: { tenantId: string; month: string; siteIds: string[] }): void => {
    counter.add(1, { tenant: event.tenantId });
    logger.warn(
      { tenantId: event.tenantId, month: event.month, siteIds: event.siteIds },
      'usage on sites missing from the billing profile was billed to the catch-all share "unassigned"',
    );
  };
}
