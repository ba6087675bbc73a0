import { describe, expect, it } from 'vitest';
import { DTMF_PAYLOAD_TYPE, pcapFile, telephoneEventPackets, telephoneEvents } from './rtp-dtmf.js';
import { readRtpEvent } from './rtp-dtmf.fixture.js';

/** The UDP payloads of a classic little-endian Ethernet/IPv4 pcap, checking the framing sipp relies on. */
function udpPayloads(file: Buffer): { offsetUs: number; payload: Buffer }[] {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(file.readUInt32LE(20)).toBe(1); // Ethernet
  const packets: { offsetUs: number; payload: Buffer }[] = [];
  for (let at = 24; at < file.length;) {
    const captured = file.readUInt32LE(at + 8);
    expect(file.readUInt32LE(at + 12)).toBe(captured); // sipp refuses truncated packets
    const frame = file.subarray(at + 16, at + 16 + captured);
    expect(frame.readUInt16BE(12)).toBe(0x0800);
    const ip = frame.subarray(14, 34);
    expect(ip[9]).toBe(17);
    let sum = 0;
    for (let offset = 0; offset < 20; offset += 2) sum += ip.readUInt16BE(offset);
    expect((sum & 0xffff) + (sum >>> 16)).toBe(0xffff); // a valid header checksum sums to all ones
    const udp = frame.subarray(34);
    expect(udp.readUInt16BE(4)).toBe(udp.length);
    packets.push({ offsetUs: file.readUInt32LE(at) * 1e6 + file.readUInt32LE(at + 4), payload: udp.subarray(8) });
    at += 16 + captured;
  }
  return packets;
}

describe('RFC 4733 key presses as pcap', () => {
  it('writes one press as RTP telephone events every 20 ms: marker first, three end packets last', () => {
    const [press] = telephoneEvents([{ atMs: 0, digit: '#' }]);
    if (!press) throw new Error('no press');
    const packets = udpPayloads(pcapFile(telephoneEventPackets(press)));
    const events = packets.map((packet) => readRtpEvent(packet.payload));

    expect(packets.map((packet) => packet.offsetUs)).toEqual(packets.map((_, index) => index * 20_000));
    expect(events.every((event) => event.payloadType === DTMF_PAYLOAD_TYPE)).toBe(true);
    expect(events.every((event) => event.event === 11 && event.volume === 10)).toBe(true);
    expect(new Set(events.map((event) => event.timestamp))).toEqual(new Set([press.timestamp]));
    expect(events.map((event) => event.marker)).toEqual([true, ...Array<boolean>(events.length - 1).fill(false)]);
    expect(events.map((event) => event.end).slice(-4)).toEqual([false, true, true, true]);
    expect(events.map((event) => event.sequence)).toEqual(
      events.map((_, index) => (press.firstSequence + index) & 0xffff),
    );
    const durations = events.map((event) => event.duration);
    expect(durations.slice(0, -3)).toEqual([...durations.slice(0, -3)].sort((a, b) => a - b));
    expect(durations.slice(-3)).toEqual(Array<number>(3).fill(durations.at(-4) ?? -1));
  });

  it('gives two presses of the same key their own timestamp and ongoing sequence numbers', () => {
    const [first, second] = telephoneEvents([
      { atMs: 100, digit: '7' },
      { atMs: 400, digit: '7' },
    ]).map((press) => telephoneEventPackets(press).map((packet) => readRtpEvent(packet.bytes)));
    if (!first || !second) throw new Error('two presses expected');

    expect((second[0]?.timestamp ?? 0) - (first[0]?.timestamp ?? 0)).toBe(300 * 8);
    expect(second[0]?.sequence).toBe(((first.at(-1)?.sequence ?? 0) + 1) & 0xffff);
    expect(second[0]?.ssrc).toBe(first[0]?.ssrc);
  });

  it('refuses what is not a DTMF key', () => {
    expect(() => telephoneEventPackets({ digit: 'x', timestamp: 0, firstSequence: 0, ssrc: 0 })).toThrow(
      /not a DTMF digit/,
    );
  });
});
