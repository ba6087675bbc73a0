import { metrics } from '@opentelemetry/api';

const meter = metrics.getMeter('@switchboard/ari-adapter');

/** The adapter's own metrics (names `<domain>.<thing>`, UCUM units). */
export const adapterMetrics = {
  calls: meter.createCounter('calls.adapter', {
    description: 'Calls started and ended on this Asterisk.',
    unit: '{call}',
  }),
  unclaimedCalls: meter.createCounter('calls.unclaimed', {
    description: 'Calls whose number no tenant claims; they went to the fallback tenant.',
    unit: '{call}',
  }),
  commands: meter.createCounter('callcontrol.commands', {
    description: 'Call-control commands by method and outcome.',
    unit: '{command}',
  }),
  commandDuration: meter.createHistogram('callcontrol.command.duration', {
    description: 'Time to execute a call-control command.',
    unit: 's',
  }),
  publishFailures: meter.createCounter('calls.publish.failures', {
    description: 'Call events that could not be published.',
    unit: '{event}',
  }),
  reconnects: meter.createCounter('ari.reconnects', {
    description: 'Re-established ARI event connections.',
    unit: '{connection}',
  }),
};
