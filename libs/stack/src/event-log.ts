import { DeliverPolicy } from '@nats-io/jetstream';
import { CALLS_STREAM, CDRS_STREAM, CallEvents, RatingEvents } from '@switchboard/events';
import type { callV1, ratingV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import type { Stack } from './stack.js';

/**
 * Every call event and rated leg a stack publishes from now on, in stream order, with waits for
 * what a test expects: the truth a scenario is judged by whatever PBX carried the call.
 */
export interface EventLog {
  started(callId?: string): callV1.CallStarted[];
  legUpdates(callId: string): callV1.CallLegUpdated[];
  ended(callId?: string): callV1.CallEnded[];
  rated(callId?: string): ratingV1.RatedLeg[];
  /** Resolves with `check()`'s value once it is neither undefined nor false (checked after every event). */
  waitUntil<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Reads as `observer`: call and rating events only, so it cannot disturb what it watches. */
export async function followEvents(stack: Pick<Stack, 'natsUrl' | 'natsCredentials'>): Promise<EventLog> {
  const bus: NatsHandle = await connectNats({
    url: stack.natsUrl,
    credentials: stack.natsCredentials('observer'),
    name: 'stack-event-log',
    logger: createLogger({ service: 'stack-event-log', level: 'silent' }),
  });
  const started: callV1.CallStarted[] = [];
  const legUpdates: callV1.CallLegUpdated[] = [];
  const ended: callV1.CallEnded[] = [];
  const rated: ratingV1.RatedLeg[] = [];
  const waiters = new Set<() => boolean>();
  const changed = () => {
    for (const waiter of [...waiters]) if (waiter()) waiters.delete(waiter);
  };

  const follow = async (stream: string, onMessage: (subject: string, data: Uint8Array) => void) => {
    // An ordered consumer of new messages: nothing durable is left behind in the test's NATS.
    const consumer = await bus.js.consumers.get(stream, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    void (async () => {
      for await (const message of messages) {
        onMessage(message.subject, message.data);
        changed();
      }
    })().catch(() => undefined);
    return messages;
  };
  const subscriptions = await Promise.all([
    follow(CALLS_STREAM.name, (subject, data) => {
      const event = subject.split('.').at(-1);
      if (event === 'started') started.push(CallEvents.started.codec.decode(data));
      else if (event === 'leg_updated') legUpdates.push(CallEvents.legUpdated.codec.decode(data));
      else if (event === 'ended') ended.push(CallEvents.ended.codec.decode(data));
    }),
    follow(CDRS_STREAM.name, (subject, data) => {
      if (subject.endsWith('.cdr.rated')) {
        const leg = RatingEvents.cdrRated.codec.decode(data).leg;
        if (leg) rated.push(leg);
      }
    }),
  ]);

  return {
    started: (callId) => started.filter((event) => !callId || event.callId === callId),
    legUpdates: (callId) => legUpdates.filter((event) => event.callId === callId),
    ended: (callId) => ended.filter((event) => !callId || event.callId === callId),
    rated: (callId) => rated.filter((leg) => !callId || leg.callId === callId),
    waitUntil: (what, check, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const attempt = () => {
          const value = check();
          if (value === undefined || value === false) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(attempt);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        if (!attempt()) waiters.add(attempt);
      }),
    close: async () => {
      for (const messages of subscriptions) messages.stop();
      await bus.connection.close();
    },
  };
}
