import wavefile from 'wavefile';

/**
 * What `ast_play_and_record_full` (main/app.c), driven by res_stasis_recording, leaves behind for a
 * caller's message: the audio and the durations ARI reports. The caller's side is scripted (silence,
 * then speech, then silence), so the result is computed rather than sampled, and is the same on
 * every run whatever the machine's load.
 */

/** How a simulated caller leaves a message once the recording runs (after the beep). */
export interface MessageScript {
  /** Silence before the caller speaks. Default 0. */
  pauseMs?: number;
  /** How long the caller speaks; 0 says nothing at all. */
  speechMs: number;
  /** After speaking: press keys or hang up `afterMs` later; without it the caller stays silent. */
  then?: { dtmf: string; afterMs?: number } | { hangup: true; afterMs?: number };
}

/** Why ast_play_and_record stopped: its `res` > 0 (a key, silence, max time, ARI stop) or hang-up (-1). */
export type RecordingEnd = 'dtmf' | 'silence' | 'max-duration' | 'stopped' | 'hangup';

export interface RecordedMessage {
  /** The whole-second `duration` ARI reports. */
  duration: number;
  /** `talking_duration`, present only when maxSilenceSeconds was given (Asterisk measures it only then). */
  talkingDuration?: number;
  /** Milliseconds of audio in the file (trailing silence trimmed as Asterisk trims it). */
  audioMs: number;
  /** Where the caller spoke, in ms from the file's start. */
  speech?: { from: number; to: number };
}

/** Asterisk's DSP decides per 20 ms frame; `dspsilence > maxsilence` ends the recording. */
const FRAME_MS = 20;
/** ast_play_and_record keeps 200 ms of the trailing silence when it trims. */
const KEPT_SILENCE_MS = 200;

/**
 * When a recording of `message` ends by itself (ms from its start) and why: the caller's key or
 * hang-up, the silence limit, the time limit. Undefined when only something unscripted can end it
 * (a control-API hang-up or key, ARI stop).
 */
export function scriptedEnd(
  message: MessageScript | undefined,
  options: { maxDurationMs: number; maxSilenceMs: number; acceptDtmf: string },
): { atMs: number; end: RecordingEnd } | undefined {
  const pause = message?.pauseMs ?? 0;
  const speech = message?.speechMs ?? 0;
  const candidates: Array<{ atMs: number; end: RecordingEnd }> = [];
  if (options.maxDurationMs > 0) candidates.push({ atMs: options.maxDurationMs, end: 'max-duration' });
  if (options.maxSilenceMs > 0) {
    const silenceEnds = options.maxSilenceMs + FRAME_MS;
    // The first silence is the pause before speaking (the whole recording for a silent caller).
    if (speech === 0 || pause >= silenceEnds) candidates.push({ atMs: silenceEnds, end: 'silence' });
    else candidates.push({ atMs: pause + speech + silenceEnds, end: 'silence' });
  }
  const then = message?.then;
  if (then) {
    const atMs = pause + speech + (then.afterMs ?? 0);
    if ('hangup' in then) candidates.push({ atMs, end: 'hangup' });
    else if (then.dtmf && options.acceptDtmf.includes(then.dtmf[0] ?? '')) candidates.push({ atMs, end: 'dtmf' });
  }
  return candidates.sort((a, b) => a.atMs - b.atMs)[0];
}

/**
 * The message as Asterisk stores and reports it when recording stopped `atMs` after it started:
 * `duration` is the audio's whole seconds, less the trailing silence beyond 200 ms; with silence
 * detection `talking_duration` is the duration less all silence beyond 200 ms; the file loses its
 * trailing silence beyond 200 ms unless the caller hung up.
 */
export function recordedMessage(
  message: MessageScript | undefined,
  atMs: number,
  end: RecordingEnd,
  maxSilenceMs: number,
): RecordedMessage {
  const pause = message?.pauseMs ?? 0;
  const speechFrom = Math.min(pause, atMs);
  const speechTo = Math.min(pause + (message?.speechMs ?? 0), atMs);
  const spoke = speechTo > speechFrom;
  let duration = Math.floor(atMs / 1000);
  let talkingDuration: number | undefined;
  let audioMs = atMs;
  // Silence is measured only with silence detection on.
  if (maxSilenceMs > 0) {
    const trailing = spoke ? atMs - speechTo : atMs;
    const total = spoke ? speechFrom + trailing : atMs;
    talkingDuration = Math.max(0, duration - (total > 0 ? Math.trunc((total - KEPT_SILENCE_MS) / 1000) : 0));
    if (trailing > 0) duration = Math.max(0, duration - Math.trunc((trailing - KEPT_SILENCE_MS) / 1000));
    if (end !== 'hangup' && trailing > KEPT_SILENCE_MS) audioMs = atMs - (trailing - KEPT_SILENCE_MS);
  }
  return {
    duration,
    ...(talkingDuration !== undefined ? { talkingDuration } : {}),
    audioMs,
    ...(spoke ? { speech: { from: speechFrom, to: Math.min(speechTo, audioMs) } } : {}),
  };
}

const SAMPLE_RATE = 8000;
/** Loud enough for any silence detector (Asterisk's default threshold is an average of 256). */
const SPEECH_AMPLITUDE = 8000;

/** 16-bit signed linear samples at 8 kHz: zero for silence, a 440 Hz tone where the caller spoke. */
function samples(recorded: RecordedMessage): Int16Array {
  const count = Math.round((recorded.audioMs * SAMPLE_RATE) / 1000);
  const pcm = new Int16Array(count);
  if (recorded.speech) {
    const from = Math.round((recorded.speech.from * SAMPLE_RATE) / 1000);
    const to = Math.min(count, Math.round((recorded.speech.to * SAMPLE_RATE) / 1000));
    for (let i = from; i < to; i++)
      pcm[i] = Math.round(SPEECH_AMPLITUDE * Math.sin((2 * Math.PI * 440 * (i - from)) / SAMPLE_RATE));
  }
  return pcm;
}

/** The formats this emulator can write (Asterisk with docker/asterisk/modules.conf knows more). */
export const RECORDING_FORMATS: Record<string, (recorded: RecordedMessage) => Buffer> = {
  // format_wav: RIFF/WAVE, PCM, mono, 8 kHz, 16 bit.
  wav: (recorded) => {
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, SAMPLE_RATE, '16', samples(recorded));
    return Buffer.from(wav.toBuffer());
  },
  // format_sln: the bare samples.
  sln: (recorded) => {
    const pcm = samples(recorded);
    return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  },
};

/** File extensions Asterisk has a format module for with docker/asterisk/modules.conf. */
export const KNOWN_FORMATS = new Set([
  'wav',
  'gsm',
  'pcm',
  'ulaw',
  'ul',
  'mu',
  'ulw',
  'alaw',
  'al',
  'alw',
  'sln',
  'raw',
]);
