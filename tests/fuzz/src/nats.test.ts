import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import {
  AuditEvents,
  BillingEvents,
  CallEvents,
  DLQ_STREAM,
  DirectoryEvents,
  FaxEvents,
  IvrEvents,
  NATS_RPC,
  RatingEvents,
  STREAMS,
  VoicemailEvents,
  eventSubject,
  type EventPayload,
  type EventType,
} from '@switchboard/events';
import { loadProtoPackageDefinition } from '@switchboard/proto';
import { DLQ_HEADERS, RPC_HEADERS, connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startStack, type Stack } from '@switchboard/stack';
import { SERVER_FAILURE_CODES, eventually, messageArbitrary } from '@switchboard/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoFileDeclaring } from './protos.js';

// Bad input on every NATS subject a service consumes or answers, on the running stack: events
// that are no protobuf of their type must end in the DLQ with a reason (never redelivered for
// ever, never dropped silently), request/reply methods must answer every request with a status
// that is not a server failure, and every service stays ready.

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261203);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 12);
const ADAPTER_ID = 'pbx-1';

const EVENT_TYPES: ReadonlyArray<EventType<EventPayload>> = [
  CallEvents,
  FaxEvents,
  VoicemailEvents,
  RatingEvents,
  BillingEvents,
  IvrEvents,
  DirectoryEvents,
  AuditEvents,
].flatMap((group) => Object.values(group) as Array<EventType<EventPayload>>);

let stack: Stack;
let bus: NatsHandle;

beforeAll(async () => {
  stack = await startStack({ alwaysOpen: true, handleSignals: false });
  bus = await connectNats({
    url: stack.natsUrl,
    name: 'fuzz-test',
    logger: createLogger({ service: 'fuzz-test', level: 'silent' }),
    credentials: stack.natsCredentials('tester'),
  });
}, 240_000);

afterAll(async () => {
  await bus?.connection.drain();
  await stack?.stop();
});

/** Seeded random bytes that the type's codec refuses (most random bytes are no valid protobuf). */
function undecodable(type: EventType<EventPayload>, seed: number, count: number): Uint8Array[] {
  return fc
    .sample(fc.uint8Array({ minLength: 2, maxLength: 256 }), { seed, numRuns: 200 })
    .filter((bytes) => {
      try {
        type.codec.decode(bytes);
        return false;
      } catch {
        return true;
      }
    })
    .slice(0, count);
}

