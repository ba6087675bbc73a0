import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Objm } from '@nats-io/obj';
import { FAX_INBOX_BUCKET } from '@switchboard/events';
import { callControlV1, callV1, faxV1 } from '@switchboard/proto';
import { recordSpans } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADAPTER_ID,
  ADAPTER_TOKENS,
  MAIN_NUMBER,
  TENANT,
  command,
  startHarness,
  type Harness,
} from '../test/harness.js';

const { CallDirection, LegDisposition, LegKind, LegState } = callV1;
const { CollectEnd } = callControlV1;

let h: Harness;
const tracing = recordSpans();

beforeAll(async () => {
  h = await startHarness({
    endpoints: {
      'kropp-anna': { answerAfterMs: 1_000 },
      'kropp-ben': { busy: true },
      'kropp-carla': { noAnswer: true },
      'kropp-dirk': { unavailable: true },
    },
  });
});

afterAll(async () => {
  await h?.stop();
  await tracing.stop();
});

/** An inbound call to the main number; it hangs up after `hangupAtMs` of emulator time. */
async function inboundCall(options: { dtmf?: Array<[number, string]>; hangupAtMs?: number; to?: string } = {}) {
  const channelId = h.sim.placeCall({
    from: '+4946241234',
    to: options.to ?? MAIN_NUMBER,
    script: [
      ...(options.dtmf ?? []).map(([atMs, dtmf]) => ({ atMs, dtmf })),
      ...(options.hangupAtMs ? [{ atMs: options.hangupAtMs, hangup: true as const }] : []),
    ],
  });
  const started = await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === channelId);
  return { callId: channelId, started };
}

const ended = (callId: string) => h.events.waitFor<callV1.CallEnded>('call.ended', (event) => event.callId === callId);

