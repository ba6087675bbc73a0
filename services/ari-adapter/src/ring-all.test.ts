import { type callControlV1, callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN_NUMBER, answeredCall, callEnded, command, startHarness, type Harness } from '../test/harness.js';

const { LegDisposition, LegKind, LegState } = callV1;

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

type Behavior = Parameters<Harness['sim']['setEndpoint']>[1];

/** Desk phones `kropp-<prefix>-<n>` with the given behaviours; the DialAll targets for them, tagged by agent. */
function phones(prefix: string, behaviors: Behavior[]): callControlV1.DialTarget[] {
  return behaviors.map((behavior, index) => {
    const name = `kropp-${prefix}-${index + 1}`;
    h.sim.setEndpoint(`PJSIP/${name}`, behavior);
    return { endpoint: `PJSIP/${name}`, kind: LegKind.LEG_KIND_INTERNAL, tags: { agent_id: `${prefix}-${index + 1}` } };
  });
}

function dialAll(callId: string, targets: callControlV1.DialTarget[], timeoutSeconds = 600, commandId?: string) {
  return h.control.dialAll({
    ...command(callId, commandId),
    targets,
    callerId: MAIN_NUMBER,
    timeoutSeconds,
    waitForOutcome: true,
  });
}

/** The leg ids of a ring-all once every one of its legs rings, by agent tag. */
async function ringing(callId: string, agents: string[]): Promise<Map<string, string>> {
  const legs = new Map<string, string>();
  for (const agent of agents) {
    const event = await h.events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (e) => e.callId === callId && e.leg?.tags['agent_id'] === agent && e.leg.state === LegState.LEG_STATE_RINGING,
    );
    legs.set(agent, event.leg!.legId);
  }
  return legs;
}

const legsOf = (end: callV1.CallEnded) => new Map(end.legs.map((leg) => [leg.tags['agent_id'] ?? 'caller', leg]));

