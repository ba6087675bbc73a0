import { metrics } from '@opentelemetry/api';

export type AdapterMetrics = ReturnType<typeof createAdapterMetrics>;

/**
 * The adapter's own metrics (names `<domain>.<thing>`, UCUM units). Created at start, after the
 * kit registered the meter provider (earlier ones would be no-ops).
 */
export function createAdapterMetrics() {
  const meter = metrics.getMeter('@switchboard/ari-adapter');
  return {
    // started − ended = in flight: a call that never ends shows as a gap that does not close.
    callsStarted: meter.createCounter('calls.started', {
      description: 'Calls that started on this Asterisk (call.started published).',
      unit: '{call}',
    }),
    callsEnded: meter.createCounter('calls.ended', {
      description: 'Calls that ended on this Asterisk (call.ended published), by who ended them.',
      unit: '{call}',
    }),
    callsInFlight: meter.createUpDownCounter('calls.in_flight', {
      description: 'Calls started and not yet ended on this Asterisk.',
      unit: '{call}',
    }),
    callsAdopted: meter.createCounter('calls.adopted', {
      description:
        'Live calls taken over from Asterisk after a (re)connect, e.g. from a process that died; announced=false: ' +
        'nothing was kept for them, so call.started was published (again).',
      unit: '{call}',
    }),
    unknownAnswerTimes: meter.createCounter('calls.adopted.unknown_answer_times', {
      description: 'Answered legs taken over whose answer time was not kept: the take-over time stands for it.',
      unit: '{leg}',
    }),
    lostLegs: meter.createCounter('calls.legs.lost', {
      description: 'Legs ended by reconciliation: their channel vanished without an event reaching the adapter.',
      unit: '{leg}',
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
    malformedEvents: meter.createCounter('ari.events.malformed', {
      description:
        'ARI events refused and ignored: not JSON, no type, or a handled type without a field the adapter reads.',
      unit: '{event}',
    }),
    playbackFailures: meter.createCounter('playback.failures', {
      description: 'Playbacks Asterisk could not play (the caller did not hear them), by reason.',
      unit: '{playback}',
    }),
    appReplaced: meter.createCounter('ari.application.replaced', {
      description: 'Times another events connection took the Stasis app from this adapter.',
      unit: '{event}',
    }),
    callsHandedOver: meter.createCounter('calls.handed_over', {
      description: 'Calls left to the connection that took the Stasis app over (it ends them).',
      unit: '{call}',
    }),
    devicesProvisioned: meter.createCounter('devices.provisioned', {
      description: 'Devices whose auth, AOR and endpoint were pushed to Asterisk (again after a reconnect).',
      unit: '{device}',
    }),
    provisioningFailures: meter.createCounter('devices.provisioning_failures', {
      description:
        'Failed provisioning runs of a tenant (retried with back-off) and devices refused as invalid, by reason.',
      unit: '{failure}',
    }),
    numberPlanLoadFailures: meter.createCounter('number_plan.load_failures', {
      description: 'Failed reads of the number plan from the directory (retried with back-off).',
      unit: '{failure}',
    }),
    voicemailsRecorded: meter.createCounter('voicemail.recorded', {
      description: 'Voicemails recorded, stored in the voicemail inbox and published (voicemail.received).',
      unit: '{message}',
    }),
    voicemailsDiscarded: meter.createCounter('voicemail.discarded', {
      description: 'Voicemails not delivered because nothing was said, by reason (silence, too_short, no_recording).',
      unit: '{message}',
    }),
    voicemailFailures: meter.createCounter('voicemail.failures', {
      description:
        'Voicemails that failed, by reason (recording_failed, fetch_failed, store_failed, publish_failed, delete_failed).',
      unit: '{message}',
    }),
    ariRetries: meter.createCounter('ari.request.retries', {
      description: 'ARI requests tried again after a transient failure, by operation and failure.',
      unit: '{request}',
    }),
  };
}
