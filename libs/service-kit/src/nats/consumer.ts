import { AckPolicy, DeliverPolicy, type JsMsg, type ConsumerConfig } from '@nats-io/jetstream';
import { headers as newHeaders, nanos, type MsgHdrs } from '@nats-io/nats-core';
import { metrics } from '@opentelemetry/api';
import {
  UNKNOWN_TENANT,
  deadLetterSubject,
  tenantOfSubject,
  type EventPayload,
  type EventType,
  type StreamDefinition,
} from '@switchboard/events';
import type { Logger } from '../logger.js';
import { retryWhileUnavailable } from '../outage.js';
import { isJetStreamNotFound, type NatsHandle } from './connection.js';
import { PoisonMessageError } from './errors.js';
import { withProcessSpan } from './trace-headers.js';

/** A message as a handler sees it. */
export interface DeliveredMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** Decodes the payload as `type`; a payload that is not one is poison (parked, not retried). */
  decode<T extends EventPayload>(type: EventType<T>): T;
}

export interface ConsumerOptions {
  stream: StreamDefinition;
  /** Durable name, `<service>-<purpose>` (e.g. `rating-call-ended`). */
  durable: string;
  filterSubjects: readonly string[];
  handler(message: DeliveredMessage): Promise<void>;
  /** Deliveries before a failing message is parked. */
  maxDeliver?: number;
  /** Delay before redelivery after the n-th failure; the last value repeats. */
  backoffMs?: readonly number[];
  /** Redelivery after a crash; a running handler keeps its message with `working()` signals. */
  ackWaitMs?: number;
  /** Messages handled at once. */
  concurrency?: number;
  /**
   * How a handled message is acknowledged (both deliver at least once: after a crash a handler
   * may see a message again). `'confirmed'` (the default) waits for the server to confirm each
   * ack, a round trip per message: the consumer takes its next message only once the ack is
   * stored, and a lost ack is logged. `'fire-and-forget'` sends the ack and goes on: no round
   * trip, but an ack lost with the connection brings the message back after `ackWaitMs`, possibly
   * after later ones. Right only for an idempotent handler, one whose repeat changes nothing
   * (what it writes is keyed by the event id, or compared by a revision or time).
   */
  ack?: AckMode;
}

export type AckMode = 'confirmed' | 'fire-and-forget';
const ACK_MODES: readonly AckMode[] = ['confirmed', 'fire-and-forget'];

export interface RunningConsumer {
  readonly durable: string;
  /** Stops taking messages and waits until the ones in hand are acked, retried or parked. */
  stop(): Promise<void>;
}

export const DLQ_HEADERS = {
  subject: 'Sb-Dlq-Subject',
  stream: 'Sb-Dlq-Stream',
  sequence: 'Sb-Dlq-Sequence',
  consumer: 'Sb-Dlq-Consumer',
  deliveries: 'Sb-Dlq-Deliveries',
  reason: 'Sb-Dlq-Reason',
} as const;

const DEFAULTS = {
  maxDeliver: 5,
  backoffMs: [1_000, 5_000, 30_000, 120_000],
  ackWaitMs: 30_000,
  concurrency: 1,
  ack: 'confirmed' as AckMode,
};
const MAX_REASON_LENGTH = 500;

const meter = metrics.getMeter('@switchboard/service-kit');
const processed = meter.createCounter('events.processed', {
  description: 'Messages handled by JetStream consumers, by outcome (acked, retried, parked).',
  unit: '{message}',
});
const processDuration = meter.createHistogram('events.process.duration', {
  description: 'Time a consumer handler took for one message.',
  unit: 's',
});

function decodeAs<T extends EventPayload>(message: JsMsg, type: EventType<T>): T {
  const tenantId = tenantOfSubject(message.subject);
  const expectedSuffix = `.${type.domain}.${type.event}`;
  if (!message.subject.endsWith(expectedSuffix)) {
    throw new PoisonMessageError(`subject ${message.subject} does not carry ${type.domain}.${type.event} events`);
  }
  let payload: T;
  try {
    payload = type.codec.decode(message.data);
  } catch (error) {
    throw new PoisonMessageError(`malformed ${type.domain}.${type.event} payload: ${(error as Error).message}`);
  }
  if (!payload.meta?.eventId || payload.meta.tenantId !== tenantId) {
    throw new PoisonMessageError(
      `${type.domain}.${type.event} payload lacks an event id or names tenant "${payload.meta?.tenantId ?? ''}" on subject ${message.subject}`,
    );
  }
  return payload;
}

async function ensureConsumer(
  nats: NatsHandle,
  options: Required<Omit<ConsumerOptions, 'handler' | 'ack'>>,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [...options.filterSubjects],
    max_deliver: options.maxDeliver,
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: Math.max(options.concurrency * 4, 100),
  };
  try {
    await nats.jsm.consumers.info(options.stream.name, options.durable);
    await nats.jsm.consumers.update(options.stream.name, options.durable, config);
  } catch (error) {
    if (!isJetStreamNotFound(error)) throw error;
    await nats.jsm.consumers.add(options.stream.name, config);
  }
}

/**
 * Starts a durable pull consumer. Each message is acked after its handler resolves (see `ack`); a throwing
 * handler gets it again after a back-off delay; after `maxDeliver` deliveries (or at once for a
 * PoisonMessageError) it is copied to `sb.<tenant>.dlq.<durable>` and only then terminated.
 */
