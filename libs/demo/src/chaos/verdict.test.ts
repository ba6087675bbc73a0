import { callV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { billableLegs, classify, compareLegs, lossReasons, type CallClass, type RunFigures } from './verdict.js';

const { CallDirection, LegKind } = callV1;

describe('classify', () => {
  const base = { chosen: 'standesamt', started: true, endedEvents: 1 };

  it('tells the chosen department from another one', () => {
    expect(classify({ ...base, outcome: 'answered', department: 'standesamt' })).toBe('answered');
    expect(classify({ ...base, outcome: 'answered', department: 'buergerbuero' })).toBe('answered-elsewhere');
  });

  it('keeps busy and abandoned, and everything else without an agent is other', () => {
    expect(classify({ ...base, outcome: 'busy' })).toBe('busy');
    expect(classify({ ...base, outcome: 'abandoned' })).toBe('abandoned');
    expect(classify({ ...base, outcome: 'other' })).toBe('other');
  });

  it('names calls that never ended: refused by ari-sim, never started, or started and stuck', () => {
    expect(classify({ ...base, endedEvents: 0, started: false, refused: 'no app' })).toBe('refused');
    expect(classify({ ...base, endedEvents: 0, started: false })).toBe('lost');
    expect(classify({ ...base, endedEvents: 0 })).toBe('stuck');
  });

  it('judges a call ended twice by how it ended (counted apart)', () => {
    expect(classify({ ...base, endedEvents: 2, outcome: 'answered', department: 'standesamt' })).toBe('answered');
  });
});

describe('billableLegs', () => {
  const leg = (legId: string, kind: callV1.LegKind) => callV1.Leg.fromPartial({ legId, kind });

  it('rates every leg of an inbound call, agents answered or not', () => {
    const ended = callV1.CallEnded.fromPartial({
      callId: 'c1',
      direction: CallDirection.CALL_DIRECTION_INBOUND,
      legs: [
        leg('caller', LegKind.LEG_KIND_CALLER),
        leg('a1', LegKind.LEG_KIND_INTERNAL),
        leg('a2', LegKind.LEG_KIND_INTERNAL),
      ],
    });
    expect(billableLegs(ended)).toEqual(['c1/caller', 'c1/a1', 'c1/a2']);
  });

  it("leaves out an outbound call's own caller leg", () => {
    const ended = callV1.CallEnded.fromPartial({
      callId: 'c2',
      direction: CallDirection.CALL_DIRECTION_OUTBOUND,
      legs: [leg('caller', LegKind.LEG_KIND_CALLER), leg('out', LegKind.LEG_KIND_EXTERNAL)],
    });
    expect(billableLegs(ended)).toEqual(['c2/out']);
  });
});

describe('compareLegs', () => {
  it('finds missing, doubled and unexpected legs', () => {
    const result = compareLegs(['c/1', 'c/2', 'c/3', 'c/3'], ['c/1', 'c/2', 'c/2', 'x/9']);
    expect(result).toEqual({
      billable: 3,
      rated: 2,
      missing: ['c/3'],
      duplicated: ['c/2'],
      unexpected: ['x/9'],
    });
  });
});

describe('lossReasons', () => {
  const none: Record<CallClass, number> = {
    answered: 300,
    'answered-elsewhere': 0,
    abandoned: 0,
    busy: 0,
    other: 0,
    refused: 0,
    lost: 0,
    stuck: 0,
  };
  const clean: RunFigures = {
    classes: none,
    endedTwice: 0,
    legs: { billable: 600, rated: 600, missing: [], duplicated: [], unexpected: [] },
    leakedAgents: [],
    leftoverEntries: [],
    faultFailures: [],
  };

  it('is empty for a run without loss', () => {
    expect(lossReasons(clean)).toEqual([]);
  });

  it('names every kind of loss', () => {
    const reasons = lossReasons({
      classes: { ...none, 'answered-elsewhere': 6, busy: 1, stuck: 2, lost: 1, refused: 3, abandoned: 4, other: 1 },
      endedTwice: 1,
      legs: { billable: 600, rated: 599, missing: ['c/1'], duplicated: ['c/2', 'c/3'], unexpected: [] },
      leakedAgents: ['kropp-1001 (AGENT_STATE_ON_CALL, call x)'],
      leftoverEntries: ['standesamt: x'],
      faultFailures: ['fault fax:kill@1s: the fax reached its mailbox 0 time(s)'],
    });
    expect(reasons).toEqual([
      '1 call(s) lost: placed, but Switchboard never started them',
      '3 call(s) refused: no adapter took them (the caller hears congestion)',
      '2 call(s) stuck: no call.ended by the end of the run',
      '6 caller(s) answered in another department than they chose',
      '1 caller(s) heard busy',
      '4 caller(s) gave up waiting (patience is set so that nobody does without a fault)',
      '1 call(s) ended without an agent (voicemail, announcement, overflow)',
      '1 call(s) ended twice',
      '1 billable leg(s) not rated (e.g. c/1)',
      '2 leg(s) rated twice (e.g. c/2, c/3)',
      '1 agent(s) left reserved or on a call: kropp-1001 (AGENT_STATE_ON_CALL, call x)',
      '1 queue entr(y/ies) left: standesamt: x',
      'fault fax:kill@1s: the fax reached its mailbox 0 time(s)',
    ]);
  });
});
