import { callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAIN_NUMBER, answeredCall, command, startHarness, type Harness } from '../test/harness.js';

const { LegDisposition, LegKind, LegState } = callV1;
const WAIT = { timeout: 10_000, interval: 20 };

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

function dial(callId: string, endpoint: string, waitForOutcome: boolean, timeoutSeconds = 600) {
  return h.control.dial({
    ...command(callId),
    endpoint,
    kind: LegKind.LEG_KIND_INTERNAL,
    callerId: MAIN_NUMBER,
    timeoutSeconds,
    tags: {},
    waitForOutcome,
  });
}

function legRinging(callId: string, legId?: string) {
  return h.events.waitFor<callV1.CallLegUpdated>(
    'call.leg_updated',
    (e) => e.callId === callId && e.leg?.state === LegState.LEG_STATE_RINGING && (!legId || e.leg.legId === legId),
  );
}

/** What the caller hears now, by ari-sim's media timeline (empty: silence). */
const hearing = (channelId: string) => h.sim.mediaTimeline(channelId).at(-1)?.heard ?? [];
const ringbacks = (channelId: string) => h.sim.getCall(channelId)!.playbacks.filter((m) => m.startsWith('tone:ring'));

describe('ringback for an answered caller while a dialled leg rings', () => {
  it('plays tone:ring while the agent’s phone rings and stops it when the agent is bridged', async () => {
    h.sim.setEndpoint('PJSIP/kropp-rb-answer', { noAnswer: true });
    const callId = await answeredCall(h);
    expect(hearing(callId)).toEqual([]);
    const { legId } = await dial(callId, 'PJSIP/kropp-rb-answer', false);
    await legRinging(callId, legId);
    await vi.waitFor(() => expect(hearing(callId)).toEqual(['playback']), WAIT);
    expect(ringbacks(callId)).toEqual(['tone:ring']);

    h.sim.answerCall(legId);
    await vi.waitFor(() => expect(h.sim.getCall(callId)!.bridgedWith).toEqual([legId]), WAIT);
    expect(hearing(callId)).toEqual(['bridged']);
    // Ringback until the agent answered; silent only while the caller joins the bridge (ARI would
    // hold the bridge add behind a running tone, so the tone stops first); never ringback with the agent.
    const timeline = h.sim.mediaTimeline(callId);
    const fromRingback = timeline.slice(timeline.findIndex((change) => change.heard.includes('playback')));
    expect(fromRingback.map((change) => change.heard)).toEqual([['playback'], [], ['bridged']]);
    expect(ringbacks(callId)).toEqual(['tone:ring']);
    await h.control.hangup({ ...command(callId), cause: 16 });
  });

  it('stops the ringback when the dial fails (no answer, then busy), so routing decides in silence what comes next', async () => {
    h.sim.setEndpoint('PJSIP/kropp-rb-away', { noAnswer: true });
    h.sim.setEndpoint('PJSIP/kropp-rb-busy', { busy: true });
    const callId = await answeredCall(h);
    const noAnswer = await dial(callId, 'PJSIP/kropp-rb-away', true, 5);
    expect(noAnswer.disposition).toBe(LegDisposition.LEG_DISPOSITION_NO_ANSWER);
    await vi.waitFor(() => expect(hearing(callId)).toEqual([]), WAIT);
    expect(h.sim.mediaTimeline(callId).some((change) => change.heard.includes('playback'))).toBe(true);

    const busy = await dial(callId, 'PJSIP/kropp-rb-busy', true);
    expect(busy.disposition).toBe(LegDisposition.LEG_DISPOSITION_BUSY);
    await vi.waitFor(() => expect(hearing(callId)).toEqual([]), WAIT);
    // One playback per dial, none left behind that would hold up the next prompt.
    expect(ringbacks(callId)).toEqual(['tone:ring', 'tone:ring']);
    await h.control.play({ ...command(callId), media: ['digits:1'], language: '' });
    await h.events.waitFor<callV1.CallPlaybackFinished>('call.playback_finished', (e) => e.callId === callId);
    await h.control.hangup({ ...command(callId), cause: 16 });
  });

  it('plays ringback while a Forward rings an outside number and stops it when the number answers', async () => {
    h.sim.setEndpoint('PJSIP/+4915100000077@trunk', { noAnswer: true });
    const callId = await answeredCall(h);
    const forwarded = h.control.forward({
      ...command(callId),
      number: '+4915100000077',
      callerId: MAIN_NUMBER,
      timeoutSeconds: 600,
      homeOffice: false,
      tags: {},
    });
    const { leg } = await legRinging(callId);
    await vi.waitFor(() => expect(hearing(callId)).toEqual(['playback']), WAIT);
    h.sim.answerCall(leg!.legId);
    expect((await forwarded).disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(hearing(callId)).toEqual(['bridged']);
    expect(ringbacks(callId)).toEqual(['tone:ring']);
    await h.control.hangup({ ...command(callId), cause: 16 });
  });

  it('plays one ringback for a whole ring-all', async () => {
    for (const n of [1, 2, 3]) h.sim.setEndpoint(`PJSIP/kropp-rb-all-${n}`, { noAnswer: true });
    const callId = await answeredCall(h);
    const response = await h.control.dialAll({
      ...command(callId),
      targets: [1, 2, 3].map((n) => ({
        endpoint: `PJSIP/kropp-rb-all-${n}`,
        kind: LegKind.LEG_KIND_INTERNAL,
        tags: {},
      })),
      callerId: MAIN_NUMBER,
      timeoutSeconds: 600,
      waitForOutcome: false,
    });
    for (const legId of response.legIds) await legRinging(callId, legId);
    await vi.waitFor(() => expect(hearing(callId)).toEqual(['playback']), WAIT);
    h.sim.answerCall(response.legIds[1]!);
    await vi.waitFor(() => expect(hearing(callId)).toEqual(['bridged']), WAIT);
    expect(ringbacks(callId)).toEqual(['tone:ring']);
    await h.control.hangup({ ...command(callId), cause: 16 });
  });

  it('keeps the music of a caller who waited in a queue instead of switching to ringback', async () => {
    h.sim.setEndpoint('PJSIP/kropp-rb-queue', { noAnswer: true });
    const callId = await answeredCall(h);
    await h.control.startMusicOnHold({ ...command(callId), mohClass: '' });
    const { legId } = await dial(callId, 'PJSIP/kropp-rb-queue', false);
    await legRinging(callId, legId);
    expect(hearing(callId)).toEqual(['moh']);
    h.sim.answerCall(legId);
    await vi.waitFor(() => expect(hearing(callId)).toEqual(['bridged']), WAIT);
    expect(ringbacks(callId)).toEqual([]);
    await h.control.hangup({ ...command(callId), cause: 16 });
  });
});
