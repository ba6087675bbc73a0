import { Objm } from '@nats-io/obj';
import type { MessageScript } from '@switchboard/ari-sim';
import { VOICEMAIL_INBOX_BUCKET } from '@switchboard/events';
import { callControlV1, callV1, type faxV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { metricSum } from '../test/metrics.js';
import { MAIN_NUMBER, TENANT, callEnded, command, startHarness, type Harness } from '../test/harness.js';
import { readWav } from './wav.js';

const { VoicemailOutcome } = callControlV1;
const { LegKind } = callV1;
const CALLER = '+4946241234';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ endpoints: { 'kropp-vm-agent': { answerAfterMs: 500 } } });
});

afterAll(async () => {
  await h?.stop();
});

/** An inbound call whose caller, once recorded, says `message`; its call id. */
async function callLeavingMessage(message: MessageScript, script: Array<{ atMs: number; hangup: true }> = []) {
  const callId = h.sim.placeCall({ from: CALLER, to: MAIN_NUMBER, message, script });
  await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
  return callId;
}

function recordVoicemail(
  callId: string,
  fields: Partial<callControlV1.RecordVoicemailRequest> = {},
  commandId?: string,
) {
  return h.control.recordVoicemail({
    ...command(callId, commandId),
    greeting: ['sound:vm-intro'],
    language: 'de',
    departmentId: 'dep-buergerbuero',
    maxDurationSeconds: 120,
    maxSilenceSeconds: 5,
    beep: true,
    terminateOn: '#',
    ...fields,
  });
}

const received = (callId: string) =>
  h.events.waitFor<faxV1.VoicemailReceived>('voicemail.received', (event) => event.callId === callId);

/** What Asterisk (the emulator) still keeps in its recording directory. */
async function storedInAsterisk(): Promise<Array<{ name: string }>> {
  const response = await fetch(`${h.sim.url}/ari/recordings/stored?api_key=switchboard:ari-secret`);
  return (await response.json()) as Array<{ name: string }>;
}

