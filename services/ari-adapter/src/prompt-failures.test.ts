import * as grpc from '@grpc/grpc-js';
import { callControlV1, callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredCall, command, startHarness, type Harness } from '../test/harness.js';
import { metricSum } from '../test/metrics.js';

// A prompt Asterisk cannot play answers 201 and then fails (PlaybackFinished `failed`). The
// adapter must make that visible and still give the caller a way on. Its own file: the metrics
// are read from the first adapter of the process (the kit's telemetry is one per process).

const { PlaybackOutcome } = callV1;
const { CollectEnd } = callControlV1;
const MISSING = 'sound:switchboard/does-not-exist';

describe('prompts Asterisk cannot play', () => {
  let h: Harness;
  beforeAll(async () => (h = await startHarness()));
  afterAll(async () => h?.stop());

  const finished = (callId: string, playbackId: string) =>
    h.events.waitFor<callV1.CallPlaybackFinished>(
      'call.playback_finished',
      (event) => event.callId === callId && event.playbackId === playbackId,
    );

  it('are published as FAILED with the medium and counted; a hangup during a prompt is not a failure', async () => {
    const callId = await answeredCall(h);
    const { playbackId } = await h.control.play({ ...command(callId), media: [MISSING], language: 'de' });
    expect(await finished(callId, playbackId)).toMatchObject({
      outcome: PlaybackOutcome.PLAYBACK_OUTCOME_FAILED,
      mediaUri: MISSING,
    });
    const played = await h.control.play({ ...command(callId), media: ['sound:beep'], language: '' });
    expect(await finished(callId, played.playbackId)).toMatchObject({
      outcome: PlaybackOutcome.PLAYBACK_OUTCOME_DONE,
      mediaUri: 'sound:beep',
    });
    const tone = await h.control.play({ ...command(callId), media: ['tone:ring'], language: '' });
    h.sim.hangupCall(callId);
    expect(await finished(callId, tone.playbackId)).toMatchObject({
      outcome: PlaybackOutcome.PLAYBACK_OUTCOME_HANGUP,
      mediaUri: 'tone:ring',
    });
    expect(await metricSum(h.adapter.httpPort, 'playback_failures_total', 'reason="not_found"')).toBe(1);
    expect(await metricSum(h.adapter.httpPort, 'playback_failures_total')).toBe(1);
  });

  it('leave a menu to its no-input path, saying the prompts failed, and still take a key', async () => {
    const silent = await answeredCall(h);
    const unanswered = await h.control.playAndCollect({
      ...command(silent),
      media: ['sound:switchboard/welcome', MISSING],
      language: 'de',
      maxDigits: 1,
      terminator: '',
      firstDigitTimeoutMs: 300,
      interDigitTimeoutMs: 300,
      bargeIn: false,
    });
    expect(unanswered).toEqual({ digits: '', endedBy: CollectEnd.COLLECT_END_TIMEOUT, promptsFailed: true });
    expect(h.sim.getCall(silent)).toMatchObject({
      playbacks: ['sound:switchboard/welcome'],
      playbackFailures: [MISSING],
    });

    // The first digit timer runs from the failure: a caller who knows the menu answers it.
    const knowing = await answeredCall(h);
    const answering = h.control.playAndCollect({
      ...command(knowing),
      media: [MISSING],
      language: 'de',
      maxDigits: 1,
      terminator: '',
      firstDigitTimeoutMs: 60_000,
      interDigitTimeoutMs: 300,
      bargeIn: false,
    });
    await h.events.waitFor<callV1.CallPlaybackFinished>(
      'call.playback_finished',
      (event) => event.callId === knowing && event.outcome === PlaybackOutcome.PLAYBACK_OUTCOME_FAILED,
    );
    h.sim.pressDigits(knowing, '3');
    expect(await answering).toEqual({ digits: '3', endedBy: CollectEnd.COLLECT_END_MAX_DIGITS, promptsFailed: true });
    expect(await metricSum(h.adapter.httpPort, 'playback_failures_total', 'reason="not_found"')).toBe(3);
  });

  it('refuses media Asterisk would start and never finish, before asking it', async () => {
    const callId = await answeredCall(h);
    for (const media of [['video:clip'], ['sound:beep', 'recording:greeting'], ['number:many']]) {
      await expect(h.control.play({ ...command(callId), media, language: '' })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
    }
    expect(h.sim.getCall(callId)?.playbacks).toEqual([]);
  });
});
