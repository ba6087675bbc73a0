import { randomBytes } from 'node:crypto';
import wavefile from 'wavefile';
import type { RtpPacket } from './rtp-dtmf.js';

/** PCMA, the first codec of the callers' SDP offer, which Asterisk keeps (it follows the offer's order). */
export const PCMA_PAYLOAD_TYPE = 8;
const SAMPLE_RATE = 8000;
const PACKET_MS = 20;
const SAMPLES_PER_PACKET = (SAMPLE_RATE * PACKET_MS) / 1000;
/** Far above Asterisk's silence threshold (a mean of 256), so its DSP hears talking. */
const AMPLITUDE = 8000;
const TONE_HZ = 440;

/**
 * A caller speaking for `durationMs`: a 440 Hz tone as A-law RTP, one packet every 20 ms, for sipp's
 * `play_pcap_audio` (written with `pcapFile`). Encoded by wavefile, the library the adapter reads WAVs with.
 */
export function speechPackets(durationMs: number): RtpPacket[] {
  const count = Math.max(1, Math.round(durationMs / PACKET_MS));
  const pcm = new Int16Array(count * SAMPLES_PER_PACKET);
  for (let i = 0; i < pcm.length; i++)
    pcm[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * i) / SAMPLE_RATE));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, SAMPLE_RATE, '16', pcm);
  wav.toALaw();
  const alaw = (wav.data as { samples: Uint8Array }).samples;
  const random = randomBytes(10);
  const ssrc = random.readUInt32BE(0);
  const firstTimestamp = random.readUInt32BE(4);
  const firstSequence = random.readUInt16BE(8);
  return Array.from({ length: count }, (_, index) => {
    const header = Buffer.alloc(12);
    header.writeUInt8(0x80, 0); // RTP version 2
    header.writeUInt8((index === 0 ? 0x80 : 0) | PCMA_PAYLOAD_TYPE, 1); // marker: a talkspurt begins
    header.writeUInt16BE((firstSequence + index) & 0xffff, 2);
    header.writeUInt32BE((firstTimestamp + index * SAMPLES_PER_PACKET) >>> 0, 4);
    header.writeUInt32BE(ssrc >>> 0, 8);
    const payload = alaw.subarray(index * SAMPLES_PER_PACKET, (index + 1) * SAMPLES_PER_PACKET);
    return { offsetMs: index * PACKET_MS, bytes: Buffer.concat([header, payload]) };
  });
}
