import wavefile from 'wavefile';

const SAMPLE_RATE = 8_000;

/**
 * A voicemail as Asterisk records it with format `wav`: 8 kHz, 16-bit PCM, mono, written with
 * `wavefile` as ari-sim writes its recordings. The "speech" is a tone whose pitch follows `seed`,
 * so two samples with different seeds differ and the same seed gives the same file.
 */
export function sampleVoicemailWav({ seconds, seed = 1 }: { seconds: number; seed?: number }): Buffer {
  const samples = new Int16Array(Math.round(seconds * SAMPLE_RATE));
  const hertz = 300 + seed * 10;
  for (let index = 0; index < samples.length; index += 1) {
    samples[index] = Math.round(Math.sin((2 * Math.PI * hertz * index) / SAMPLE_RATE) * 8_000);
  }
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, SAMPLE_RATE, '16', samples);
  return Buffer.from(wav.toBuffer());
}
