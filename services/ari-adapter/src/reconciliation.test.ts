import { callV1 } from '@switchboard/proto';
import { NotServedError } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredCall, callEnded, dialAgent, startHarness, type Harness } from '../test/harness.js';

// Channels can vanish without an event (the emulator's loseChannel): the adapter must still end
// and publish every call, show it in /metrics, and stop at once on SIGTERM. Its own file: the metrics
// are read from the first adapter of the process (the kit's telemetry is one per process).

const { LegDisposition, LegState } = callV1;

const ENDPOINTS = {
  'kropp-anna': { answerAfterMs: 1_000 },
  'kropp-carla': { noAnswer: true },
};

describe('calls whose channels vanish without an event', () => {
  let h: Harness;
  beforeAll(async () => (h = await startHarness({ endpoints: ENDPOINTS }, { RECONCILE_INTERVAL_MS: '200' })));
  afterAll(async () => h?.stop());

  /** The adapter's call figures from `/metrics`, each summed over its series. */
  async function figures(): Promise<Record<string, number>> {
    const lines = (await (await fetch(`http://127.0.0.1:${h.adapter.httpPort}/metrics`)).text()).split('\n');
    const sum = (name: string) =>
      lines
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    return {
      started: sum('calls_started_total'),
      ended: sum('calls_ended_total'),
      inFlight: sum('calls_in_flight'),
      lostLegs: sum('calls_legs_lost_total'),
    };
  }

  it('are ended by the periodic reconciliation and published with every leg; /metrics shows none left', async () => {
    const callId = await answeredCall(h);
    const agent = await dialAgent(h, callId, 'PJSIP/kropp-anna');
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);

    h.sim.loseChannel(callId);
    h.sim.loseChannel(agent.legId);
    const end = await callEnded(h, callId);
    expect(end.legs.map((leg) => leg.legId).sort()).toEqual([callId, agent.legId].sort());
    for (const leg of end.legs) {
      expect(leg).toMatchObject({
        state: LegState.LEG_STATE_ENDED,
        disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
        hangupCause: 16,
        hangupCauseText: 'Channel gone without a hangup event',
      });
    }
    expect(await figures()).toEqual({ started: 1, ended: 1, inFlight: 0, lostLegs: 2 });
  });

  it('do not keep SIGTERM from stopping at once: live calls are left to the next process, the command in hand answered as not served', async () => {
    const callId = await answeredCall(h);
    // A command in flight: it waits for an agent who does not answer.
    const ringing = dialAgent(h, callId, 'PJSIP/kropp-carla').catch((error: unknown) => error);
    await h.events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (event) => event.callId === callId && event.leg?.state === LegState.LEG_STATE_RINGING,
    );
    h.sim.loseChannel(callId);

    const began = performance.now();
    expect(await h.adapter.shutdown('SIGTERM')).toBe(0);
    expect(performance.now() - began).toBeLessThan(5_000);
    expect(await ringing).toBeInstanceOf(NotServedError);
  });
});
