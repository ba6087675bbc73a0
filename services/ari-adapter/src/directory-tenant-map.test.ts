import { type callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADAPTER_TOKENS, FALLBACK_TENANT, TENANT, startHarness, type Harness } from '../test/harness.js';
import { StandInDirectory } from '../test/stand-in-directory.js';

const HUSUM = 't-husum';
const directory = new StandInDirectory();
let h: Harness;
let address: string;

beforeAll(async () => {
  address = await directory.start();
  h = await startHarness({ deviceEndpoints: 'pushed' }, { DIRECTORY_ADDRESS: address });
});

afterAll(async () => {
  await h?.stop();
  directory.stop();
});

async function readiness() {
  const response = await fetch(`http://127.0.0.1:${h.adapter.httpPort}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, boolean> }).checks };
}

/** The tenant whose call.started the call produced (the call is hung up by the caller at once). */
async function tenantOfCall(to: string): Promise<string | undefined> {
  const callId = h.sim.placeCall({ from: '+4946241234', to, script: [{ atMs: 100, hangup: true }] });
  const started = await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
  return started.meta?.tenantId;
}

describe('the number plan from the directory', () => {
  it('is not ready until the directory answered; calls meanwhile go to the fallback tenant', async () => {
    expect(await readiness()).toMatchObject({ status: 503, checks: { 'number-plan': false } });
    expect(await tenantOfCall('+494624800')).toBe(FALLBACK_TENANT);

    directory.tenants.set(TENANT, { numbers: ['+49462480', '+494624809'], devices: [], credentials: [] });
    directory.tenants.set(HUSUM, { numbers: ['+494841'], devices: [], credentials: [] });
    directory.up = true;
    await vi.waitFor(async () => expect(await readiness()).toMatchObject({ status: 200 }), {
      timeout: 15_000,
      interval: 50,
    });
  });

  it("gives a call to a tenant's number, or a number of its direct-dial range, to that tenant", async () => {
    expect(await tenantOfCall('+494624800')).toBe(TENANT);
    expect(await tenantOfCall('+49462480123')).toBe(TENANT);
    expect(await tenantOfCall('+494841777')).toBe(HUSUM);
  });

  it('routes a number added in the directory to its tenant after the change event, without a restart', async () => {
    expect(await tenantOfCall('+494331999')).toBe(FALLBACK_TENANT);
    directory.tenants.get(HUSUM)!.numbers.push('+494331999');
    // The devices are provisioned after the plan took the change: that request marks it done.
    const applied = directory.nextRequest('listDeviceCredentials', HUSUM);
    h.bus.connection.publish(`sb.${HUSUM}.directory.number_changed`);
    await applied;
    expect(await tenantOfCall('+494331999')).toBe(HUSUM);
  });

  it('gives a number no tenant has to the fallback tenant and counts it', async () => {
    expect(await tenantOfCall('+4930999999')).toBe(FALLBACK_TENANT);
    const metrics = await (await fetch(`http://127.0.0.1:${h.adapter.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/calls_unclaimed_total\{[^}]*\} [3-9]/);
  });

  it('drops a tenant deleted from the directory: its numbers go to the fallback tenant', async () => {
    directory.tenants.delete(HUSUM);
    // Loads run in order: once the later event's tenant is provisioned, the deletion was applied.
    const applied = directory.nextRequest('listDeviceCredentials', TENANT);
    h.bus.connection.publish(`sb.${HUSUM}.directory.tenant_changed`);
    h.bus.connection.publish(`sb.${TENANT}.directory.staff_changed`);
    await applied;
    expect(await tenantOfCall('+494841777')).toBe(FALLBACK_TENANT);
    expect(await tenantOfCall('+494624800')).toBe(TENANT);
  });
});

describe("the adapter's own token for the directory", () => {
  it('is required: without a service token of its own the adapter does not start, and says why', async () => {
    const admin = await ADAPTER_TOKENS.token({ subject: 'anna', tenantId: TENANT, role: 'admin' });
    await expect(startHarness({}, { DIRECTORY_ADDRESS: address, AUTH_SERVICE_TOKEN: admin })).rejects.toThrow(
      'AUTH_SERVICE_TOKEN has role "admin", not "service"',
    );
  });

  it('is what the directory sees on every request: role service, the adapter as subject', () => {
    expect(directory.callers.size).toBeGreaterThan(0);
    expect([...directory.callers]).toEqual(['service:ari-adapter']);
  });
});