describe('ari-adapter against the ARI emulator', () => {
  it('publishes an inbound call from start to end, with the caller leg', async () => {
    const { callId, started } = await inboundCall({ hangupAtMs: 60_000 });
    expect(started.meta?.tenantId).toBe(TENANT);
    expect(started.adapterId).toBe(ADAPTER_ID);
    expect(started.direction).toBe(CallDirection.CALL_DIRECTION_INBOUND);
    expect(started.dialedNumber).toBe(MAIN_NUMBER);
    expect(started.callerLeg).toMatchObject({
      from: '+4946241234',
      kind: LegKind.LEG_KIND_CALLER,
      state: LegState.LEG_STATE_RINGING,
    });

    await h.control.answer(command(callId));
    await h.events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (event) => event.callId === callId && event.leg?.state === LegState.LEG_STATE_ANSWERED,
    );

    const end = await ended(callId);
    expect(end.endedBy).toBe('caller');
    expect(end.legs).toHaveLength(1);
    expect(end.legs[0]).toMatchObject({
      legId: callId,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      hangupCause: 16,
      state: LegState.LEG_STATE_ENDED,
    });
    expect(end.legs[0]!.answeredAt!.getTime()).toBeLessThanOrEqual(end.legs[0]!.endedAt!.getTime());

    // One trace per call: its events are published under the call's span, so consumers continue it.
    // The call's span ends right after its last event is acknowledged by JetStream.
    const callSpan = await vi.waitFor(() => {
      const span = tracing.exporter
        .getFinishedSpans()
        .find(
          (candidate) => candidate.name === 'call inbound' && candidate.attributes['switchboard.call_id'] === callId,
        );
      if (!span) throw new Error('the call span has not ended yet');
      return span;
    });
    const spans = tracing.exporter.getFinishedSpans();
    const traceId = callSpan.spanContext().traceId;
    const published = spans
      .filter((span) => span.name.startsWith('publish ') && span.spanContext().traceId === traceId)
      .map((span) => span.name);
    expect(end.meta?.trace?.traceparent).toContain(traceId);
    expect(published).toEqual(
      expect.arrayContaining([
        `publish sb.${TENANT}.call.started`,
        `publish sb.${TENANT}.call.leg_updated`,
        `publish sb.${TENANT}.call.ended`,
      ]),
    );
  });

  it('plays a menu and returns the digits the caller pressed', async () => {
    const { callId } = await inboundCall({
      dtmf: [
        [10_000, '4'],
        [11_000, '2'],
        [12_000, '#'],
      ],
      hangupAtMs: 300_000,
    });
    await h.control.answer(command(callId));
    const result = await h.control.playAndCollect({
      ...command(callId),
      media: ['sound:switchboard/main-menu'],
      language: 'de',
      maxDigits: 4,
      terminator: '#',
      firstDigitTimeoutMs: 10_000,
      interDigitTimeoutMs: 10_000,
      bargeIn: true,
    });
    expect(result).toEqual({ digits: '42', endedBy: CollectEnd.COLLECT_END_TERMINATOR, promptsFailed: false });
    await h.events.waitFor<callV1.CallDtmfReceived>(
      'call.dtmf_received',
      (event) => event.callId === callId && event.digit === '#',
    );
    const digits = h.events.of<callV1.CallDtmfReceived>('call.dtmf_received', (event) => event.callId === callId);
    expect(digits.map((event) => event.digit).join('')).toBe('42#');

    const silent = await h.control.playAndCollect({
      ...command(callId),
      media: [],
      language: '',
      maxDigits: 1,
      terminator: '',
      firstDigitTimeoutMs: 200,
      interDigitTimeoutMs: 0,
      bargeIn: true,
    });
    expect(silent).toEqual({ digits: '', endedBy: CollectEnd.COLLECT_END_TIMEOUT, promptsFailed: false });
    await h.control.hangup({ ...command(callId), cause: 16 });
    expect((await ended(callId)).endedBy).toBe('system');
  });

  it('reports each dial outcome: answered and bridged, busy, no answer, unavailable', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 600_000 });
    await h.control.answer(command(callId));
    const dial = (endpoint: string) =>
      h.control.dial({
        ...command(callId),
        endpoint,
        kind: LegKind.LEG_KIND_INTERNAL,
        callerId: MAIN_NUMBER,
        timeoutSeconds: 20,
        tags: { department_id: 'civil-registry' },
        waitForOutcome: true,
      });

    const busy = await dial('PJSIP/kropp-ben');
    const noAnswer = await dial('PJSIP/kropp-carla');
    const unavailable = await dial('PJSIP/kropp-dirk');
    const answered = await dial('PJSIP/kropp-anna');
    expect(busy.disposition).toBe(LegDisposition.LEG_DISPOSITION_BUSY);
    expect(noAnswer.disposition).toBe(LegDisposition.LEG_DISPOSITION_NO_ANSWER);
    expect(unavailable.disposition).toBe(LegDisposition.LEG_DISPOSITION_UNAVAILABLE);
    expect(answered.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(h.sim.getCall(callId)?.bridgedWith).toContain(answered.legId);
    await h.events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (event) => event.leg?.legId === answered.legId && event.bridged,
    );

    h.sim.hangupCall(answered.legId);
    const end = await ended(callId);
    expect(end.endedBy).toBe('callee');
    const byLeg = new Map(end.legs.map((leg) => [leg.legId, leg]));
    expect(byLeg.get(busy.legId)).toMatchObject({ disposition: LegDisposition.LEG_DISPOSITION_BUSY, hangupCause: 17 });
    expect(byLeg.get(noAnswer.legId)).toMatchObject({
      disposition: LegDisposition.LEG_DISPOSITION_NO_ANSWER,
      hangupCause: 19,
    });
    expect(byLeg.get(unavailable.legId)?.disposition).toBe(LegDisposition.LEG_DISPOSITION_UNAVAILABLE);
    expect(byLeg.get(answered.legId)).toMatchObject({
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      endpoint: 'PJSIP/kropp-anna',
      to: 'kropp-anna',
      tags: { department_id: 'civil-registry' },
    });
    expect(end.legs.every((leg) => leg.state === LegState.LEG_STATE_ENDED && leg.endedAt)).toBe(true);
  });

  it('forwards a call to an external number, marked as home office', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 600_000 });
    await h.control.answer(command(callId));
    const forwarded = await h.control.forward({
      ...command(callId),
      number: '+4915112345678',
      callerId: MAIN_NUMBER,
      timeoutSeconds: 20,
      tags: { agent_id: 'anna' },
      homeOffice: true,
    });
    expect(forwarded.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    h.sim.hangupCall(callId);
    const leg = (await ended(callId)).legs.find((candidate) => candidate.legId === forwarded.legId);
    expect(leg).toMatchObject({
      kind: LegKind.LEG_KIND_FORWARDED_HOME_OFFICE,
      endpoint: 'PJSIP/+4915112345678@trunk',
      to: '+4915112345678',
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    });
    await expect(
      h.control.forward({
        ...command(callId),
        number: '0151 123',
        callerId: '',
        timeoutSeconds: 0,
        tags: {},
        homeOffice: false,
      }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('executes a repeated command id once', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 600_000 });
    await h.control.answer(command(callId));
    const play = { ...command(callId, 'play-greeting-1'), media: ['sound:switchboard/welcome'], language: 'de' };
    const first = await h.control.play(play);
    const again = await h.control.play(play);
    expect(again.playbackId).toBe(first.playbackId);
    expect(h.sim.getCall(callId)?.playbacks.filter((media) => media === 'sound:switchboard/welcome')).toHaveLength(1);
    await h.control.hangup({ ...command(callId), cause: 16 });
    await ended(callId);
  });

  it('refuses bad commands clearly: unknown call, another tenant, missing id, bad number', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 600_000 });
    await expect(h.control.answer(command('no-such-call'))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(h.control.answer({ tenantId: 'provider', callId, commandId: 'x' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(h.control.answer({ ...command(callId), commandId: '' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(
      h.control.forward({
        ...command(callId),
        number: '0151 123',
        callerId: '',
        timeoutSeconds: 0,
        tags: {},
        homeOffice: false,
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await h.control.hangup({ ...command(callId), cause: 16 });
    await ended(callId);
  });

  it('serves the same commands as the gRPC CallControl API, with tenant-scoped tokens and the declared roles', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 600_000 });
    const client = new callControlV1.CallControlServiceClient(
      `127.0.0.1:${h.adapter.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const auth = ADAPTER_TOKENS;
    const answer = (token: string | undefined, tenantId: string) =>
      new Promise<callControlV1.AnswerResponse>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        if (token) metadata.set('authorization', `Bearer ${token}`);
        client.answer(
          { tenantId, callId, commandId: `grpc-${tenantId}-${Boolean(token)}` },
          metadata,
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      });
    try {
      await expect(answer(undefined, TENANT)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      const otherTenant = await auth.token({ subject: 'eve', tenantId: 't-other', role: 'admin' });
      await expect(answer(otherTenant, TENANT)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      const admin = await auth.token({ subject: 'anna', tenantId: TENANT, role: 'admin' });
      await answer(admin, TENANT);
      // Outside calls are never an agent's or finance's: refused before the adapter dials anything.
      for (const role of ['agent', 'finance'] as const) {
        const token = await auth.token({ subject: 'ben', tenantId: TENANT, role });
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token}`);
        const refused = new Promise((resolve, reject) =>
          client.originate(
            callControlV1.OriginateRequest.fromPartial({
              tenantId: TENANT,
              commandId: `originate-${role}`,
              number: '+4990012345678',
            }),
            metadata,
            (error, response) => (error ? reject(error) : resolve(response)),
          ),
        );
        await expect(refused).rejects.toMatchObject({
          code: grpc.status.PERMISSION_DENIED,
          details: `${role} may not call CallControlService/Originate (allowed: admin, operator, service)`,
        });
      }
      await h.events.waitFor<callV1.CallLegUpdated>(
        'call.leg_updated',
        (event) => event.callId === callId && event.leg?.state === LegState.LEG_STATE_ANSWERED,
      );
    } finally {
      client.close();
    }
    await h.control.hangup({ ...command(callId), cause: 16 });
    await ended(callId);
  });

  it('gives a call to an unclaimed number to the fallback tenant', async () => {
    const channelId = h.sim.placeCall({
      from: '+4946241234',
      to: '+4930999999',
      script: [{ atMs: 1_000, hangup: true }],
    });
    const started = await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === channelId);
    expect(started.meta?.tenantId).toBe('provider');
    expect((await ended(channelId)).legs[0]?.disposition).toBe(LegDisposition.LEG_DISPOSITION_CANCELLED);
  });

  it('keeps a call across a dropped ARI connection and still publishes its end with every leg', async () => {
    const { callId } = await inboundCall({ hangupAtMs: 6_000_000 });
    await h.control.answer(command(callId));
    const agent = await h.control.dial({
      ...command(callId),
      endpoint: 'PJSIP/kropp-anna',
      kind: LegKind.LEG_KIND_INTERNAL,
      callerId: '',
      timeoutSeconds: 20,
      tags: {},
      waitForOutcome: true,
    });
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);

    // The caller hangs up while the events WebSocket is down: Asterisk never replays that.
    expect(h.sim.dropWebSockets()).toBeGreaterThan(0);
    h.sim.hangupCall(callId);

    const end = await ended(callId);
    expect(end.legs.map((leg) => leg.legId).sort()).toEqual([callId, agent.legId].sort());
    expect(end.legs.every((leg) => leg.state === LegState.LEG_STATE_ENDED)).toBe(true);
    expect(end.legs.find((leg) => leg.legId === agent.legId)?.disposition).toBe(
      LegDisposition.LEG_DISPOSITION_ANSWERED,
    );

    // And the adapter serves new calls on the new connection.
    const next = await inboundCall({ hangupAtMs: 1_000 });
    expect((await ended(next.callId)).legs).toHaveLength(1);
  });

  it('receives a fax into the object store and publishes it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'adapter-fax-'));
    const tiff = path.join(dir, 'sent.tif');
    const content = Buffer.concat([Buffer.from('II*\0'), Buffer.alloc(2048, 7)]);
    await writeFile(tiff, content);
    const channelId = h.sim.placeCall({
      from: '+4940555555',
      to: '+494624809',
      fax: { tiff, pages: 2, stationId: '+49 40 555555', durationMs: 28_000 },
    });
    await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === channelId);
    await h.control.answer(command(channelId));
    await h.control.receiveFax(command(channelId));

    const fax = await h.events.waitFor<faxV1.FaxReceived>('fax.received', (event) => event.callId === channelId);
    expect(fax).toMatchObject({
      result: faxV1.FaxResult.FAX_RESULT_SUCCESS,
      pages: 2,
      remoteStationId: '+49 40 555555',
      dialedNumber: '+494624809',
      callerNumber: '+4940555555',
      documentUri: `nats-object://${FAX_INBOX_BUCKET}/${TENANT}/${channelId}.tif`,
      documentBytes: String(content.length),
    });
    const store = await new Objm(h.bus.connection).open(FAX_INBOX_BUCKET);
    expect(Buffer.from((await store.getBlob(`${TENANT}/${channelId}.tif`))!)).toEqual(content);
    const end = await ended(channelId);
    expect(end.legs[0]?.tags).toMatchObject({ fax: 'true' });
  });
  it('originates a callback: an answer starts a new outbound call, busy and no answer only report the outcome', async () => {
    h.sim.setEndpoint('PJSIP/+4915100000001@trunk', { answerAfterMs: 500 });
    h.sim.setEndpoint('PJSIP/+4915100000002@trunk', { busy: true });
    h.sim.setEndpoint('PJSIP/+4915100000003@trunk', { noAnswer: true });
    const originate = (number: string, commandId: string = randomUUID()) =>
      h.control.originate({
        tenantId: TENANT,
        commandId,
        number,
        callerId: MAIN_NUMBER,
        ringTimeoutSeconds: 20,
        tags: { callback: 'true', department_id: 'civil-registry' },
        waitForOutcome: true,
      });

    const busy = await originate('+4915100000002');
    expect(busy.disposition).toBe(LegDisposition.LEG_DISPOSITION_BUSY);
    const unanswered = await originate('+4915100000003');
    expect(unanswered.disposition).toBe(LegDisposition.LEG_DISPOSITION_NO_ANSWER);

    const answered = await originate('+4915100000001', 'callback-attempt-1');
    expect(answered.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect((await originate('+4915100000001', 'callback-attempt-1')).callId).toBe(answered.callId);
    const started = await h.events.waitFor<callV1.CallStarted>('call.started', (e) => e.callId === answered.callId);
    expect(started).toMatchObject({
      adapterId: ADAPTER_ID,
      direction: CallDirection.CALL_DIRECTION_OUTBOUND,
      dialedNumber: '+4915100000001',
      meta: { tenantId: TENANT },
      callerLeg: {
        kind: LegKind.LEG_KIND_EXTERNAL,
        from: MAIN_NUMBER,
        to: '+4915100000001',
        state: LegState.LEG_STATE_ANSWERED,
        tags: { callback: 'true', department_id: 'civil-registry' },
      },
    });

    // The adapter owns the new call: commands work on it, and it ends with its legs.
    await h.control.play({ ...command(answered.callId), media: ['sound:switchboard/welcome'], language: 'de' });
    await h.control.hangup({ ...command(answered.callId), cause: 16 });
    const end = await ended(answered.callId);
    expect(end.direction).toBe(CallDirection.CALL_DIRECTION_OUTBOUND);
    expect(end.legs).toEqual([
      expect.objectContaining({
        kind: LegKind.LEG_KIND_EXTERNAL,
        disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      }),
    ]);
    // Unanswered attempts were never calls: nothing to route or to bill.
    for (const failed of [busy.callId, unanswered.callId]) {
      expect(h.events.events.filter((logged) => logged.payload['callId'] === failed)).toEqual([]);
    }
    await expect(originate('0151 123')).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