/** Consumer filter subjects match published subjects by NATS wildcard rules. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let index = 0; index < f.length; index += 1) {
    if (f[index] === '>') return s.length > index;
    if (f[index] !== '*' && f[index] !== s[index]) return false;
  }
  return f.length === s.length;
}

async function expectServicesReady(): Promise<void> {
  for (const service of stack.services) {
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`);
    expect({ service: service.name, status: response.status }).toEqual({ service: service.name, status: 200 });
  }
}

describe('bad input on every NATS subject', () => {
  it('parks every undecodable event in the DLQ with the consumer and a reason, and nothing stays pending', async () => {
    const published: string[] = [];
    for (const [index, type] of EVENT_TYPES.entries()) {
      const subject = eventSubject(stack.tenantId, type.domain, type.event);
      for (const bytes of undecodable(type, SEED + index, 2)) {
        await bus.js.publish(subject, bytes);
        published.push(subject);
      }
    }
    expect(published.length).toBe(EVENT_TYPES.length * 2);

    const consumers = (
      await Promise.all(
        STREAMS.filter((stream) => stream.name !== DLQ_STREAM.name).map(async (stream) => {
          const list = await bus.jsm.consumers.list(stream.name).next();
          return list.map((info) => ({ stream: stream.name, info }));
        }),
      )
    ).flat();
    await eventually(
      async () => {
        const infos = await Promise.all(consumers.map(({ stream, info }) => bus.jsm.consumers.info(stream, info.name)));
        return infos.every((info) => info.num_pending === 0 && info.num_ack_pending === 0) ? true : undefined;
      },
      'every consumer to work through the bad events',
      120_000,
    );

    const dlq = await bus.jsm.streams.info(DLQ_STREAM.name);
    const parked: Array<{ subject: string; consumer: string; reason: string }> = [];
    for (let seq = dlq.state.first_seq; seq <= dlq.state.last_seq && dlq.state.messages > 0; seq += 1) {
      const message = await bus.jsm.streams.getMessage(DLQ_STREAM.name, { seq }).catch(() => undefined);
      if (!message) continue;
      parked.push({
        subject: message.header.get(DLQ_HEADERS.subject),
        consumer: message.header.get(DLQ_HEADERS.consumer),
        reason: message.header.get(DLQ_HEADERS.reason),
      });
    }
    // Every consumer whose filter takes a bad event parked it (or decoded nothing and acked it:
    // then it is not in the list of consumers that decode, which the DLQ shows by their absence).
    const decoders = new Set(parked.map((entry) => entry.consumer));
    for (const subject of new Set(published)) {
      const takers = consumers.filter(({ info }) =>
        [info.config.filter_subject, ...(info.config.filter_subjects ?? [])]
          .filter((filter): filter is string => Boolean(filter))
          .some((filter) => matches(filter, subject)),
      );
      for (const { info } of takers.filter(({ info }) => decoders.has(info.name))) {
        const entries = parked.filter((entry) => entry.subject === subject && entry.consumer === info.name);
        expect({ subject, consumer: info.name, parked: entries.length }).toEqual({
          subject,
          consumer: info.name,
          parked: published.filter((each) => each === subject).length,
        });
      }
    }
    expect(parked.length).toBeGreaterThan(0);
    expect(parked.every((entry) => entry.reason.length > 0)).toBe(true);
    await expectServicesReady();
  }, 240_000);

  it('answers every request/reply method with a status that is not a server failure', async () => {
    const answers = new Map<string, number>();
    for (const served of Object.values(NATS_RPC)) {
      for (const [method, callers] of Object.entries(served.callers)) {
        if (callers.length === 0) continue;
        const subject = served.serveSubject(method).replace('*', stack.tenantId).replace('*', ADAPTER_ID);
        const definition = loadProtoPackageDefinition([protoFileDeclaring(`rpc ${method}(`)]);
        const found = Object.entries(definition).flatMap(([name, value]) =>
          'format' in value
            ? []
            : Object.entries(value as Record<string, MethodDefinition<object, object>>)
                .filter(([key]) => key === method)
                .map(([, rpc]) => ({ service: name, rpc })),
        )[0]!;
        const requestType = `${found.service.split('.').slice(0, -1).join('.')}.${
          (found.rpc.requestType.type as unknown as { name: string }).name
        }`;
        const request = async (payload: Uint8Array, kind: string) => {
          const reply = await bus.connection.request(subject, payload, { timeout: 15_000 }).catch((error: unknown) => {
            throw new Error(`${subject} (${kind}) gave no answer: ${(error as Error).message}`);
          });
          const code = Number(reply.headers?.get(RPC_HEADERS.status) || grpc.status.OK) as grpc.status;
          answers.set(grpc.status[code]!, (answers.get(grpc.status[code]!) ?? 0) + 1);
          if (SERVER_FAILURE_CODES.has(code)) {
            throw new Error(
              `${subject} (${kind}) answered ${grpc.status[code]}: ${reply.headers?.get(RPC_HEADERS.message)}`,
            );
          }
        };
        await fc.assert(
          fc.asyncProperty(messageArbitrary(definition, requestType, { tenantId: stack.tenantId }), (message) =>
            request(found.rpc.requestSerialize(message), 'message'),
          ),
          { seed: SEED, numRuns: RUNS },
        );
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), (bytes) => request(bytes, 'bytes')),
          { seed: SEED + 1, numRuns: Math.max(1, Math.floor(RUNS / 3)) },
        );
      }
    }
    expect(answers.get('INVALID_ARGUMENT') ?? 0).toBeGreaterThan(0);
    await expectServicesReady();
  }, 240_000);
});
