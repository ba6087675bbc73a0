import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream';
import { headers as newHeaders, nanos } from '@nats-io/nats-core';
import { metrics } from '@opentelemetry/api';
import {
  UNKNOWN_TENANT,
  deadLetterSubject,
  tenantOfSubject,
  type EventPayload,
  type EventType,
  type StreamDefinition,
} from '@switchboard/events';
import {
  DLQ_HEADERS,
  PoisonMessageError,
  UNAVAILABLE_BACKOFF_MS,
  isUnavailable,
  type Logger,
  type NatsHandle,
} from '@switchboard/service-kit';

// The kit's consumer handles one message at a time (a handler, then an ack that waits for the
// server). Rating takes them in batches instead: up to `batchSize` messages are decoded, stored
// with one write per tenant's month, and acked together once their legs are published — so a
// batch costs a few round trips, not a few per message. Retries, back-off and the dead-letter
// subject work as the kit's do (same headers, same metric), per message.

export interface DecodedMessage<T> {
  readonly message: JsMsg;
  readonly payload: T;
}

/**
 * Stores a batch (the loop takes the next batch once this resolves), then finishes it: `done`
 * resolves per message to undefined (done: acked) or why it must be retried or parked.
 */
export type BatchHandler<T> = (
  batch: ReadonlyArray<DecodedMessage<T>>,
) => Promise<{ done: Promise<ReadonlyArray<unknown>> }>;

export interface BatchConsumerOptions<T extends EventPayload> {
  stream: StreamDefinition;
  durable: string;
  filterSubjects: readonly string[];
  type: EventType<T>;
  /** Messages in one batch. */
  batchSize: number;
  /** How long a batch waits for more messages once it has some (0: take what is there). */
  waitMs: number;
  /** Batches stored whose publishing may still run while the next is stored. */
  publishing: number;
  /** Batches handed to `handle` at once (the next is prepared while one is stored). */
  storing?: number;
  maxDeliver?: number;
  backoffMs?: readonly number[];
  ackWaitMs?: number;
  handle: BatchHandler<T>;
}

export interface RunningBatchConsumer {
  stop(): Promise<void>;
}

const DEFAULTS = { maxDeliver: 5, backoffMs: [1_000, 5_000, 30_000, 120_000], ackWaitMs: 30_000 };
const MAX_REASON_LENGTH = 500;

