import { callV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { percentile } from './summary.js';
import { CallTracker } from './tracker.js';

const { CallDirection, LegDisposition, LegKind, LegState } = callV1;
const at = (seconds: number) => new Date(Date.UTC(2026, 10, 28, 9, 0, seconds));

function callerLeg(channelId: string, fields: Partial<callV1.Leg> = {}): callV1.Leg {
  return callV1.Leg.fromPartial({
    legId: `${channelId}-leg`,
    channelId,
    kind: LegKind.LEG_KIND_CALLER,
    createdAt: at(0),
    ...fields,
  });
}

function agentLeg(channelId: string, fields: Partial<callV1.Leg> = {}): callV1.Leg {
  return callV1.Leg.fromPartial({
    legId: `${channelId}-agent`,
    channelId: `${channelId}-agent`,
    kind: LegKind.LEG_KIND_INTERNAL,
    endpoint: 'PJSIP/kropp-109',
    tags: { agent_id: 's-109', department_id: 'standesamt' },
    ...fields,
  });
}

function start(tracker: CallTracker, callId: string, channelId = `ch-${callId}`) {
  tracker.started(
    callV1.CallStarted.fromPartial({
      callId,
      direction: CallDirection.CALL_DIRECTION_INBOUND,
      callerLeg: callerLeg(channelId),
      dialedNumber: '+494624720',
    }),
  );
}

function end(tracker: CallTracker, callId: string, legs: callV1.Leg[], endedBy: string) {
  tracker.ended(
    callV1.CallEnded.fromPartial({ callId, legs, endedBy, direction: CallDirection.CALL_DIRECTION_INBOUND }),
  );
}

describe('CallTracker', () => {
  it('counts every offered call once as answered, abandoned, busy or other, with waits from StasisStart to answer', () => {
    const tracker = new CallTracker();
    tracker.plan('ch-a', { department: 'standesamt', digits: 2 });
    tracker.plan('ch-b', { department: 'buergerbuero', digits: 1 });
    tracker.plan('ch-c', { department: 'bauhof', digits: 1 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) start(tracker, id);
    start(tracker, 'a'); // a redelivered start changes nothing

    tracker.dtmf(callV1.CallDtmfReceived.fromPartial({ callId: 'b', digit: '1' }));
    tracker.legUpdated(
      callV1.CallLegUpdated.fromPartial({
        callId: 'a',
        leg: agentLeg('ch-a', { state: LegState.LEG_STATE_ANSWERED, answeredAt: at(12) }),
        bridged: true,
      }),
    );
    const live = tracker.view();
    expect(live).toMatchObject({ offered: 5, inProgress: 5, talking: 1, inIvr: 1, answered: 0 });
    expect(live.waiting).toEqual({ buergerbuero: 1, '(none)': 2 });

    end(tracker, 'a', [callerLeg('ch-a'), agentLeg('ch-a', { answeredAt: at(12) })], 'callee');
    end(tracker, 'b', [callerLeg('ch-b')], 'caller');
    end(
      tracker,
      'c',
      [callerLeg('ch-c', { disposition: LegDisposition.LEG_DISPOSITION_BUSY, hangupCause: 17 })],
      'system',
    );
    end(
      tracker,
      'd',
      [callerLeg('ch-d'), agentLeg('ch-d', { answeredAt: at(30), tags: { department_id: 'bauhof' } })],
      'caller',
    );
    end(tracker, 'a', [callerLeg('ch-a')], 'caller'); // a redelivered end changes nothing

    const summary = tracker.summary();
    expect(summary).toMatchObject({
      offered: 5,
      answered: 2,
      abandoned: 1,
      busy: 1,
      other: 0,
      unfinished: 1,
      maxConcurrent: 5,
      waitP50Ms: 12_000,
      waitP95Ms: 30_000,
      waitAvgMs: 21_000,
    });
    expect(summary.answered + summary.abandoned + summary.busy + summary.other + summary.unfinished).toBe(
      summary.offered,
    );
    expect(summary.perDepartment).toEqual({
      bauhof: { offered: 2, answered: 1, abandoned: 0, busy: 1, other: 0, waitP50Ms: 30_000, waitP95Ms: 30_000 },
      buergerbuero: { offered: 1, answered: 0, abandoned: 1, busy: 0, other: 0, waitP50Ms: 0, waitP95Ms: 0 },
      standesamt: { offered: 1, answered: 1, abandoned: 0, busy: 0, other: 0, waitP50Ms: 12_000, waitP95Ms: 12_000 },
    });
    end(tracker, 'e', [callerLeg('ch-e')], 'system');
    expect(tracker.summary()).toMatchObject({ other: 1, unfinished: 0 });
  });

  it('ignores outbound and internal calls', () => {
    const tracker = new CallTracker();
    tracker.started(
      callV1.CallStarted.fromPartial({
        callId: 'x',
        direction: CallDirection.CALL_DIRECTION_INTERNAL,
        callerLeg: callerLeg('x'),
      }),
    );
    expect(tracker.summary().offered).toBe(0);
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile([], 95)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
  });
});
