import type { PubAck } from '@nats-io/jetstream';
import { headers as newHeaders } from '@nats-io/nats-core';
import { eventSubject, type EventPayload, type EventType } from '@switchboard/events';
import type { NatsHandle } from './connection.js';
import { withPublishSpan } from './trace-headers.js';

/**
 * Publishes an event on `sb.<tenantId>.<domain>.<event>` with its event id as `Nats-Msg-Id`, so a
 * retried publish within the stream's duplicate window is stored once (`PubAck.duplicate`).
 */
export async function publishEvent<T extends EventPayload>(
  nats: NatsHandle,
  type: EventType<T>,
  payload: T,
): Promise<PubAck> {
  const meta = payload.meta;
  if (!meta?.eventId || !meta.tenantId) {
    throw new Error(`${type.domain}.${type.event} event needs meta.eventId and meta.tenantId (use newEventMeta)`);
  }
  const subject = eventSubject(meta.tenantId, type.domain, type.event);
  const headers = newHeaders();
  return withPublishSpan(subject, headers, () =>
    nats.js.publish(subject, type.codec.encode(payload).finish(), { msgID: meta.eventId, headers }),
  );
}