export async function startConsumer(
  nats: NatsHandle,
  logger: Logger,
  options: ConsumerOptions,
): Promise<RunningConsumer> {
  const settings = { ...DEFAULTS, ...options };
  const { durable, handler, maxDeliver, backoffMs, ackWaitMs, concurrency, ack } = settings;
  if (!ACK_MODES.includes(ack)) {
    throw new Error(
      `consumer ${durable}: ack must be ${ACK_MODES.map((mode) => `'${mode}'`).join(' or ')}, not '${ack}'`,
    );
  }
  const log = logger.child({ consumer: durable, stream: options.stream.name });
  await ensureConsumer(nats, settings);
  const consumer = await nats.js.consumers.get(options.stream.name, durable);
  const messages = await consumer.consume({ max_messages: concurrency });
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  // Built once, not per message: the metrics SDK takes the same objects every time.
  const outcomes = {
    acked: Object.freeze({ consumer: durable, outcome: 'acked' }),
    retried: Object.freeze({ consumer: durable, outcome: 'retried' }),
    parked: Object.freeze({ consumer: durable, outcome: 'parked' }),
  };
  const ofConsumer = Object.freeze({ consumer: durable });

  async function park(message: JsMsg, reason: string): Promise<void> {
    const tenantId = tenantOfSubject(message.subject) ?? UNKNOWN_TENANT;
    const headers = newHeaders();
    for (const [key, values] of message.headers ?? []) for (const value of values) headers.append(key, value);
    headers.set(DLQ_HEADERS.subject, message.subject);
    headers.set(DLQ_HEADERS.stream, options.stream.name);
    headers.set(DLQ_HEADERS.sequence, String(message.seq));
    headers.set(DLQ_HEADERS.consumer, durable);
    headers.set(DLQ_HEADERS.deliveries, String(message.info.deliveryCount));
    headers.set(DLQ_HEADERS.reason, reason.replace(/[\r\n]+/g, ' ').slice(0, MAX_REASON_LENGTH));
    try {
      await nats.js.publish(deadLetterSubject(tenantId, durable), message.data, {
        headers,
        msgID: `${options.stream.name}:${message.seq}:${durable}`,
      });
    } catch (error) {
      // Keep it in the stream rather than terminate a message nobody holds a copy of.
      log.error({ err: error, seq: message.seq }, 'could not park message on the dead-letter subject; will retry');
      message.nak(backoffMs.at(-1));
      processed.add(1, outcomes.retried);
      return;
    }
    message.term(reason.slice(0, MAX_REASON_LENGTH));
    processed.add(1, outcomes.parked);
    log.error(
      { seq: message.seq, subject: message.subject, deliveries: message.info.deliveryCount, reason },
      'message parked',
    );
  }

  async function handle(message: JsMsg): Promise<void> {
    const started = performance.now();
    const heartbeat = setInterval(() => message.working(), Math.max(ackWaitMs / 3, 100));
    const deliveryCount = message.info.deliveryCount;
    try {
      await withProcessSpan(message.subject, message.headers, async () => {
        try {
          // A dependency that is away (NATS, Mongo) fails the same delivery again until it is
          // back: the message keeps its place (the heartbeat holds it) and the outage does not
          // use up its deliveries, so it is never parked for the outage's sake.
          await retryWhileUnavailable(
            () =>
              handler({
                subject: message.subject,
                data: message.data,
                headers: message.headers,
                deliveryCount,
                streamSequence: message.seq,
                decode: (type) => decodeAs(message, type),
              }),
            { what: `consumer ${durable} seq ${message.seq}`, logger: log, stopped: () => stopping },
          );
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          if (error instanceof PoisonMessageError || deliveryCount >= maxDeliver) {
            await park(message, reason);
            return;
          }
          const delay = backoffMs[Math.min(deliveryCount - 1, backoffMs.length - 1)];
          log.warn({ err: error, seq: message.seq, deliveryCount, retryInMs: delay }, 'handler failed; will retry');
          message.nak(delay);
          processed.add(1, outcomes.retried);
          return;
        }
        if (ack === 'confirmed') {
          // A NATS restart loses the ack's answer; asked again after the reconnect, the server
          // confirms it (or, past ackWaitMs, delivers the message again, which handlers expect).
          await retryWhileUnavailable(() => message.ackAck(), {
            what: `ack of ${durable} seq ${message.seq}`,
            budgetMs: ackWaitMs,
          });
        } else message.ack();
        processed.add(1, outcomes.acked);
      });
    } finally {
      clearInterval(heartbeat);
      processDuration.record((performance.now() - started) / 1000, ofConsumer);
    }
  }

  const loop = (async () => {
    for await (const message of messages) {
      if (stopping) {
        // Hand it straight back so another replica takes it now, not after ack_wait.
        message.nak();
        continue;
      }
      const job: Promise<void> = handle(message)
        .catch((error: unknown) =>
          log.error({ err: error, seq: message.seq }, 'message handling failed; it will be redelivered'),
        )
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  })();

  log.info({ filterSubjects: options.filterSubjects }, 'consumer started');
  return {
    durable,
    stop: async () => {
      stopping = true;
      await messages.close();
      await loop;
      await Promise.all(inFlight);
      // Acks sent without confirmation have reached the server once a flush has come back.
      if (ack === 'fire-and-forget') await nats.connection.flush();
      log.info('consumer stopped');
    },
  };
}
