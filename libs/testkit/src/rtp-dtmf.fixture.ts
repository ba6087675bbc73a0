/** An RTP packet carrying an RFC 4733 telephone event, as tests read it back. */
export interface RtpEvent {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

export function readRtpEvent(packet: Buffer): RtpEvent {
  return {
    marker: (packet.readUInt8(1) & 0x80) !== 0,
    payloadType: packet.readUInt8(1) & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    event: packet.readUInt8(12),
    end: (packet.readUInt8(13) & 0x80) !== 0,
    volume: packet.readUInt8(13) & 0x3f,
    duration: packet.readUInt16BE(14),
  };
}
