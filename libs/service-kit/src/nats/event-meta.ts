import { randomUUID } from 'node:crypto';
import type { commonV1 } from '@switchboard/proto';

/**
 * A fresh envelope for an event about to be published. Its `trace` is left to `publishEvent`,
 * which writes the publishing span's context there and into the headers from one injection.
 */
export function newEventMeta(tenantId: string, producer: string, occurredAt: Date = new Date()): commonV1.EventMeta {
  return { eventId: randomUUID(), tenantId, occurredAt, producer, trace: undefined };
}
