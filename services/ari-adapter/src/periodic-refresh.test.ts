import { type callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TENANT, startHarness, type Harness } from '../test/harness.js';
import { StandInDirectory } from '../test/stand-in-directory.js';

const credential = (deviceId: string) => ({
  deviceId,
  staffId: `staff-${deviceId}`,
  username: deviceId,
  realm: 'asterisk',
  md5Cred: 'a'.repeat(32),
});

const directory = new StandInDirectory();
let h: Harness;

beforeAll(async () => {
  directory.tenants.set(TENANT, {
    numbers: ['+49462480'],
    devices: ['kropp-anna'],
    credentials: [credential('kropp-anna')],
  });
  directory.up = true;
  const address = await directory.start();
  h = await startHarness(
    { deviceEndpoints: 'pushed' },
    { DIRECTORY_ADDRESS: address, DIRECTORY_REFRESH_INTERVAL_MS: '1000' },
  );
});

afterAll(async () => {
  await h?.stop();
  directory.stop();
});

async function endpointPushed(id: string): Promise<boolean> {
  const response = await fetch(`${h.sim.url}/ari/asterisk/config/dynamic/res_pjsip/endpoint/${id}`, {
    headers: { authorization: `Basic ${Buffer.from('switchboard:ari-secret').toString('base64')}` },
  });
  return response.ok;
}

/** The next complete refresh: the tenants listed again, then the tenant's devices pushed. */
async function nextRefresh(): Promise<void> {
  await directory.nextRequest('listTenants');
  await directory.nextRequest('listDeviceCredentials', TENANT);
}

describe('the periodic refresh from the directory', () => {
  it('picks up a number and a device whose change events were missed', async () => {
    const tenant = directory.tenants.get(TENANT)!;
    tenant.numbers.push('+494331999');
    tenant.devices.push('kropp-neu');
    tenant.credentials.push(credential('kropp-neu'));
    await nextRefresh();

    const callId = h.sim.placeCall({ from: '+4946241234', to: '+494331999', script: [{ atMs: 100, hangup: true }] });
    const started = await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
    expect(started.meta?.tenantId).toBe(TENANT);
    await vi.waitFor(async () => expect(await endpointPushed('kropp-neu')).toBe(true), {
      timeout: 5_000,
      interval: 50,
    });
  });

  it('pushes the devices again when Asterisk lost them without the events connection dropping', async () => {
    h.sim.forgetPushedConfig();
    await nextRefresh();
    await vi.waitFor(async () => expect(await endpointPushed('kropp-anna')).toBe(true), {
      timeout: 5_000,
      interval: 50,
    });
  });
});
