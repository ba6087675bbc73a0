import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Objm } from '@nats-io/obj';
import { CallEvents, VOICEMAIL_INBOX_BUCKET, VoicemailEvents, eventSubject } from '@switchboard/events';
import { callControlV1, faxServiceV1, type faxV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import { startStack, type Stack } from '@switchboard/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@switchboard/testkit';

// The demo tenant in the directory, a caller who leaves a message in ari-sim, the ari-adapter
// recording it (RecordVoicemail, as routing asks for it) and this service mailing it to the
// department's mailbox from the directory (buergerbuero → buergerbuero@amt-kropp.example).

const MAIN_NUMBER = '+494624720';
const CALLER = '+4940555777';
const { VoicemailStatus } = faxServiceV1;

let stack: Stack;
let nats: NatsHandle;
let metadata: grpc.Metadata;
let callControl: callControlV1.CallControlServiceClient;
let faxApi: faxServiceV1.FaxServiceClient;
const started = new Set<string>();
const received: faxV1.VoicemailReceived[] = [];

beforeAll(async () => {
  stack = await startStack({ services: ['directory', 'fax', 'ari-adapter'], handleSignals: false });
  nats = await connectNats({
    url: stack.natsUrl,
    credentials: stack.natsCredentials('tester'),
    name: 'voicemail-flow-test',
    logger: createLogger({ service: 'voicemail-flow-test', level: 'silent' }),
  });
  // Plain subscriptions: JetStream publishes reach them too, and nothing here must be acknowledged.
  nats.connection.subscribe(eventSubject(stack.tenantId, 'call', 'started'), {
    callback: (_error, message) => {
      started.add(CallEvents.started.codec.decode(message.data).callId);
    },
  });
  nats.connection.subscribe(eventSubject(stack.tenantId, 'voicemail', 'received'), {
    callback: (_error, message) => {
      received.push(VoicemailEvents.received.codec.decode(message.data));
    },
  });
  await nats.connection.flush();
  metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await stack.token()}`);
  const insecure = grpc.credentials.createInsecure();
  callControl = new callControlV1.CallControlServiceClient(stack.grpcAddress('ari-adapter'), insecure);
  faxApi = new faxServiceV1.FaxServiceClient(stack.grpcAddress('fax'), insecure);
});

afterAll(async () => {
  callControl?.close();
  faxApi?.close();
  await nats?.connection.close();
  await stack?.stop();
});

function recordVoicemail(
  request: callControlV1.RecordVoicemailRequest,
): Promise<callControlV1.RecordVoicemailResponse> {
  return new Promise((resolve, reject) =>
    callControl.recordVoicemail(request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

function getVoicemail(voicemailId: string): Promise<faxServiceV1.Voicemail | undefined> {
  return new Promise((resolve, reject) =>
    faxApi.getVoicemail({ tenantId: stack.tenantId, voicemailId }, metadata, (error, response) =>
      error ? reject(error) : resolve(response.voicemail),
    ),
  );
}

describe('a voicemail left with the demo tenant', () => {
  it("is recorded by the adapter and mailed with its WAV to the department's mailbox from the directory", async () => {
    const callId = stack.ariSim.placeCall({
      from: CALLER,
      to: MAIN_NUMBER,
      message: { speechMs: 2_000, then: { dtmf: '#', afterMs: 200 } },
    });
    await eventually(async () => (started.has(callId) ? true : undefined), 'the adapter to report the call');

    const result = await recordVoicemail({
      tenantId: stack.tenantId,
      callId,
      commandId: randomUUID(),
      greeting: ['sound:vm-intro'],
      language: 'de',
      departmentId: 'buergerbuero',
      maxDurationSeconds: 120,
      maxSilenceSeconds: 5,
      beep: true,
      terminateOn: '#',
    });
    expect(result.outcome).toBe(callControlV1.VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED);
    stack.ariSim.hangupCall(callId);

    const event = await eventually(
      async () => received.find((candidate) => candidate.callId === callId),
      'voicemail.received',
    );
    const voicemailId = event.meta!.eventId;
    const mail = await stack.waitForMail(
      'the voicemail mail',
      (candidate) => candidate.headers.get('x-switchboard-voicemail-id') === voicemailId,
    );
    expect(mail.to).toMatchObject({ text: 'buergerbuero@amt-kropp.example' });
    expect(mail.subject).toBe(
      `Voicemail for Bürgerbüro (Meldewesen, Umzug) from ${CALLER} (0:${String(result.durationSeconds).padStart(2, '0')})`,
    );
    const [attachment, ...others] = mail.attachments;
    expect(others).toEqual([]);
    expect(attachment!.contentType).toBe('audio/wav');
    expect(attachment!.content.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(String(attachment!.content.length)).toBe(event.audioBytes);

    const stored = await eventually(async () => {
      const voicemail = await getVoicemail(voicemailId);
      return voicemail?.status === VoicemailStatus.VOICEMAIL_STATUS_DELIVERED ? voicemail : undefined;
    }, 'the voicemail to be delivered');
    expect(stored).toMatchObject({
      callId,
      departmentId: 'buergerbuero',
      dialedNumber: MAIN_NUMBER,
      callerNumber: CALLER,
      durationSeconds: result.durationSeconds,
      mailbox: 'buergerbuero@amt-kropp.example',
      viaFallback: false,
      hasAudio: true,
    });
    // Only the inbox's copy is left: the adapter's object is removed once it is in GridFS.
    const objectName = event.audioUri.slice(`nats-object://${VOICEMAIL_INBOX_BUCKET}/`.length);
    const bucket = await new Objm(nats.connection).open(VOICEMAIL_INBOX_BUCKET);
    expect(await bucket.getBlob(objectName)).toBeNull();
  });
});
