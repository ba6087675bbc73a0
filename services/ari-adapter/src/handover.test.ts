import { Kvm } from '@nats-io/kv';
import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import { KV_BUCKETS } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newCall, newLeg } from './calls.js';
import { CallHandover } from './handover.js';

const { LegDisposition, LegKind, LegState } = callV1;

let server: NatsServer;
let nats: NatsHandle;

beforeAll(async () => {
  server = await startNats();
  nats = await connectNats({
    url: server.url,
    credentials: server.credentials('ari-adapter'),
    name: 'ari-adapter',
    logger: createLogger({ service: 'handover-test', level: 'silent' }),
  });
});

afterAll(async () => {
  await nats?.connection.close();
  await server?.stop();
});

/** A call answered by an agent, and an earlier leg that rang out: what call.ended would carry so far. */
function liveCall() {
  const caller = newLeg({
    legId: '1796.7',
    channelId: '1796.7',
    kind: LegKind.LEG_KIND_CALLER,
    endpoint: 'PJSIP/trunk-0001',
    from: '+4940555555',
    to: '+494624800',
    createdAt: new Date('2026-12-03T10:00:00.000Z'),
    tags: {},
    createdByAdapter: false,
    state: LegState.LEG_STATE_ANSWERED,
  });
  caller.answeredAt = new Date('2026-12-03T10:00:00.500Z');
  const rangOut = newLeg({
    legId: 'leg-1',
    channelId: 'leg-1',
    kind: LegKind.LEG_KIND_INTERNAL,
    endpoint: 'PJSIP/kropp-bert',
    from: '+494624800',
    to: 'kropp-bert',
    createdAt: new Date('2026-12-03T10:00:05.000Z'),
    tags: { agent_id: 'bert' },
    createdByAdapter: true,
    state: LegState.LEG_STATE_ENDED,
  });
  Object.assign(rangOut, {
    endedAt: new Date('2026-12-03T10:00:25.000Z'),
    disposition: LegDisposition.LEG_DISPOSITION_NO_ANSWER,
    hangupCause: 19,
    hangupCauseText: 'No answer',
  });
  const call = newCall(
    {
      callId: '1796.7',
      tenantId: 't-kropp',
      direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
      dialedNumber: '+494624800',
      callerName: 'Erika',
      startedAt: new Date('2026-12-03T10:00:00.000Z'),
      span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    },
    caller,
  );
  call.legs.set(rangOut.legId, rangOut);
  return call;
}

describe('the calls a stopping adapter hands over', () => {
  it('are read back by the next process with every leg as it was, for its adapter only; an unreadable entry is left out', async () => {
    const kv = await new Kvm(nats.js).create(KV_BUCKETS.adapterHandover, { history: 1 });
    const logger = createLogger({ service: 'handover-test', level: 'silent' });
    const error = vi.spyOn(logger, 'error');
    const handover = new CallHandover(kv, 'pbx-1', logger);
    await handover.leave([liveCall()]);
    await new CallHandover(kv, 'pbx-2', logger).leave([liveCall()]);
    await kv.put('pbx-1.broken', '{"callId":');

    const taken = await handover.take();
    expect(taken).toEqual([
      {
        callId: '1796.7',
        tenantId: 't-kropp',
        direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
        dialedNumber: '+494624800',
        callerName: 'Erika',
        startedAt: new Date('2026-12-03T10:00:00.000Z'),
        legs: [
          expect.objectContaining({ legId: '1796.7', answeredAt: new Date('2026-12-03T10:00:00.500Z') }),
          expect.objectContaining({
            legId: 'leg-1',
            state: LegState.LEG_STATE_ENDED,
            disposition: LegDisposition.LEG_DISPOSITION_NO_ANSWER,
            hangupCause: 19,
            tags: { agent_id: 'bert' },
          }),
        ],
      },
    ]);
    expect(error).toHaveBeenCalledWith(
      expect.objectContaining({ key: 'pbx-1.broken' }),
      'unreadable handed-over call left out',
    );

    await handover.forget(taken);
    expect((await handover.take()).map((call) => call.callId)).toEqual([]);
    expect(await new CallHandover(kv, 'pbx-2', logger).take()).toHaveLength(1);
  });
});
