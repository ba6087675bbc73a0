import { callV1 } from '@switchboard/proto';
import { PoisonMessageError } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { initialState } from './call-router.js';

const started = (overrides: Partial<callV1.CallStarted> = {}) =>
  callV1.CallStarted.fromPartial({
    meta: { eventId: 'e1', tenantId: 't1', occurredAt: new Date('2026-03-02T08:00:01Z') },
    callId: '1772438400.7',
    adapterId: 'pbx-1',
    direction: callV1.CallDirection.CALL_DIRECTION_INBOUND,
    dialedNumber: '+494624720',
    callerLeg: { from: '+4940123456', endpoint: 'PJSIP/trunk-00000007', createdAt: new Date('2026-03-02T08:00:00Z') },
    ...overrides,
  });

describe('initialState', () => {
  it('starts a call at the entry step, ordered by the caller leg creation', () => {
    expect(initialState(started(), 'routing-a')).toMatchObject({
      tenantId: 't1',
      callId: '1772438400.7',
      adapterId: 'pbx-1',
      direction: 'inbound',
      caller: '+4940123456',
      callerChannel: 'PJSIP/trunk-00000007',
      startedAt: Date.parse('2026-03-02T08:00:00Z'),
      step: 'entry',
      owner: 'routing-a',
      attempt: 0,
    });
  });

  it('queues an answered callback by the original arrival, with the citizen as caller', () => {
    const callback = started({
      direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND,
      dialedNumber: '+4940123456',
      callerLeg: callV1.Leg.fromPartial({
        from: '+494624720',
        to: '+4940123456',
        endpoint: 'PJSIP/+4940123456@trunk',
        createdAt: new Date('2026-03-02T09:00:00Z'),
        answeredAt: new Date('2026-03-02T09:00:05Z'),
        tags: { callback: 'true', department_id: 'standesamt', callback_arrived_at: '1772438400000' },
      }),
    });
    expect(initialState(callback, 'routing-a')).toMatchObject({
      direction: 'outbound',
      caller: '+4940123456',
      startedAt: 1772438400000,
      answered: true,
      callback: { departmentId: 'standesamt', answeredAt: Date.parse('2026-03-02T09:00:05Z') },
    });
    // An outbound call without the callback tags is an ordinary outbound call.
    const outbound = started({ direction: callV1.CallDirection.CALL_DIRECTION_OUTBOUND });
    expect(initialState(outbound, 'routing-a').callback).toBeUndefined();
  });

  it('parks a call.started without direction or adapter as poison', () => {
    const undirected = started({ direction: callV1.CallDirection.CALL_DIRECTION_UNSPECIFIED });
    expect(() => initialState(undirected, 'routing-a')).toThrow(PoisonMessageError);
    expect(() => initialState(started({ adapterId: '' }), 'routing-a')).toThrow(PoisonMessageError);
  });
});
