import { metrics, type Counter } from '@opentelemetry/api';

/** Why a fax needs an operator's attention; the `reason` attribute of `fax.failures`. */
export type FailureReason = 'reception' | 'no_document' | 'conversion' | 'no_mailbox' | 'delivery';

export interface FaxMetrics {
  /** Receptions by result (success, failed). */
  received: Counter;
  /** What to alert on: every fax that is not (or not fully) received, converted or delivered. */
  failures: Counter;
  /** E-mails tried, by outcome (sent, failed). */
  deliveryAttempts: Counter;
  /** Faxes the directory routes to no mailbox (unknown number, department without one), sent to the fallback mailbox. */
  unrouted: Counter;
  retentionDeleted: Counter;
}

/** Created at start, after the kit registered the meter provider (earlier ones would be no-ops). */
export function createFaxMetrics(): FaxMetrics {
  const meter = metrics.getMeter('@switchboard/fax');
  return {
    received: meter.createCounter('fax.received', { description: 'Fax receptions, by result.', unit: '{fax}' }),
    failures: meter.createCounter('fax.failures', {
      description: 'Faxes not fully received, converted or delivered, by reason. Alert on any increase.',
      unit: '{fax}',
    }),
    deliveryAttempts: meter.createCounter('fax.delivery.attempts', {
      description: 'E-mail deliveries tried, by outcome.',
      unit: '{attempt}',
    }),
    unrouted: meter.createCounter('fax.unrouted', {
      description: 'Faxes the directory routes to no mailbox, delivered to the fallback mailbox.',
      unit: '{fax}',
    }),
    retentionDeleted: meter.createCounter('fax.retention.deleted', {
      description: 'Faxes deleted by retention.',
      unit: '{fax}',
    }),
  };
}

/**
 * Why a voicemail needs an operator's attention here; the `reason` attribute of
 * `voicemail.failures`. Recording, fetch and store failures are the adapter's reasons of the same
 * metric (it counts them where they happen).
 */
export type VoicemailFailureReason = 'no_audio' | 'no_mailbox' | 'delivery';

export interface VoicemailMetrics {
  /** Voicemails reported by the adapters, by result (success, failed). */
  received: Counter;
  /** What to alert on (with the adapter's reasons): every voicemail whose audio is missing or that is not delivered. */
  failures: Counter;
  /** E-mails tried, by outcome (sent, failed). */
  deliveryAttempts: Counter;
  /** Voicemails the directory gives no mailbox (unknown department, no mailbox), sent to the fallback mailbox. */
  unrouted: Counter;
  retentionDeleted: Counter;
}

export function createVoicemailMetrics(): VoicemailMetrics {
  const meter = metrics.getMeter('@switchboard/fax');
  return {
    received: meter.createCounter('voicemail.received', {
      description: 'Voicemails reported by the adapters, by result.',
      unit: '{voicemail}',
    }),
    failures: meter.createCounter('voicemail.failures', {
      description: 'Voicemails without their audio or not delivered, by reason. Alert on any increase.',
      unit: '{voicemail}',
    }),
    deliveryAttempts: meter.createCounter('voicemail.delivery.attempts', {
      description: 'Voicemail e-mail deliveries tried, by outcome.',
      unit: '{attempt}',
    }),
    unrouted: meter.createCounter('voicemail.unrouted', {
      description: 'Voicemails the directory gives no mailbox, delivered to the fallback mailbox.',
      unit: '{voicemail}',
    }),
    retentionDeleted: meter.createCounter('voicemail.retention.deleted', {
      description: 'Voicemails deleted by retention.',
      unit: '{voicemail}',
    }),
  };
}