function decodeAs<T extends EventPayload>(message: JsMsg, type: EventType<T>): T {
  const tenantId = tenantOfSubject(message.subject);
  if (!message.subject.endsWith(`.${type.domain}.${type.event}`)) {
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

export async function startBatchConsumer<T extends EventPayload>(
  nats: NatsHandle,
  logger: Logger,
  options: BatchConsumerOptions<T>,
): Promise<RunningBatchConsumer> {
  const { durable, batchSize, maxDeliver, backoffMs, ackWaitMs } = { ...DEFAULTS, ...options };
  // The kit's consumer's instruments (the platform dashboard shows rating beside the other consumers),
  // made at start: a meter taken before the SDK starts stays a no-op.
  const kitMeter = metrics.getMeter('@switchboard/service-kit');
  const processed = kitMeter.createCounter('events.processed', {
    description: 'Messages handled by JetStream consumers, by outcome (acked, retried, parked).',
    unit: '{message}',
  });
  const pending = kitMeter.createObservableGauge('events.consumer.pending', {
    description: 'Messages a durable consumer has not yet acknowledged (pending + awaiting ack).',
    unit: '{message}',
  });
  const batchSizes = metrics.getMeter('@switchboard/rating').createHistogram('rating.batch.size', {
    description: 'Call-ended events rated in one batch.',
    unit: '{message}',
    advice: { explicitBucketBoundaries: [1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000] },
  });
  const stream = options.stream.name;
  const log = logger.child({ consumer: durable, stream });
  const config: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [...options.filterSubjects],
    max_deliver: maxDeliver,
    ack_wait: nanos(ackWaitMs),
    // Batches being stored, published and buffered: never let the server hold back a full batch.
    max_ack_pending: batchSize * (options.publishing + 3),
  };
  try {
    await nats.jsm.consumers.info(stream, durable);
    await nats.jsm.consumers.update(stream, durable, config);
  } catch {
    await nats.jsm.consumers.add(stream, config);
  }
  const consumer = await nats.js.consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: batchSize * 2 });
  const observe = async (result: Parameters<Parameters<typeof pending.addCallback>[0]>[0]) => {
    try {
      const info = await nats.jsm.consumers.info(stream, durable);
      result.observe(info.num_pending + info.num_ack_pending, { stream, consumer: durable });
    } catch (error) {
      log.warn({ err: error }, 'could not sample the consumer for metrics');
    }
  };
  pending.addCallback(observe);

  const buffer: JsMsg[] = [];
  let waiter: { condition: () => boolean; resolve: () => void } | undefined;
  let ended = false;
  let stopping = false;
  const release = (force: boolean) => {
    if (!waiter || !(force || waiter.condition())) return;
    const { resolve } = waiter;
    waiter = undefined;
    resolve();
  };
  const pump = (async () => {
    for await (const message of messages) {
      if (stopping) {
        message.nak();
        continue;
      }
      buffer.push(message);
      release(false);
    }
  })().finally(() => {
    ended = true;
    release(true);
  });

  // Messages pulled but not yet in a batch are held too: while batches wait for an outage to end,
  // the ones behind them must not be delivered again (and use up their deliveries) meanwhile.
  const holdBuffered = setInterval(() => buffer.forEach((message) => message.working()), Math.max(ackWaitMs / 3, 100));

  /** Resolves when the condition holds (checked as messages arrive), on stop, or after `timeoutMs`. */
  const waitFor = (condition: () => boolean, timeoutMs?: number) =>
    new Promise<void>((resolve) => {
      if (condition() || ended || stopping) return resolve();
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => release(true), timeoutMs);
      waiter = {
        condition,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });

  async function park(message: JsMsg, reason: string): Promise<void> {
    const tenantId = tenantOfSubject(message.subject) ?? UNKNOWN_TENANT;
    const headers = newHeaders();
    for (const [key, values] of message.headers ?? []) for (const value of values) headers.append(key, value);
    headers.set(DLQ_HEADERS.subject, message.subject);
    headers.set(DLQ_HEADERS.stream, stream);
    headers.set(DLQ_HEADERS.sequence, String(message.seq));
    headers.set(DLQ_HEADERS.consumer, durable);
    headers.set(DLQ_HEADERS.deliveries, String(message.info.deliveryCount));
    headers.set(DLQ_HEADERS.reason, reason.replace(/[\r\n]+/g, ' ').slice(0, MAX_REASON_LENGTH));
    try {
      await nats.js.publish(deadLetterSubject(tenantId, durable), message.data, {
        headers,
        msgID: `${stream}:${message.seq}:${durable}`,
      });
    } catch (error) {
      log.error({ err: error, seq: message.seq }, 'could not park message on the dead-letter subject; will retry');
      message.nak(backoffMs.at(-1));
      processed.add(1, { consumer: durable, outcome: 'retried' });
      return;
    }
    message.term(reason.slice(0, MAX_REASON_LENGTH));
    processed.add(1, { consumer: durable, outcome: 'parked' });
    log.error(
      { seq: message.seq, subject: message.subject, deliveries: message.info.deliveryCount, reason },
      'message parked',
    );
  }

  /** Acks what is done, parks poison and what failed its last delivery, retries the rest after its back-off. */
  async function settle(message: JsMsg, error: unknown): Promise<void> {
    if (!error) {
      message.ack();
      processed.add(1, { consumer: durable, outcome: 'acked' });
      return;
    }
    const deliveryCount = message.info.deliveryCount;
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof PoisonMessageError || deliveryCount >= maxDeliver) return park(message, reason);
    const delay = backoffMs[Math.min(deliveryCount - 1, backoffMs.length - 1)];
    log.warn({ err: error, seq: message.seq, deliveryCount, retryInMs: delay }, 'rating failed; will retry');
    message.nak(delay);
    processed.add(1, { consumer: durable, outcome: 'retried' });
  }

  const publishing = new Set<Promise<void>>();
  const storing = new Set<Promise<void>>();
  async function runBatch(batch: JsMsg[]): Promise<void> {
    batchSizes.record(batch.length);
    const heartbeat = setInterval(() => batch.forEach((message) => message.working()), Math.max(ackWaitMs / 3, 100));
    const decoded: Array<DecodedMessage<T>> = [];
    const poison: Array<Promise<void>> = [];
    for (const message of batch) {
      try {
        decoded.push({ message, payload: decodeAs(message, options.type) });
      } catch (error) {
        poison.push(settle(message, error));
      }
    }
    // Stores the messages (resolves once stored) and hands back what resolves once they are published.
    const attempt = async (
      messages: ReadonlyArray<DecodedMessage<T>>,
    ): Promise<{ done: Promise<ReadonlyArray<unknown>> }> => {
      try {
        const { done } = await options.handle(messages);
        return { done: done.catch((error: unknown) => messages.map(() => error)) };
      } catch (error) {
        return { done: Promise.resolve(messages.map(() => error)) };
      }
    };
    const { done } = await attempt(decoded);
    const finished = (async () => {
      try {
        let outcome = await done;
        let current: ReadonlyArray<DecodedMessage<T>> = decoded;
        // Messages that failed only because NATS or Mongo is away are rated again in place, with
        // back-off, until it is back: they keep their deliveries (the heartbeat holds them), so an
        // outage of any length never parks one. Everything else is settled now.
        for (let retry = 0; ; retry++) {
          const away = current.filter((_, index) => isUnavailable(outcome[index]));
          await Promise.all(
            current.map(({ message }, index) =>
              isUnavailable(outcome[index]) && !stopping ? undefined : settle(message, outcome[index]),
            ),
          );
          if (!away.length || stopping) break;
          if (retry === 0) {
            log.warn(
              { err: outcome.find(isUnavailable), messages: away.length },
              'rating waits for its store or NATS; retrying in place until it is back',
            );
          }
          await new Promise((resolve) =>
            setTimeout(resolve, UNAVAILABLE_BACKOFF_MS[Math.min(retry, UNAVAILABLE_BACKOFF_MS.length - 1)]),
          );
          current = away;
          outcome = await (await attempt(current)).done;
          if (!current.some((_, index) => isUnavailable(outcome[index]))) {
            log.info({ messages: current.length }, 'rated after the outage');
          }
        }
        await Promise.all(poison);
      } finally {
        clearInterval(heartbeat);
      }
    })();
    publishing.add(finished);
    void finished.finally(() => publishing.delete(finished));
  }

  const loop = (async () => {
    while (!stopping) {
      await waitFor(() => buffer.length > 0);
      if (stopping || (ended && !buffer.length)) break;
      if (buffer.length < batchSize && options.waitMs > 0) {
        await waitFor(() => buffer.length >= batchSize, options.waitMs);
      }
      const batch = buffer.splice(0, batchSize);
      if (!batch.length) continue;
      while (publishing.size >= options.publishing) await Promise.race(publishing);
      while (storing.size >= (options.storing ?? 1)) await Promise.race(storing);
      const stored = runBatch(batch).catch((error: unknown) =>
        log.error({ err: error }, 'batch failed; its messages will be redelivered'),
      );
      storing.add(stored);
      void stored.finally(() => storing.delete(stored));
    }
    await Promise.all(storing);
  })();

  log.info({ filterSubjects: options.filterSubjects, batchSize }, 'batch consumer started');
  return {
    stop: async () => {
      stopping = true;
      clearInterval(holdBuffered);
      release(true);
      await loop;
      await messages.close();
      await pump;
      for (const message of buffer.splice(0)) message.nak();
      await Promise.all(publishing);
      pending.removeCallback(observe);
      log.info('batch consumer stopped');
    },
  };
}
