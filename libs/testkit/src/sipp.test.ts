import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { readRtpEvent, type RtpEvent } from './rtp-dtmf.fixture.js';
import { placeCall, placeCalls } from './sipp-caller.js';
import { startPhone, type PhoneBehaviour, type SippPhone } from './sipp-phone.js';

const CALLER = '+4915112345678';
const DIALLED = '+494884123456';

const phones: SippPhone[] = [];
afterEach(async () => {
  await Promise.all(phones.splice(0).map((phone) => phone.stop()));
});

async function phone(behaviour: PhoneBehaviour): Promise<SippPhone> {
  const started = await startPhone(behaviour);
  phones.push(started);
  return started;
}

const at = (phone: SippPhone) => `127.0.0.1:${phone.port}`;

describe('sipp callers and phones on loopback', () => {
  it('rings, answers after the delay, takes two presses of the same key, and the caller hangs up', async () => {
    const callee = await phone({ behaviour: 'answer', answerAfterMs: 300 });
    expect(callee.contact).toBe(`sip:127.0.0.1:${callee.port}`);

    const call = await placeCall({
      asterisk: at(callee),
      to: DIALLED,
      from: CALLER,
      dtmf: [
        { atMs: 100, digit: '1' },
        { atMs: 400, digit: '1' },
      ],
      hangupAfterMs: 800,
    });
    const result = await call.result;

    expect(result, result.diagnostics).toMatchObject({
      callId: call.callId,
      finalCode: 200,
      answered: true,
      cancelled: false,
      hungUpBy: 'caller',
      exitCode: 0,
    });
    expect((result.answeredAt ?? 0) - result.invitedAt).toBeGreaterThanOrEqual(300);
    expect((result.endedAt ?? 0) - (result.answeredAt ?? 0)).toBeGreaterThanOrEqual(800);
    expect(await callee.waitForCounts((counts) => counts.ended === 1)).toEqual({
      invites: 1,
      answered: 1,
      busy: 0,
      cancelled: 0,
      ended: 1,
    });
  });

  it('hears 486 from a busy phone', async () => {
    const busy = await phone({ behaviour: 'busy' });

    const result = await (await placeCall({ asterisk: at(busy), to: DIALLED, from: CALLER })).result;

    expect(result, result.diagnostics).toMatchObject({ finalCode: 486, answered: false, exitCode: 0 });
    expect(await busy.waitForCounts((counts) => counts.busy === 1)).toMatchObject({ invites: 1, answered: 0 });
  });

  it('cancels a phone that never answers and gets 487 for the INVITE', async () => {
    const ringing = await phone({ behaviour: 'never-answer' });

    const result = await (
      await placeCall({ asterisk: at(ringing), to: DIALLED, from: CALLER, cancelAfterMs: 300 })
    ).result;

    expect(result, result.diagnostics).toMatchObject({ finalCode: 487, answered: false, cancelled: true, exitCode: 0 });
    expect((result.endedAt ?? 0) - result.invitedAt).toBeGreaterThanOrEqual(300);
    expect(await ringing.waitForCounts((counts) => counts.cancelled === 1)).toMatchObject({ invites: 1, answered: 0 });
  });

  it('lets the phone hang up while the caller waits for it', async () => {
    const callee = await phone({ behaviour: 'answer', answerAfterMs: 0, hangupAfterMs: 300 });

    const result = await (await placeCall({ asterisk: at(callee), to: DIALLED, from: CALLER })).result;

    expect(result, result.diagnostics).toMatchObject({ answered: true, hungUpBy: 'callee', exitCode: 0 });
    expect((result.endedAt ?? 0) - (result.answeredAt ?? 0)).toBeGreaterThanOrEqual(300);
    expect(await callee.waitForCounts((counts) => counts.ended === 1)).toMatchObject({ answered: 1 });
  });

  it('places 20 calls at 10 per second from one sipp, each answered, pressing a key and hung up', async () => {
    const callee = await phone({ behaviour: 'answer', answerAfterMs: 100 });

    const load = await placeCalls({
      asterisk: at(callee),
      to: 'kropp-101', // as Asterisk dials a device whose contact is callee.contactFor('kropp-101')
      fromPrefix: '+49151000',
      dtmf: [{ atMs: 50, digit: '3' }],
      hangupAfterMs: 500,
      count: 20,
      ratePerSecond: 10,
    });
    const result = await load.result;

    expect(
      { successful: result.successful, failed: result.failed, exitCode: result.exitCode },
      result.diagnostics,
    ).toEqual({
      successful: 20,
      failed: 0,
      exitCode: 0,
    });
    expect(result.calls).toHaveLength(20);
    expect(result.calls.filter((call) => call.answered && call.hungUpBy === 'caller')).toHaveLength(20);
    const started = result.calls.map((call) => call.invitedAt);
    expect(Math.max(...started) - Math.min(...started)).toBeGreaterThanOrEqual(1_500); // 19 gaps of 100 ms
    const all = { invites: 20, answered: 20, busy: 0, cancelled: 0, ended: 20 };
    expect(await callee.waitForCounts((counts) => counts.ended === 20)).toEqual(all);
    expect(callee.counts('kropp-101')).toEqual(all);
    expect(callee.counts('kropp-102')).toEqual({ invites: 0, answered: 0, busy: 0, cancelled: 0, ended: 0 });
    expect(callee.contactFor('kropp-101')).toBe(`sip:kropp-101@127.0.0.1:${callee.port}`);
  });

  it('stops a call in progress by killing its sipp', async () => {
    const ringing = await phone({ behaviour: 'never-answer' });
    const call = await placeCall({ asterisk: at(ringing), to: DIALLED, from: CALLER });
    await ringing.waitForCounts((counts) => counts.invites === 1);

    await call.stop();

    expect(await call.result).toMatchObject({ finalCode: undefined, answered: false, cancelled: false });
  });

  it('refuses key presses closer together than a press lasts', async () => {
    await expect(
      placeCall({
        asterisk: '127.0.0.1:5060',
        to: DIALLED,
        from: CALLER,
        dtmf: [
          { atMs: 0, digit: '1' },
          { atMs: 100, digit: '2' },
        ],
      }),
    ).rejects.toThrow(/at least 200 ms apart/);
  });
});

