import { callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN_NUMBER, command, startHarness, type Harness } from '../test/harness.js';

const { LegDisposition, LegKind } = callV1;
// The correctness of many calls up at once; the volume (hundreds of calls, thousands of commands)
// is `pnpm bench:ari-adapter --calls 500`, where figures, not a timeout, tell how it went.
const CALLS = 100;
// Callers arrive in waves so the one test process (emulator, adapter and driver share a core) is
// not asked to handle every call in the same instant; all of them are up together afterwards.
const WAVE = 50;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ timeScale: 0.01 });
});
afterAll(async () => h?.stop());

async function connect(callId: string): Promise<callV1.LegDisposition> {
  await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId, 120_000);
  await h.control.answer(command(callId));
  const forwarded = await h.control.forward({
    ...command(callId),
    number: '+4940123456',
    callerId: MAIN_NUMBER,
    timeoutSeconds: 30,
    tags: {},
    homeOffice: false,
  });
  return forwarded.disposition;
}

describe('ari-adapter under load', () => {
  it(`keeps ${CALLS} calls up at once and ends each with every leg`, async () => {
    const calls: string[] = [];
    const dispositions: callV1.LegDisposition[] = [];
    for (let wave = 0; wave < CALLS / WAVE; wave += 1) {
      const placed = Array.from({ length: WAVE }, (_, index) =>
        h.sim.placeCall({ from: `+4946241${String(wave * WAVE + index).padStart(5, '0')}`, to: MAIN_NUMBER }),
      );
      calls.push(...placed);
      dispositions.push(...(await Promise.all(placed.map(connect))));
    }
    expect(dispositions.filter((disposition) => disposition === LegDisposition.LEG_DISPOSITION_ANSWERED)).toHaveLength(
      CALLS,
    );
    expect(h.events.of('call.ended', (event: callV1.CallEnded) => calls.includes(event.callId))).toHaveLength(0);

    for (const callId of calls) h.sim.hangupCall(callId);
    const ends = await Promise.all(
      calls.map((callId) =>
        h.events.waitFor<callV1.CallEnded>('call.ended', (event) => event.callId === callId, 120_000),
      ),
    );
    for (const end of ends) {
      expect(end.legs.map((leg) => leg.kind).sort()).toEqual([LegKind.LEG_KIND_CALLER, LegKind.LEG_KIND_EXTERNAL]);
      expect(end.legs.every((leg) => leg.disposition === LegDisposition.LEG_DISPOSITION_ANSWERED && leg.endedAt)).toBe(
        true,
      );
    }
  }, 300_000);
});
