import { Objm } from '@nats-io/obj';
import { VOICEMAIL_INBOX_BUCKET, VoicemailEvents, callControlSubject, eventSubject } from '@switchboard/events';
import { callControlV1, callV1, faxV1 } from '@switchboard/proto';
import { connectNats, createLogger, natsRpcClient, type NatsHandle } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPbx, type Pbx } from './pbx.js';

// Call-control commands routing uses for ring-all and voicemail, sent straight to the adapter (no
// routing runs here; rating only for the event log's CDRS stream), on a real Asterisk with sipp phones and on the emulator, judged the same way.

const MAIN_NUMBER = '+494624720';
/** The stack's adapter on its one PBX. */
const ADAPTER_ID = 'pbx-1';
const { LegDisposition, LegKind } = callV1;
const { VoicemailOutcome } = callControlV1;

/** Two phones answer 5 ms apart (each after its own ring), three never do. */
const FIRST = 'kropp-101';
const SECOND = 'kropp-102';
const RINGING = ['kropp-103', 'kropp-104', 'kropp-105'];

describe.each(['asterisk', 'emulator'] as const)('ring-all and voicemail on %s', (kind) => {
  let pbx: Pbx;
  let bus: NatsHandle;
  let control: ReturnType<typeof controlClient>;

  function controlClient(handle: NatsHandle) {
    return natsRpcClient(handle, {
      definition: callControlV1.CallControlServiceService,
      subjectFor: (method, request) => callControlSubject(request.tenantId, ADAPTER_ID, method),
      timeoutMs: 120_000,
    });
  }

  beforeAll(async () => {
    pbx = await startPbx(kind, {
      services: ['directory', 'rating', 'ari-adapter'],
      phones: {
        [FIRST]: { answerAfterMs: 1_000, hangupAfterMs: 60_000 },
        [SECOND]: { answerAfterMs: 1_005, hangupAfterMs: 60_000 },
        ...Object.fromEntries(RINGING.map((device) => [device, { neverAnswer: true as const }])),
      },
    });
    bus = await connectNats({
      url: pbx.stack.natsUrl,
      credentials: pbx.stack.natsCredentials('tester'),
      name: 'ring-all-voicemail-test',
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    control = controlClient(bus);
  }, 240_000);

  afterAll(async () => {
    await bus?.connection.close();
    await pbx?.stop();
  });

  /** The call the caller number started, once call.started is out. */
  const startedFrom = (from: string) =>
    pbx.events.waitUntil(`call.started from ${from}`, () =>
      pbx.events.started().find((event) => event.callerLeg?.from === from),
    );

  it(
    'rings five phones at once: two answer 5 ms apart, exactly one is bridged, the others are hung up with cause 26',
    { timeout: 180_000 },
    async () => {
      const from = '+4915200000101';
      const caller = pbx.call({ from, to: MAIN_NUMBER, hangupAfterMs: 8_000 });
      const started = await startedFrom(from);
      const tenantId = pbx.stack.tenantId;
      const targets = [FIRST, SECOND, ...RINGING].map((device) => ({
        endpoint: `PJSIP/${device}`,
        kind: LegKind.LEG_KIND_INTERNAL,
        tags: { device },
      }));
      const result = await control.dialAll({
        tenantId,
        callId: started.callId,
        commandId: `ring-${from}`,
        targets,
        callerId: MAIN_NUMBER,
        timeoutSeconds: 30,
        waitForOutcome: true,
      });
      expect(result.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
      expect(result.legIds).toHaveLength(5);
      await caller;
      const ended = await pbx.events.waitUntil('call.ended', () => pbx.events.ended(started.callId)[0]);
      const legs = new Map(ended.legs.map((leg) => [leg.tags['device'] ?? 'caller', leg]));
      const winner = legs.get(FIRST)!.legId === result.answeredLegId ? FIRST : SECOND;
      const late = winner === FIRST ? SECOND : FIRST;
      expect(legs.get(winner)).toMatchObject({
        legId: result.answeredLegId,
        disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      });
      for (const device of [late, ...RINGING])
        expect([device, legs.get(device)]).toEqual([
          device,
          expect.objectContaining({ disposition: LegDisposition.LEG_DISPOSITION_CANCELLED, hangupCause: 26 }),
        ]);
      // The phones saw it: three rang and were cancelled; the second one's answer was hung up at once.
      for (const device of RINGING) expect([device, pbx.phoneCounts(device).cancelled]).toEqual([device, 1]);
      const bridged = pbx.events.legUpdates(started.callId).filter((event) => event.bridged);
      expect(new Set(bridged.map((event) => event.leg?.legId))).toEqual(new Set([result.answeredLegId]));
    },
  );

  it(
    'records a caller who speaks for 2 s and presses #: fetched from the PBX, stored in the voicemail inbox, published, deleted there',
    { timeout: 180_000 },
    async () => {
      const from = '+4915200000102';
      const caller = pbx.call({
        from,
        to: MAIN_NUMBER,
        speech: { atMs: 500, durationMs: 2_000 },
        dtmf: [{ atMs: 2_800, digit: '#' }],
        hangupAfterMs: 6_000,
      });
      const started = await startedFrom(from);
      const published = new Promise<faxV1.VoicemailReceived>((resolve) => {
        const subscription = bus.connection.subscribe(
          eventSubject(pbx.stack.tenantId, VoicemailEvents.received.domain, VoicemailEvents.received.event),
        );
        void (async () => {
          for await (const message of subscription) {
            const event = faxV1.VoicemailReceived.decode(message.data);
            if (event.callId !== started.callId) continue;
            subscription.unsubscribe();
            resolve(event);
          }
        })();
      });
      const result = await control.recordVoicemail({
        tenantId: pbx.stack.tenantId,
        callId: started.callId,
        commandId: `voicemail-${from}`,
        greeting: [],
        language: 'de',
        departmentId: 'buergerbuero',
        maxDurationSeconds: 60,
        maxSilenceSeconds: 4,
        beep: false,
        terminateOn: '#',
      });
      expect(result).toMatchObject({ outcome: VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED, reason: '' });
      expect(result.durationSeconds).toBeGreaterThanOrEqual(2);
      expect(result.durationSeconds).toBeLessThanOrEqual(3);
      const event = await published;
      expect(event).toMatchObject({
        departmentId: 'buergerbuero',
        dialedNumber: MAIN_NUMBER,
        callerNumber: from,
        error: '',
      });
      const objectName = event.audioUri.slice(`nats-object://${VOICEMAIL_INBOX_BUCKET}/`.length);
      const store = await new Objm(bus.connection).open(VOICEMAIL_INBOX_BUCKET);
      const audio = Buffer.from((await store.getBlob(objectName))!);
      expect(String(audio.length)).toBe(event.audioBytes);
      expect(audio.toString('ascii', 0, 4) + audio.toString('ascii', 8, 12)).toBe('RIFFWAVE');
      expect(await pbx.storedRecordings()).toEqual([]);
      await caller;
    },
  );
});
