/**
 * A voicemail as Asterisk records it with format `wav`: 8 kHz, 16-bit signed little-endian PCM,
 * mono, in a RIFF/WAVE container. The "speech" is a tone with seeded noise, so two samples with
 * different seeds differ and the same seed gives the same file.
 */
export function sampleVoicemailWav({ seconds, seed = 1 }: { seconds: number; seed?: number }): Buffer {
  const rate = 8_000;
  const samples = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < samples; index += 1) {
    // xorshift32: deterministic noise without a dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const noise = ((state >>> 0) / 0xffff_ffff - 0.5) * 2_000;
    const tone = Math.sin((2 * Math.PI * (300 + seed * 10) * index) / rate) * 8_000;
    wav.writeInt16LE(Math.round(tone + noise), 44 + index * 2);
  }
  return wav;
}
