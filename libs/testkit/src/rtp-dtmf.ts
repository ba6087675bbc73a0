import { randomBytes } from 'node:crypto';

/**
 * RFC 4733 (ex RFC 2833) key presses as RTP telephone-event packets, written as pcap files for sipp's
 * `play_pcap_audio`. sipp ships one capture per digit, so pressing the same key twice replays the same RTP
 * timestamp and sequence numbers, and Asterisk drops the second press as a retransmission of the first. Each
 * press here gets its own timestamp and continues the sequence numbers of the press before it.
 */

export const DTMF_PAYLOAD_TYPE = 101;
/** sipp sends the packets of a capture with the gaps they were captured with: one packet every 20 ms. */
const DTMF_PACKET_MS = 20;
const TONE_PACKETS = 6;
/** RFC 4733 2.5.1.4: the final packet of an event is sent three times. */
const END_PACKETS = 3;
const PACKETS_PER_PRESS = TONE_PACKETS + END_PACKETS;
/**
 * The last packet of a press leaves 160 ms after its first. sipp 3.6 cancels a capture that is still playing when
 * the call starts the next one, so presses must be at least this far apart.
 */
export const DTMF_PRESS_MS = 200;
const SAMPLES_PER_MS = 8;
const VOLUME = 10;
const EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  digit: string;
  /** RTP timestamp of every packet of this press. */
  timestamp: number;
  /** Sequence number of the first packet; the next press should start at `firstSequence + packets.length`. */
  firstSequence: number;
  ssrc: number;
}

export interface KeyPress {
  /** From the moment the call is answered. */
  atMs: number;
  digit: string;
}

/** The presses of one call: one random SSRC, timestamps that follow the clock, sequence numbers that never repeat. */
export function telephoneEvents(keys: readonly KeyPress[]): TelephoneEvent[] {
  const random = randomBytes(10);
  const ssrc = random.readUInt32BE(0);
  const firstTimestamp = random.readUInt32BE(4);
  const firstSequence = random.readUInt16BE(8);
  return keys.map((key, index) => ({
    digit: key.digit,
    timestamp: (firstTimestamp + Math.round(key.atMs * SAMPLES_PER_MS)) >>> 0,
    firstSequence: (firstSequence + index * PACKETS_PER_PRESS) & 0xffff,
    ssrc,
  }));
}

export interface RtpPacket {
  /** When to send it, from the start of the press. */
  offsetMs: number;
  bytes: Buffer;
}

export function telephoneEventPackets(press: TelephoneEvent): RtpPacket[] {
  const event = EVENTS.indexOf(press.digit.toUpperCase());
  if (press.digit.length !== 1 || event < 0) throw new Error(`not a DTMF digit: ${JSON.stringify(press.digit)}`);
  const toneDuration = TONE_PACKETS * DTMF_PACKET_MS * SAMPLES_PER_MS;
  return Array.from({ length: PACKETS_PER_PRESS }, (_, index) => {
    const end = index >= TONE_PACKETS;
    const bytes = Buffer.alloc(16);
    bytes.writeUInt8(0x80, 0); // RTP version 2
    bytes.writeUInt8((index === 0 ? 0x80 : 0) | DTMF_PAYLOAD_TYPE, 1); // marker on the first packet of an event
    bytes.writeUInt16BE((press.firstSequence + index) & 0xffff, 2);
    bytes.writeUInt32BE(press.timestamp >>> 0, 4);
    bytes.writeUInt32BE(press.ssrc >>> 0, 8);
    bytes.writeUInt8(event, 12);
    bytes.writeUInt8((end ? 0x80 : 0) | VOLUME, 13);
    bytes.writeUInt16BE(end ? toneDuration : (index + 1) * DTMF_PACKET_MS * SAMPLES_PER_MS, 14);
    return { offsetMs: index * DTMF_PACKET_MS, bytes };
  });
}

/** sipp rewrites addresses and ports when it plays a capture, so the ones written here only need to be consistent. */
const CAPTURE_IP = [127, 0, 0, 1];
const CAPTURE_SOURCE_PORT = 6000;
const CAPTURE_DESTINATION_PORT = 10000;
const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;
const UDP_HEADER = 8;

/** A classic pcap file (Ethernet link type) with one IPv4/UDP packet per RTP packet. */
export function pcapFile(packets: RtpPacket[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // magic: microsecond timestamps, little endian
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  return Buffer.concat([header, ...packets.flatMap((packet, index) => pcapRecord(packet, index))]);
}

function pcapRecord(packet: RtpPacket, id: number): Buffer[] {
  const udpLength = UDP_HEADER + packet.bytes.length;
  const frame = Buffer.alloc(ETHERNET_HEADER + IPV4_HEADER + UDP_HEADER);
  frame.writeUInt16BE(0x0800, 12); // IPv4; the MAC addresses stay zero
  const ip = ETHERNET_HEADER;
  frame.writeUInt8(0x45, ip); // version 4, 5 words of header
  frame.writeUInt16BE(IPV4_HEADER + udpLength, ip + 2);
  frame.writeUInt16BE(id & 0xffff, ip + 4);
  frame.writeUInt16BE(0x4000, ip + 6); // don't fragment
  frame.writeUInt8(64, ip + 8);
  frame.writeUInt8(17, ip + 9); // UDP
  frame.set(CAPTURE_IP, ip + 12);
  frame.set(CAPTURE_IP, ip + 16);
  frame.writeUInt16BE(ipChecksum(frame.subarray(ip, ip + IPV4_HEADER)), ip + 10);
  const udp = ip + IPV4_HEADER;
  frame.writeUInt16BE(CAPTURE_SOURCE_PORT, udp);
  frame.writeUInt16BE(CAPTURE_DESTINATION_PORT, udp + 2);
  frame.writeUInt16BE(udpLength, udp + 4); // sipp takes the packet length from here; checksum 0 = none
  const record = Buffer.alloc(16);
  const micros = packet.offsetMs * 1000;
  record.writeUInt32LE(Math.floor(micros / 1_000_000), 0);
  record.writeUInt32LE(micros % 1_000_000, 4);
  const length = frame.length + packet.bytes.length;
  record.writeUInt32LE(length, 8); // captured length
  record.writeUInt32LE(length, 12); // original length: sipp refuses truncated packets
  return [record, frame, packet.bytes];
}

function ipChecksum(header: Buffer): number {
  let sum = 0;
  for (let offset = 0; offset < header.length; offset += 2) sum += header.readUInt16BE(offset);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
