import { randomUUID } from 'node:crypto';
import type { commonV1 } from '@switchboard/proto';
import { activeTraceContext } from './trace-headers.js';

/** A fresh envelope for an event about to be published, carrying the active trace. */
export function newEventMeta(tenantId: string, producer: string, occurredAt: Date = new Date()): commonV1.EventMeta {
  return { eventId: randomUUID(), tenantId, occurredAt, producer, trace: activeTraceContext() };
}