describe('DialAll (ring-all) against the ARI emulator', () => {
  it('two of five phones answer in the same instant: exactly one is bridged, every other leg is hung up with cause 26 and never bridged', async () => {
    const callId = await answeredCall(h);
    const targets = phones(
      'same',
      Array.from({ length: 5 }, () => ({ noAnswer: true })),
    );
    const response = dialAll(callId, targets);
    const legs = await ringing(callId, ['same-1', 'same-2', 'same-3', 'same-4', 'same-5']);
    // Both phones pick up before the adapter hears of either: their Up events arrive back to back.
    h.sim.answerCall(legs.get('same-4')!);
    h.sim.answerCall(legs.get('same-2')!);

    const result = await response;
    const winner = legs.get('same-4')!;
    expect(result).toEqual({
      legIds: [...legs.values()],
      answeredLegId: winner,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    });
    const late = legs.get('same-2')!;
    for (const [agent, legId] of legs) {
      if (legId === winner) continue;
      const record = await waitForEnd(legId);
      expect([agent, record.hangupCause, record.bridgedWith]).toEqual([agent, 26, []]);
    }
    expect(h.sim.getCall(late)?.answered).toBe(true);
    expect(h.sim.getCall(callId)?.bridgedWith).toEqual([winner]);
    expect(h.sim.getCall(winner)?.bridgedWith).toEqual([callId]);
    // The late answer was never reported as answered, so presence never puts its agent on the call.
    expect(
      h.events.of<callV1.CallLegUpdated>(
        'call.leg_updated',
        (e) => e.leg?.legId === late && e.leg.state === LegState.LEG_STATE_ANSWERED,
      ),
    ).toEqual([]);

    h.sim.hangupCall(callId);
    const end = legsOf(await callEnded(h, callId));
    expect(end.get('same-4')).toMatchObject({ disposition: LegDisposition.LEG_DISPOSITION_ANSWERED, hangupCause: 16 });
    for (const agent of ['same-1', 'same-2', 'same-3', 'same-5'])
      expect([agent, end.get(agent)]).toEqual([
        agent,
        expect.objectContaining({
          disposition: LegDisposition.LEG_DISPOSITION_CANCELLED,
          hangupCause: 26,
          hangupCauseText: 'Answered elsewhere',
          state: LegState.LEG_STATE_ENDED,
        }),
      ]);
  });

  it('a phone answering while the winner is being bridged is hung up with cause 26 and never bridged', async () => {
    const callId = await answeredCall(h);
    const targets = phones(
      'later',
      Array.from({ length: 5 }, () => ({ noAnswer: true })),
    );
    const response = dialAll(callId, targets);
    const legs = await ringing(callId, ['later-1', 'later-2', 'later-3', 'later-4', 'later-5']);
    const winner = legs.get('later-1')!;
    const late = legs.get('later-5')!;
    h.sim.answerCall(winner);
    // The second phone picks up as soon as the adapter took the first answer, before it was bridged.
    await h.events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (e) => e.leg?.legId === winner && e.leg.state === LegState.LEG_STATE_ANSWERED,
    );
    try {
      h.sim.answerCall(late);
    } catch {
      // The adapter hung it up first (cause 26 while ringing): the race went the other way, also fine.
    }
    expect(await response).toMatchObject({
      answeredLegId: winner,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    });
    const record = await waitForEnd(late);
    expect([record.hangupCause, record.bridgedWith]).toEqual([26, []]);
    expect(h.sim.getCall(callId)?.bridgedWith).toEqual([winner]);
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });

  it('rings out: every leg NO_ANSWER (cause 19) and the ring as a whole NO_ANSWER', async () => {
    const callId = await answeredCall(h);
    const targets = phones('out', [{ noAnswer: true }, { noAnswer: true }, { busy: true }]);
    const result = await dialAll(callId, targets, 1);
    expect(result.disposition).toBe(LegDisposition.LEG_DISPOSITION_NO_ANSWER);
    expect(result.answeredLegId).toBe('');
    h.sim.hangupCall(callId);
    const end = legsOf(await callEnded(h, callId));
    expect(end.get('out-1')).toMatchObject({ disposition: LegDisposition.LEG_DISPOSITION_NO_ANSWER, hangupCause: 19 });
    expect(end.get('out-2')).toMatchObject({ disposition: LegDisposition.LEG_DISPOSITION_NO_ANSWER, hangupCause: 19 });
    expect(end.get('out-3')).toMatchObject({ disposition: LegDisposition.LEG_DISPOSITION_BUSY, hangupCause: 17 });
  });

  it('all busy: BUSY; one unreachable among busy ones: UNAVAILABLE', async () => {
    const callId = await answeredCall(h);
    const busy = await dialAll(callId, phones('busy', [{ busy: true }, { busy: true }, { busy: true }]));
    expect(busy.disposition).toBe(LegDisposition.LEG_DISPOSITION_BUSY);
    const mixed = await dialAll(callId, phones('mixed', [{ busy: true }, { unavailable: true }]));
    expect(mixed.disposition).toBe(LegDisposition.LEG_DISPOSITION_UNAVAILABLE);
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });

  it('the caller hangs up while all ring: every leg CANCELLED, and so is the ring', async () => {
    const callId = await answeredCall(h);
    const targets = phones('gone', [{ noAnswer: true }, { noAnswer: true }, { noAnswer: true }]);
    const response = dialAll(callId, targets);
    await ringing(callId, ['gone-1', 'gone-2', 'gone-3']);
    h.sim.hangupCall(callId);
    expect((await response).disposition).toBe(LegDisposition.LEG_DISPOSITION_CANCELLED);
    const end = legsOf(await callEnded(h, callId));
    for (const agent of ['gone-1', 'gone-2', 'gone-3'])
      expect([agent, end.get(agent)?.disposition]).toEqual([agent, LegDisposition.LEG_DISPOSITION_CANCELLED]);
    expect(end.get('caller')?.hangupCause).toBe(16);
  });

  it('runs once per command id: a repeat returns the first result and dials nobody again', async () => {
    const callId = await answeredCall(h);
    const targets = phones('once', [{ answerAfterMs: 1_000 }, { noAnswer: true }]);
    const first = await dialAll(callId, targets, 600, 'ring-once');
    const again = await dialAll(callId, targets, 600, 'ring-once');
    expect(again).toEqual(first);
    expect(first.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    const dialled = h.sim.listCalls().filter((record) => record.to.startsWith('PJSIP/kropp-once-'));
    expect(dialled).toHaveLength(2);
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });

  it('refuses a ring-all without targets or with a target that is no dial string', async () => {
    const callId = await answeredCall(h);
    await expect(dialAll(callId, [])).rejects.toThrow(/targets must name at least one endpoint/);
    await expect(dialAll(callId, [{ endpoint: 'agent1', kind: LegKind.LEG_KIND_INTERNAL, tags: {} }])).rejects.toThrow(
      /not a dial string/,
    );
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });
});

/** The emulator's record of a channel once it has ended (its ChannelDestroyed was sent). */
async function waitForEnd(channelId: string) {
  const destroyed = await h.events.waitFor<callV1.CallLegUpdated>(
    'call.leg_updated',
    (e) => e.leg?.legId === channelId && e.leg.state === LegState.LEG_STATE_ENDED,
  );
  expect(destroyed.bridged).toBe(false);
  return h.sim.getCall(channelId)!;
}
