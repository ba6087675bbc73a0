import wavefile from 'wavefile';

/** What the adapter needs to know about a recorded message's audio. */
export interface WavAudio {
  /** Milliseconds of audio. */
  durationMs: number;
  /** Whether any 20 ms frame is louder than Asterisk's silence threshold (someone spoke). */
  hasSound: boolean;
}

/**
 * Asterisk's DSP calls a frame silent when its samples' mean absolute value stays below the
 * threshold, 256 by default (dsp.conf `silencethreshold`); the same test here makes "silence only"
 * the decision Asterisk's `maxSilenceSeconds` makes.
 */
const SILENCE_THRESHOLD = 256;
const FRAME_MS = 20;

/** The parts of wavefile's `fmt` chunk read here (its typings declare it as a plain object). */
interface FormatChunk {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  bitsPerSample: number;
}

/**
 * Reads a WAV file as Asterisk's format_wav writes it (PCM, 16-bit, mono): its length and whether it
 * holds more than silence. Throws on anything else, so a file that cannot be judged is never discarded.
 */
export function readWav(file: Buffer): WavAudio {
  const wav = new wavefile.WaveFile(file);
  const format = wav.fmt as FormatChunk;
  if (format.audioFormat !== 1 || format.bitsPerSample !== 16 || format.numChannels !== 1 || !format.sampleRate)
    throw new Error(
      `the WAV file is not 16-bit mono PCM (format ${format.audioFormat}, ${format.bitsPerSample} bit, ${format.numChannels} channels)`,
    );
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  const frame = Math.max(1, Math.round((format.sampleRate * FRAME_MS) / 1000));
  let hasSound = false;
  for (let start = 0; start < samples.length && !hasSound; start += frame) {
    const end = Math.min(samples.length, start + frame);
    let sum = 0;
    for (let i = start; i < end; i++) sum += Math.abs(samples[i]!);
    hasSound = sum / (end - start) > SILENCE_THRESHOLD;
  }
  return { durationMs: (samples.length * 1000) / format.sampleRate, hasSound };
}
