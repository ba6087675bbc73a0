import {
  createInbox,
  errors,
  headers as newHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import { ROOT_CONTEXT, SpanKind, propagation, trace, type TextMapSetter } from '@opentelemetry/api';
import { RatingEvents, eventSubject } from '@switchboard/events';
import type { MsgHdrs } from '@nats-io/nats-core';
import { ratedLegKey, toRatedLeg, type RatedLegRecord } from './store.js';

// Publishing every rated leg through the kit's `publish` costs a request (a promise, a timer, two
// stack-capturing error objects) per leg, which at 10,000 legs/s is most of a core. Here the legs
// of a batch go out as plain publishes with one shared reply subject; JetStream's acks come back on
// it and are matched by token, so a batch waits for its acks once. Each message still carries its
// event id as `Nats-Msg-Id` (the stream drops repeats) and a PRODUCER span in the call's trace.

const PRODUCER = 'rating';
const setter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const tracer = () => trace.getTracer('@switchboard/rating');

export type PublishLegs = (legs: readonly RatedLegRecord[]) => Promise<Map<string, Error>>;

export interface BulkMessage {
  subject: string;
  data: Uint8Array;
  /** Sent as `Nats-Msg-Id`: JetStream stores a repeat within its duplicate window once. */
  msgId: string;
  headers?: MsgHdrs;
}

/** JetStream publishes whose acks arrive on one subscription: no request object per message. */
export class BulkPublisher {
  private readonly prefix: string;
  private readonly subscription: Subscription;
  private readonly waiting = new Map<string, (error: Error | undefined) => void>();
  private next = 0;

  constructor(
    private readonly connection: NatsConnection,
    /** The connection's inbox prefix (NatsHandle.inboxPrefix): the only inbox its NATS user may read. */
    inboxPrefix: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.subscription = connection.subscribe(`${this.prefix}*`, {
      callback: (error, message) => this.onAck(error, message),
    });
  }

  /** Publishes the messages; resolves once JetStream answered each: per message undefined or its error. */
  publishAll(messages: readonly BulkMessage[]): Promise<Array<Error | undefined>> {
    const outcome: Array<Error | undefined> = messages.map(() => undefined);
    if (!messages.length) return Promise.resolve(outcome);
    return new Promise((resolve) => {
      let open = messages.length;
      const tokens: string[] = [];
      const timer = setTimeout(() => {
        // nats.js's own TimeoutError: NATS away (a restart) is an outage the consumer waits out.
        for (const token of tokens) this.waiting.get(token)?.(new errors.TimeoutError());
      }, this.timeoutMs);
      messages.forEach((message, index) => {
        const token = String(this.next++);
        tokens.push(token);
        this.waiting.set(token, (error) => {
          this.waiting.delete(token);
          outcome[index] = error;
          if (--open === 0) {
            clearTimeout(timer);
            resolve(outcome);
          }
        });
        try {
          const headers = message.headers ?? newHeaders();
          headers.set('Nats-Msg-Id', message.msgId);
          this.connection.publish(message.subject, message.data, { reply: `${this.prefix}${token}`, headers });
        } catch (error) {
          this.waiting.get(token)?.(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  private onAck(error: Error | null, message: Msg): void {
    const token = message?.subject.slice(this.prefix.length);
    const settle = token === undefined ? undefined : this.waiting.get(token);
    if (!settle) return;
    if (error) return settle(error);
    // 503 "no responders": no stream takes the subject — or JetStream is still recovering after a restart.
    if (message.headers?.code === 503) return settle(new errors.NoRespondersError(message.subject));
    const text = new TextDecoder().decode(message.data);
    if (text.includes('"error"')) {
      const parsed = JSON.parse(text) as { error?: { description?: string } };
      return settle(new Error(parsed.error?.description ?? text));
    }
    settle(undefined);
  }

  close(): void {
    this.subscription.unsubscribe();
    for (const settle of [...this.waiting.values()]) settle(new Error('publisher closed'));
  }
}

/**
 * Rated legs as CdrRated events through a BulkPublisher: event id = the leg's key, and a PRODUCER
 * span `publish sb.<tenant>.cdr.rated` in the call's trace (from the leg's traceparent).
 */
export function legPublisher(bulk: BulkPublisher): PublishLegs {
  return async (legs) => {
    const eventIds = legs.map((leg) => ratedLegKey(leg.tenantId, leg.callId, leg.legId, leg.ratingVersion));
    const outcome = await bulk.publishAll(legs.map((leg, index) => cdrRatedMessage(leg, eventIds[index]!)));
    const errors = new Map<string, Error>();
    outcome.forEach((error, index) => error && errors.set(eventIds[index]!, error));
    return errors;
  };
}

function cdrRatedMessage(leg: RatedLegRecord, eventId: string): BulkMessage {
  const subject = eventSubject(leg.tenantId, RatingEvents.cdrRated.domain, RatingEvents.cdrRated.event);
  const parent = leg.source.traceparent
    ? propagation.extract(ROOT_CONTEXT, { traceparent: leg.source.traceparent })
    : ROOT_CONTEXT;
  const span = tracer().startSpan(
    `publish ${subject}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
    parent,
  );
  const headers = newHeaders();
  const carrier: Record<string, string> = {};
  const context = trace.setSpan(parent, span);
  propagation.inject(context, headers, setter);
  propagation.inject(context, carrier);
  const data = RatingEvents.cdrRated.codec
    .encode({
      meta: {
        eventId,
        tenantId: leg.tenantId,
        occurredAt: new Date(),
        producer: PRODUCER,
        trace: { traceparent: carrier['traceparent'] ?? '', tracestate: carrier['tracestate'] ?? '' },
      },
      leg: toRatedLeg(leg),
    })
    .finish();
  span.end();
  return { subject, data, msgId: eventId, headers };
}
