import { metrics } from '@opentelemetry/api';

const meter = metrics.getMeter('@switchboard/presence');

/** Presence's own metrics (names `<domain>.<thing>`, UCUM units). */
export const presenceMetrics = {
  reservations: meter.createCounter('presence.reservations', {
    description: 'Reserve requests by strategy and outcome (reserved, none_free).',
    unit: '{request}',
  }),
  reserveDuration: meter.createHistogram('presence.reserve.duration', {
    description: 'Time to pick and reserve agents, including revision-checked writes.',
    unit: 's',
  }),
  conflicts: meter.createCounter('presence.write.conflicts', {
    description: 'Writes that lost a compare-and-set to another writer and were re-applied.',
    unit: '{write}',
  }),
  returned: meter.createCounter('presence.returned', {
    description: 'Agents returned to available by the sweeper, by reason (lease_expired, wrap_up_over).',
    unit: '{agent}',
  }),
};