interface Callee {
  address: string;
  /** The INVITE as it arrived, SDP included. */
  invite: string | undefined;
  /** Where the INVITE came from. */
  inviteFrom: string | undefined;
  /** RTP as it arrived, with the address it came from. */
  rtp: { event: RtpEvent; from: string }[];
  close(): void;
}

/** A callee in Node that answers with SDP pointing at its own RTP socket, to see what sipp puts on the wire. */
async function startRtpCallee(): Promise<Callee> {
  const bind = async (socket: Socket) => {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return socket.address().port;
  };
  const sip = createSocket('udp4');
  const media = createSocket('udp4');
  const [sipPort, mediaPort] = [await bind(sip), await bind(media)];
  const callee: Callee = {
    address: `127.0.0.1:${sipPort}`,
    invite: undefined,
    inviteFrom: undefined,
    rtp: [],
    close: () => {
      sip.close();
      media.close();
    },
  };
  media.on('message', (data, from) =>
    callee.rtp.push({ event: readRtpEvent(data), from: `${from.address}:${from.port}` }),
  );
  sip.on('message', (data, from) => {
    const request = data.toString('latin1');
    const lines = request.split('\r\n');
    const header = (name: string) => lines.find((line) => line.toLowerCase().startsWith(`${name}:`)) ?? '';
    const respond = (extra: string[], body = '') => {
      const to = header('to');
      const response = ['SIP/2.0 200 OK', header('via'), header('from'), /;tag=/.test(to) ? to : `${to};tag=callee`];
      response.push(header('call-id'), header('cseq'), ...extra, `Content-Length: ${body.length}`, '', body);
      sip.send(response.join('\r\n'), from.port, from.address);
    };
    if (request.startsWith('INVITE ')) {
      callee.invite = request;
      callee.inviteFrom = from.address;
      const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0'];
      sdp.push(`m=audio ${mediaPort} RTP/AVP 8 101`, 'a=rtpmap:101 telephone-event/8000', '');
      respond([`Contact: <sip:callee@127.0.0.1:${sipPort}>`, 'Content-Type: application/sdp'], sdp.join('\r\n'));
    } else if (request.startsWith('BYE ')) {
      respond([]);
    }
  });
  return callee;
}

describe('DTMF from a sipp caller, as it arrives', () => {
  it('sends each press of the same key as its own RFC 4733 event, from the address its SDP offers', async () => {
    const callee = await startRtpCallee();
    try {
      const call = await placeCall({
        asterisk: callee.address,
        to: DIALLED,
        from: CALLER,
        dtmf: [
          { atMs: 0, digit: '5' },
          { atMs: 300, digit: '5' },
        ],
        hangupAfterMs: 700,
        localAddress: '127.0.0.2',
      });
      const result = await call.result;
      expect(result, result.diagnostics).toMatchObject({ answered: true, hungUpBy: 'caller' });
      expect(callee.inviteFrom).toBe('127.0.0.2');

      const offer = callee.invite ?? '';
      expect(offer).toMatch(/^m=audio \d+ RTP\/AVP .*\b101\b/m);
      expect(offer).toContain('a=rtpmap:101 telephone-event/8000');
      expect(offer).toContain('a=rtpmap:8 PCMA/8000');
      expect(offer).toContain('a=rtpmap:0 PCMU/8000');
      expect(offer).toMatch(/^c=IN IP4 127\.0\.0\.2$/m);
      const offeredPort = /^m=audio (\d+) /m.exec(offer)?.[1];
      expect(new Set(callee.rtp.map((packet) => packet.from))).toEqual(new Set([`127.0.0.2:${offeredPort}`]));

      const events = callee.rtp.map((packet) => packet.event);
      expect(events).toHaveLength(18);
      expect(events.every((event) => event.payloadType === 101 && event.event === 5)).toBe(true);
      const steps = events.slice(1).map((event, index) => (event.sequence - (events[index]?.sequence ?? 0)) & 0xffff);
      expect(new Set(steps)).toEqual(new Set([1]));
      const timestamps = [...new Set(events.map((event) => event.timestamp))];
      expect(timestamps).toHaveLength(2);
      expect(((timestamps[1] ?? 0) - (timestamps[0] ?? 0)) >>> 0).toBe(300 * 8);
      for (const timestamp of timestamps) {
        const press = events.filter((event) => event.timestamp === timestamp);
        expect(press.map((event) => event.marker)).toEqual([true, ...Array<boolean>(8).fill(false)]);
        expect(press.map((event) => event.end)).toEqual([...Array<boolean>(6).fill(false), true, true, true]);
      }
    } finally {
      callee.close();
    }
  });
});
