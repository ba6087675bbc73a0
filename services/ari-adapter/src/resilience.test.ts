import * as grpc from '@grpc/grpc-js';
import { callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAIN_NUMBER,
  TENANT,
  answeredCall,
  callEnded,
  command,
  dialAgent,
  startHarness,
  type Harness,
} from '../test/harness.js';

// A created channel enters Stasis only after `create` has answered, and Asterisk refuses every
// command on it until then (pinned by the emulator's conformance tests): the adapter waits for
// the StasisStart, gives up a leg that never gets one, and runs a failed command again.

const { LegDisposition, LegKind, LegState } = callV1;

const ENDPOINTS = { 'kropp-anna': { answerAfterMs: 1_000 } };

describe('a created leg enters Stasis only after create has answered', () => {
  let h: Harness;
  // Far longer than a request takes: a command sent right after create certainly comes too early.
  beforeAll(async () => (h = await startHarness({ endpoints: ENDPOINTS, stasisEntryDelayMs: 300 })));
  afterAll(async () => h?.stop());

  it('is dialled only after its StasisStart (Asterisk answers 409 before), with the caller id set at creation', async () => {
    const callId = await answeredCall(h);
    const agent = await dialAgent(h, callId, 'PJSIP/kropp-anna');
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(h.sim.getCall(callId)?.bridgedWith).toEqual([agent.legId]);
    expect(h.sim.getCall(agent.legId)).toMatchObject({ answered: true, dialStatus: 'ANSWER' });
    const channel = await fetch(`${h.sim.url}/ari/channels/${agent.legId}`, {
      headers: { authorization: `Basic ${Buffer.from('switchboard:ari-secret').toString('base64')}` },
    });
    expect(((await channel.json()) as { caller: { number: string } }).caller.number).toBe(MAIN_NUMBER);
    h.sim.hangupCall(callId);
    const end = await callEnded(h, callId);
    expect(end.legs.find((leg) => leg.legId === agent.legId)?.disposition).toBe(
      LegDisposition.LEG_DISPOSITION_ANSWERED,
    );
  });

  it('executes a failed command again when it is retried with the same id', async () => {
    // The originated call exists for the adapter only once answered; a hangup before is NOT_FOUND.
    h.sim.setEndpoint('PJSIP/+4915100000009@trunk', { answerAfterMs: 50_000 });
    const { callId } = await h.control.originate({
      tenantId: TENANT,
      commandId: 'callback-1',
      number: '+4915100000009',
      callerId: MAIN_NUMBER,
      ringTimeoutSeconds: 600,
      tags: {},
      waitForOutcome: false,
    });
    const hangup = { ...command(callId, 'hangup-once'), cause: 16 };
    await expect(h.control.hangup(hangup)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
    await h.control.hangup(hangup);
    expect((await callEnded(h, callId)).endedBy).toBe('system');
    // Succeeded now: from here on the id replays that success.
    await h.control.hangup(hangup);
  });
});

describe('a created leg whose StasisStart never comes', () => {
  let h: Harness;
  beforeAll(
    async () =>
      (h = await startHarness(
        { endpoints: ENDPOINTS, stasisEntryDelayMs: 600_000 },
        { STASIS_START_TIMEOUT_MS: '300' },
      )),
  );
  afterAll(async () => h?.stop());

  it('fails cleanly: UNAVAILABLE to the caller, the leg ended FAILED rather than left DIALING, a retry tries anew', async () => {
    const callId = await answeredCall(h);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(dialAgent(h, callId, 'PJSIP/kropp-anna', 'connect-1')).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringContaining('did not enter Stasis'),
      });
    }
    h.sim.hangupCall(callId);
    const agentLegs = (await callEnded(h, callId)).legs.filter((leg) => leg.kind === LegKind.LEG_KIND_INTERNAL);
    // Two attempts under the one command id, each its own leg: the failure was not replayed.
    expect(agentLegs).toHaveLength(2);
    for (const leg of agentLegs) {
      expect(leg).toMatchObject({
        state: LegState.LEG_STATE_ENDED,
        disposition: LegDisposition.LEG_DISPOSITION_FAILED,
        hangupCause: 41,
      });
    }
  });
});
