import { Writable } from 'node:stream';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { errors, type Msg } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  CALLS_STREAM,
  CDRS_STREAM,
  FAX_STREAM,
  INVOICES_STREAM,
  callControlSubject,
  createNatsUserKey,
  eventSubject,
} from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import * as grpc from '@grpc/grpc-js';
import { eventually, startNats, TESTER, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { NatsCredentialsError, connectNats, ensureStreams, type NatsHandle } from './connection.js';
import { natsRpcClient } from './rpc.js';

// The declared permissions (libs/events) against a real nats-server with auth on: who is refused,
// and that a denied publish or subscribe is logged by the kit with its subject.

let server: NatsServer;
const open: NatsHandle[] = [];

function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

async function connectAs(user: string, lines?: ReturnType<typeof capture>): Promise<NatsHandle> {
  const handle = await connectNats({
    url: server.url,
    name: `${user}-permissions-test`,
    credentials: server.credentials(user),
    logger: createLogger({ service: user, level: 'info', ...(lines ? { destination: lines.stream } : {}) }),
  });
  open.push(handle);
  return handle;
}

/** The messages a subscription receives, in server order. */
function collect(handle: NatsHandle, subject: string): Msg[] {
  const received: Msg[] = [];
  handle.connection.subscribe(subject, {
    callback: (error, message) => {
      if (!error) received.push(message);
    },
  });
  return received;
}

beforeAll(async () => {
  server = await startNats();
  const tester = await connectAs(TESTER);
  await ensureStreams(tester.jsm, [CDRS_STREAM, INVOICES_STREAM]);
  await tester.jsm.consumers.add(CDRS_STREAM.name, {
    durable_name: 'billing-cdr-rated',
    ack_policy: AckPolicy.Explicit,
  });
});

afterAll(async () => {
  await Promise.all(open.map((handle) => handle.connection.close()));
  await server?.stop();
});

describe('NATS authentication', () => {
  it('refuses a client without credentials', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it('refuses a key the server does not know, and says so', async () => {
    await expect(
      connectNats({
        url: server.url,
        name: 'stranger',
        credentials: { identity: 'rating', seed: createNatsUserKey().seed },
        logger: createLogger({ service: 'stranger', level: 'silent' }),
      }),
    ).rejects.toThrow(NatsCredentialsError);
    await expect(
      connectNats({
        url: server.url,
        name: 'broken',
        credentials: { identity: 'rating', seed: 'SUnot-a-seed' },
        logger: createLogger({ service: 'broken', level: 'silent' }),
      }),
    ).rejects.toThrow(/seed of rating is unusable/);
  });
});

describe('NATS permissions', () => {
  it("keeps rating's credentials from sending a call-control command, and the kit logs the subject", async () => {
    const tester = await connectAs(TESTER);
    const received = collect(tester, 'sb.t-kropp.callcontrol.>');
    await tester.connection.flush();
    const log = capture();
    const rating = await connectAs('rating', log);
    const routing = await connectAs('routing');
    const subject = callControlSubject('t-kropp', 'pbx-1', 'Originate');

    rating.connection.publish(subject, new Uint8Array([1]));
    await rating.connection.flush();
    // Routing may: its command arrives, and it is the first, so rating's never got through.
    routing.connection.publish(subject, new Uint8Array([2]));
    await eventually(() => received[0], 'the command routing sent');
    expect(received.map((message) => [...message.data])).toEqual([[2]]);
    const logged = await eventually(() => log.lines.find((line) => line['nats']), 'the logged violation');
    expect(logged).toMatchObject({
      level: 'error',
      nats: { operation: 'publish', subject },
      msg: `nats permission violation: rating may not publish to ${subject}`,
    });
  });

  it("keeps the ari-adapter's credentials from billing's subjects, streams, consumers and replies", async () => {
    const log = capture();
    const adapter = await connectAs('ari-adapter', log);
    for (const subject of [
      eventSubject('t-kropp', 'cdr', 'rated'),
      'sb.*.invoice.issued',
      '_INBOX_billing.>',
      '_INBOX.>',
    ]) {
      const subscription = adapter.connection.subscribe(subject);
      await expect(subscription.closed).resolves.toBeInstanceOf(errors.PermissionViolationError);
    }
    const jsm = await jetstreamManager(adapter.connection, { timeout: 1_000 });
    await expect(jsm.consumers.add(CDRS_STREAM.name, { name: 'snoop', ack_policy: AckPolicy.None })).rejects.toThrow();
    await expect(jsm.consumers.info(CDRS_STREAM.name, 'billing-cdr-rated')).rejects.toThrow();
    await expect(jsm.streams.info(INVOICES_STREAM.name)).rejects.toThrow();
    const invoices = (line: Record<string, unknown>) =>
      (line['nats'] as { subject?: string } | undefined)?.subject === 'sb.*.invoice.issued';
    const logged = await eventually(() => log.lines.find(invoices), 'the logged violation');
    expect(logged).toMatchObject({ level: 'error', nats: { operation: 'subscription' } });
  });

  it('lets each side of a NATS request do its part: routing asks, the adapter answers on routing’s inbox', async () => {
    const adapter = await connectAs('ari-adapter');
    const routing = await connectAs('routing');
    adapter.connection.subscribe('sb.*.callcontrol.pbx-1.Answer', {
      callback: (_error, message) => {
        message.respond(new TextEncoder().encode('answered'));
      },
    });
    await adapter.connection.flush();
    const reply = await routing.connection.request(callControlSubject('t-kropp', 'pbx-1', 'Answer'), undefined, {
      timeout: 5_000,
    });
    expect(reply.string()).toBe('answered');
    expect(routing.inboxPrefix).toBe('_INBOX_routing');
  });

  it('answers a NATS request the caller may not send with PERMISSION_DENIED at once', async () => {
    const rating = await connectAs('rating');
    const control = natsRpcClient(rating, {
      definition: callControlV1.CallControlServiceService,
      subjectFor: (method, request) => callControlSubject(request.tenantId, 'pbx-1', method),
      timeoutMs: 30_000,
    });
    const denied = control.originate(callControlV1.OriginateRequest.fromPartial({ tenantId: 't-kropp' }));
    await expect(denied).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await expect(denied).rejects.toThrow(/may not call sb.t-kropp.callcontrol.pbx-1.Originate/);
  });

  it("leaves a stream's configuration to its owner: others create it when missing, never change it", async () => {
    const tester = await connectAs(TESTER);
    const routing = await connectAs('routing');
    const adapter = await connectAs('ari-adapter');
    const maxAge = async () => (await tester.jsm.streams.info(CALLS_STREAM.name)).config.max_age;
    // Missing: routing may create the adapter's stream, as it is declared.
    await expect(ensureStreams(routing.jsm, [CALLS_STREAM])).resolves.toEqual([]);
    const declared = await maxAge();
    // Changed behind its back: routing may not change it back (it reports it), the adapter does.
    await tester.jsm.streams.update(CALLS_STREAM.name, { max_age: declared * 2 });
    await expect(ensureStreams(routing.jsm, [CALLS_STREAM])).resolves.toEqual([CALLS_STREAM.name]);
    expect(await maxAge()).toBe(declared * 2);
    await expect(ensureStreams(adapter.jsm, [CALLS_STREAM, FAX_STREAM])).resolves.toEqual([]);
    expect(await maxAge()).toBe(declared);
  });

  it('lets rating publish rated legs and billing take them from its own durable', async () => {
    const rating = await connectAs('rating');
    const billing = await connectAs('billing');
    await rating.js.publish(eventSubject('t-kropp', 'cdr', 'rated'), new Uint8Array([7]));
    const consumer = await billing.js.consumers.get(CDRS_STREAM.name, 'billing-cdr-rated');
    const message = await consumer.next({ expires: 5_000 });
    expect([...(message?.data ?? [])]).toEqual([7]);
    await message!.ackAck();
  });
});