describe('RecordVoicemail against the ARI emulator', () => {
  it('plays the greeting, records until the caller falls silent, stores the WAV in the voicemail inbox, publishes it and deletes it in Asterisk', async () => {
    const callId = await callLeavingMessage({ pauseMs: 500, speechMs: 3_000 });
    const result = await recordVoicemail(callId);
    // 0.5 s pause, 3 s speech, then 5 s of silence end it: Asterisk reports 4 s and keeps 3.7 s of audio.
    expect(result).toEqual({ outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED, durationSeconds: 4, reason: '' });
    const event = await received(callId);
    expect(event).toMatchObject({
      meta: expect.objectContaining({ tenantId: TENANT }),
      departmentId: 'dep-buergerbuero',
      dialedNumber: MAIN_NUMBER,
      callerNumber: CALLER,
      durationSeconds: 4,
      error: '',
      audioUri: expect.stringMatching(
        new RegExp(`^nats-object://${VOICEMAIL_INBOX_BUCKET}/${TENANT}/voicemail-.+\\.wav$`),
      ),
    });
    expect(event.startedAt!.getTime()).toBeLessThanOrEqual(event.endedAt!.getTime());
    const objectName = event.audioUri.slice(`nats-object://${VOICEMAIL_INBOX_BUCKET}/`.length);
    const store = await new Objm(h.bus.connection).open(VOICEMAIL_INBOX_BUCKET);
    const audio = Buffer.from((await store.getBlob(objectName))!);
    expect(String(audio.length)).toBe(event.audioBytes);
    expect(readWav(audio)).toEqual({ durationMs: 3_700, hasSound: true });
    expect(await storedInAsterisk()).toEqual([]);
    // The caller heard the greeting and the beep, and the call goes on (routing says goodbye).
    expect(h.sim.getCall(callId)?.playbacks).toEqual(['sound:vm-intro', 'sound:beep']);
    expect(h.sim.getCall(callId)?.endedAt).toBeUndefined();
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
    expect(await metricSum(h.adapter.httpPort, 'voicemail_recorded_total')).toBeGreaterThanOrEqual(1);
  });

  it('ends on # and keeps a message whose caller hangs up while recording', async () => {
    const keyed = await callLeavingMessage({ speechMs: 2_000, then: { dtmf: '#', afterMs: 300 } });
    expect(await recordVoicemail(keyed)).toMatchObject({
      outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED,
      durationSeconds: 2,
    });
    h.sim.hangupCall(keyed);

    const leaving = await callLeavingMessage({ speechMs: 2_500, then: { hangup: true } });
    expect(await recordVoicemail(leaving)).toMatchObject({
      outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED,
      durationSeconds: 2,
    });
    const event = await received(leaving);
    expect(event.error).toBe('');
    const end = await callEnded(h, leaving);
    expect(end.endedBy).toBe('caller');
    expect(await storedInAsterisk()).toEqual([]);
  });

  it('discards silence and a message shorter than a second, publishes nothing and counts them', async () => {
    const silent = await callLeavingMessage({ speechMs: 0 });
    expect(await recordVoicemail(silent)).toEqual({
      outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED,
      durationSeconds: 1,
      reason: 'silence',
    });
    const short = await callLeavingMessage({ speechMs: 400, then: { dtmf: '#' } });
    expect(await recordVoicemail(short)).toMatchObject({
      outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED,
      reason: 'too_short',
    });
    expect(
      h.events.of('voicemail.received', (event: faxV1.VoicemailReceived) => [silent, short].includes(event.callId)),
    ).toEqual([]);
    expect(await storedInAsterisk()).toEqual([]);
    expect(await metricSum(h.adapter.httpPort, 'voicemail_discarded_total', 'reason="silence"')).toBe(1);
    expect(await metricSum(h.adapter.httpPort, 'voicemail_discarded_total', 'reason="too_short"')).toBe(1);
    h.sim.hangupCall(silent);
    h.sim.hangupCall(short);
  });

  it('a caller who hangs up during the greeting leaves nothing: discarded as no_recording', async () => {
    const callId = await callLeavingMessage({ speechMs: 5_000 });
    const greeting = Array.from({ length: 20 }, () => 'sound:vm-intro');
    const response = recordVoicemail(callId, { greeting });
    await vi.waitFor(() => expect(h.sim.getCall(callId)?.playbacks).toContain('sound:vm-intro'));
    h.sim.hangupCall(callId);
    expect(await response).toEqual({
      outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED,
      durationSeconds: 0,
      reason: 'no_recording',
    });
    await callEnded(h, callId);
  });

  it('a recording Asterisk refuses (the caller is bridged) is published with its error and counted, never lost silently', async () => {
    const callId = await callLeavingMessage({ speechMs: 2_000 });
    await h.control.dial({
      ...command(callId),
      endpoint: 'PJSIP/kropp-vm-agent',
      kind: LegKind.LEG_KIND_INTERNAL,
      callerId: MAIN_NUMBER,
      timeoutSeconds: 60,
      tags: {},
      waitForOutcome: true,
    });
    const result = await recordVoicemail(callId, { greeting: [] });
    expect(result.outcome).toBe(VoicemailOutcome.VOICEMAIL_OUTCOME_FAILED);
    expect(result.reason).toContain('Cannot record channel while in bridge');
    const event = await received(callId);
    expect(event).toMatchObject({ audioUri: '', audioBytes: '0', durationSeconds: 0 });
    expect(event.error).toContain('Cannot record channel while in bridge');
    expect(await metricSum(h.adapter.httpPort, 'voicemail_failures_total', 'reason="recording_failed"')).toBe(1);
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });

  it('events lost with the caller: the recording Asterisk kept is fetched anyway and delivered', async () => {
    const callId = await callLeavingMessage({ speechMs: 60_000 });
    const response = recordVoicemail(callId, { greeting: [] });
    // The beep marks the recording's start; a key the adapter reports comes after RecordingStarted.
    await vi.waitFor(() => expect(h.sim.getCall(callId)?.playbacks).toContain('sound:beep'));
    h.sim.pressDigits(callId, '1');
    await h.events.waitFor<callV1.CallDtmfReceived>('call.dtmf_received', (event) => event.callId === callId);
    // The caller hangs up while the adapter has no events connection: RecordingFinished never arrives.
    h.sim.dropWebSockets();
    h.sim.hangupCall(callId);
    const result = await response;
    expect(result.outcome).toBe(VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED);
    const event = await received(callId);
    expect(event.error).toBe('');
    expect(Number(event.audioBytes)).toBeGreaterThan(0);
    expect(await storedInAsterisk()).toEqual([]);
    await callEnded(h, callId);
  });

  it('runs once per command id and refuses bad arguments', async () => {
    const callId = await callLeavingMessage({ speechMs: 1_500, then: { dtmf: '#' } });
    const first = await recordVoicemail(callId, {}, 'vm-once');
    expect(await recordVoicemail(callId, {}, 'vm-once')).toEqual(first);
    expect(h.sim.getCall(callId)?.recordings).toHaveLength(1);
    await expect(recordVoicemail(callId, { terminateOn: '5' })).rejects.toThrow(/terminate_on "5"/);
    await expect(recordVoicemail(callId, { greeting: ['tone:ring'] })).rejects.toThrow(/plays until stopped/);
    await expect(recordVoicemail(callId, { maxSilenceSeconds: -1 })).rejects.toThrow(/must not be negative/);
    h.sim.hangupCall(callId);
    await callEnded(h, callId);
  });
});
