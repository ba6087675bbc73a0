import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { answeredCall, startHarness, type Harness } from '../test/harness.js';
import { metricSum } from '../test/metrics.js';

// Asterisk gives a Stasis app to the last events connection that asks for it and tells the one
// before with ApplicationReplaced. Its own file: the metrics are read from the first adapter of
// the process (the kit's telemetry is one per process).

const WAIT = { timeout: 10_000 };

interface Ready {
  status: number;
  checks: Record<string, boolean>;
}

describe('another events connection taking the Stasis app over', () => {
  let h: Harness;
  beforeAll(async () => (h = await startHarness()));
  afterAll(async () => h?.stop());

  const readiness = async (): Promise<Ready> => {
    const response = await fetch(`http://127.0.0.1:${h.adapter.httpPort}/readyz`);
    const body = (await response.json()) as { checks: Record<string, boolean> };
    return { status: response.status, checks: body.checks };
  };

  it('makes the adapter not ready, leaves it its calls, and the adapter stays out', async () => {
    expect(await readiness()).toEqual({ status: 200, checks: { asterisk: true, nats: true, 'stasis-app': true } });
    await answeredCall(h);

    const intruder = new WebSocket(`${h.sim.url.replace('http', 'ws')}/ari/events?app=switchboard`, {
      headers: { authorization: `Basic ${Buffer.from('switchboard:ari-secret').toString('base64')}` },
    });
    const taken: string[] = [];
    intruder.on('message', (data: Buffer) => {
      const event = JSON.parse(data.toString()) as { type: string; channel?: { id: string } };
      if (event.type === 'StasisStart' && event.channel) taken.push(event.channel.id);
    });
    await new Promise((resolve, reject) => intruder.once('open', resolve).once('error', reject));
    await vi.waitFor(
      async () =>
        expect(await readiness()).toEqual({
          status: 503,
          checks: { asterisk: false, nats: true, 'stasis-app': false },
        }),
      WAIT,
    );
    expect(await metricSum(h.adapter.httpPort, 'ari_application_replaced_total')).toBe(1);
    expect(await metricSum(h.adapter.httpPort, 'calls_handed_over_total')).toBe(1);
    expect(await metricSum(h.adapter.httpPort, 'calls_in_flight')).toBe(0);

    const next = h.sim.placeCall({ from: '+4946241234', to: '+494624800' });
    await vi.waitFor(() => expect(taken).toContain(next), WAIT);

    // The intruder goes; the adapter does not take the app back by itself: nobody has it now, so
    // the dialplan holds a new call, ringing, instead of handing it to an app.
    intruder.close();
    await vi.waitFor(() => {
      const held = h.sim.placeCall({ from: '+4946241234', to: '+494624800' });
      expect(h.sim.getCall(held)?.ringingIndicated).toBe(true);
    }, WAIT);
    expect((await readiness()).status).toBe(503);
  });
});
