import { callV1 } from '@switchboard/proto';
import { PoisonMessageError } from '@switchboard/service-kit';
import { describe, expect, it } from 'vitest';
import { billableLegs } from './legs.js';

const at = (second: number) => new Date(Date.UTC(2026, 2, 10, 9, 0, second));

function leg(legId: string, kind: callV1.LegKind, overrides: Partial<callV1.Leg> = {}): callV1.Leg {
  return {
    legId,
    channelId: `ch-${legId}`,
    kind,
    endpoint: '',
    from: '+4946211111',
    to: '+49301234567',
    createdAt: at(0),
    answeredAt: at(5),
    endedAt: at(50),
    disposition: callV1.LegDisposition.LEG_DISPOSITION_ANSWERED,
    hangupCause: 16,
    hangupCauseText: '',
    tags: {},
    state: callV1.LegState.LEG_STATE_ENDED,
    ...overrides,
  };
}

function call(direction: callV1.CallDirection, legs: callV1.Leg[]): callV1.CallEnded {
  return { meta: undefined, callId: 'c1', direction, startedAt: at(0), endedAt: at(50), legs, endedBy: 'caller' };
}

const { LegKind, CallDirection } = callV1;

describe('billableLegs', () => {
  it('rates the caller leg of an inbound call but not of an outbound one', () => {
    const inbound = billableLegs(
      't',
      call(CallDirection.CALL_DIRECTION_INBOUND, [
        leg('a', LegKind.LEG_KIND_CALLER),
        leg('b', LegKind.LEG_KIND_INTERNAL, { tags: { site_id: 'library' } }),
        leg('c', LegKind.LEG_KIND_FORWARDED_HOME_OFFICE),
      ]),
    );
    expect(inbound.map((source) => [source.legId, source.role, source.number, source.siteId])).toEqual([
      ['a', 'inbound', '+4946211111', 'library'],
      ['b', 'internal', '+49301234567', 'library'],
      ['c', 'forwarded', '+49301234567', 'library'],
    ]);
    const outbound = billableLegs(
      't',
      call(CallDirection.CALL_DIRECTION_OUTBOUND, [
        leg('a', LegKind.LEG_KIND_CALLER),
        leg('b', LegKind.LEG_KIND_EXTERNAL),
      ]),
    );
    expect(outbound.map((source) => [source.legId, source.role, source.siteId])).toEqual([['b', 'external', '']]);
  });

  it("carries the call's trace context to every leg, so a rated leg links to the call's trace", () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const ended = call(CallDirection.CALL_DIRECTION_OUTBOUND, [
      leg('a', LegKind.LEG_KIND_CALLER),
      leg('b', LegKind.LEG_KIND_EXTERNAL),
    ]);
    ended.meta = {
      eventId: 'e1',
      tenantId: 't',
      occurredAt: at(50),
      producer: 'ari-adapter',
      trace: { traceparent, tracestate: '' },
    };
    expect(billableLegs('t', ended).map((source) => source.traceparent)).toEqual([traceparent]);
  });

  it('keeps an unanswered leg with no answer time', () => {
    const [source] = billableLegs(
      't',
      call(CallDirection.CALL_DIRECTION_OUTBOUND, [
        leg('b', LegKind.LEG_KIND_EXTERNAL, { disposition: callV1.LegDisposition.LEG_DISPOSITION_BUSY }),
      ]),
    );
    expect(source?.answeredAt).toBeUndefined();
  });

  it('refuses legs it cannot rate correctly, as poison', () => {
    const bad = (overrides: Partial<callV1.Leg>) => () =>
      billableLegs('t', call(CallDirection.CALL_DIRECTION_OUTBOUND, [leg('b', LegKind.LEG_KIND_EXTERNAL, overrides)]));
    expect(bad({ answeredAt: undefined })).toThrow(PoisonMessageError);
    expect(bad({ endedAt: undefined })).toThrow(/lacks its created or ended time/);
    expect(bad({ kind: LegKind.LEG_KIND_UNSPECIFIED })).toThrow(/does not know/);
    expect(bad({ legId: '' })).toThrow(/without a leg id/);
  });
});
