import type { PubAck } from '@nats-io/jetstream';
import { eventSubject, type EventPayload, type EventType } from '@switchboard/events';
import { retryWhileUnavailable } from '../outage.js';
import type { NatsHandle } from './connection.js';
import { withPublishSpan } from './trace-headers.js';

/**
 * Publishes an event on `sb.<tenantId>.<domain>.<event>` with its event id as `Nats-Msg-Id`, so a
 * retried publish within the stream's duplicate window is stored once (`PubAck.duplicate`). The
 * trace context is injected once and goes into both the headers (the consumer's span continues it)
 * and the envelope's `meta.trace` (records derived from the event link back to it); a `meta.trace`
 * the caller set is replaced.
 *
 * While NATS is away (a restart: the publish times out, or JetStream is not answering yet) the
 * publish is repeated with the same id, with back-off, for up to PUBLISH_OUTAGE_BUDGET_MS (or the
 * caller's `outageBudgetMs`); a copy the first attempt stored after all is dropped as a duplicate.
 * Only then does it reject.
 */
/** How long `publishEvent` keeps trying while NATS is away before it gives up. */
export const PUBLISH_OUTAGE_BUDGET_MS = 60_000;

export async function publishEvent<T extends EventPayload>(
  nats: NatsHandle,
  type: EventType<T>,
  payload: T,
  options: { outageBudgetMs?: number } = {},
): Promise<PubAck> {
  const meta = payload.meta;
  if (!meta?.eventId || !meta.tenantId) {
    throw new Error(`${type.domain}.${type.event} event needs meta.eventId and meta.tenantId (use newEventMeta)`);
  }
  const subject = eventSubject(meta.tenantId, type.domain, type.event);
  return withPublishSpan(subject, ({ headers, traceparent, tracestate }) => {
    const traced = { ...payload, meta: { ...meta, trace: { traceparent, tracestate } } };
    const data = type.codec.encode(traced).finish();
    return retryWhileUnavailable(
      () => nats.js.publish(subject, data, { msgID: meta.eventId, ...(headers ? { headers } : {}) }),
      { what: `publish ${subject}`, budgetMs: options.outageBudgetMs ?? PUBLISH_OUTAGE_BUDGET_MS },
    );
  });
}
