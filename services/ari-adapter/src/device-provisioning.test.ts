import { callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TENANT, answeredCall, dialAgent, startHarness, type Harness } from '../test/harness.js';
import { StandInDirectory } from '../test/stand-in-directory.js';

const { LegDisposition } = callV1;
const REALM = 'asterisk';
const md5 = (seed: string) => seed.repeat(32).slice(0, 32);
const credential = (deviceId: string, seed = 'a') => ({
  deviceId,
  staffId: `staff-${deviceId}`,
  username: deviceId,
  realm: REALM,
  md5Cred: md5(seed),
});

const directory = new StandInDirectory();
let h: Harness;

beforeAll(async () => {
  const address = await directory.start();
  h = await startHarness(
    {
      deviceEndpoints: 'pushed',
      endpoints: {
        'kropp-anna': { answerAfterMs: 200 },
        'kropp-ben': { answerAfterMs: 200 },
        'kropp-neu': { answerAfterMs: 200 },
      },
    },
    { DIRECTORY_ADDRESS: address },
  );
});

afterAll(async () => {
  await h?.stop();
  directory.stop();
});

async function readiness() {
  const response = await fetch(`http://127.0.0.1:${h.adapter.httpPort}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, boolean> }).checks };
}

async function pjsip(type: string, id: string) {
  const response = await fetch(`${h.sim.url}/ari/asterisk/config/dynamic/res_pjsip/${type}/${id}`, {
    headers: { authorization: `Basic ${Buffer.from('switchboard:ari-secret').toString('base64')}` },
  });
  const body = (await response.json()) as Array<{ attribute: string; value: string }>;
  return response.ok ? Object.fromEntries(body.map((tuple) => [tuple.attribute, tuple.value])) : undefined;
}

const untilPushed = (id: string, present = true) =>
  vi.waitFor(
    async () => {
      expect(Boolean(await pjsip('endpoint', id))).toBe(present);
    },
    { timeout: 15_000, interval: 50 },
  );

describe('devices provisioned from the directory', () => {
  it('is not ready until the directory answered, then pushes auth, AOR and endpoint of every valid device', async () => {
    // No directory yet: the first runs fail and are retried.
    expect((await readiness()).checks).toMatchObject({ devices: false });
    directory.tenants.set(TENANT, {
      numbers: ['+49462480'],
      devices: ['kropp-anna', 'kropp-ben'],
      credentials: [
        credential('kropp-anna'),
        credential('kropp-ben', 'b'),
        // No staff member's device: its calls would not find the tenant.
        credential('other-x'),
      ],
    });
    directory.up = true;
    await vi.waitFor(async () => expect(await readiness()).toMatchObject({ status: 200 }), {
      timeout: 15_000,
      interval: 50,
    });

    expect(await pjsip('auth', 'kropp-anna')).toMatchObject({
      auth_type: 'digest',
      username: 'kropp-anna',
      realm: REALM,
      password_digest: `MD5:${md5('a')}`,
    });
    expect(await pjsip('aor', 'kropp-anna')).toMatchObject({
      max_contacts: '2',
      remove_existing: 'true',
      qualify_frequency: '30',
    });
    expect(await pjsip('endpoint', 'kropp-anna')).toMatchObject({
      transport: 'transport-udp',
      context: 'from-devices',
      language: 'de',
      allow: '(g722|alaw|ulaw)',
      direct_media: 'false',
      rtp_symmetric: 'true',
      force_rport: 'true',
      rewrite_contact: 'true',
      aors: 'kropp-anna',
      auth: 'kropp-anna',
    });
    expect(await pjsip('endpoint', 'other-x')).toBeUndefined();

    const callId = await answeredCall(h);
    expect((await dialAgent(h, callId, 'PJSIP/kropp-anna')).disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
  });

  it("applies a tenant's change event: a new device is pushed, a removed one deleted", async () => {
    directory.tenants.set(TENANT, {
      numbers: ['+49462480'],
      devices: ['kropp-anna', 'kropp-neu'],
      credentials: [credential('kropp-anna'), credential('kropp-neu', 'c')],
    });
    h.bus.connection.publish(`sb.${TENANT}.directory.staff_changed`);
    await untilPushed('kropp-neu');
    await untilPushed('kropp-ben', false);
    expect(await pjsip('aor', 'kropp-ben')).toBeUndefined();
    expect(await pjsip('auth', 'kropp-ben')).toBeUndefined();

    const callId = await answeredCall(h);
    expect((await dialAgent(h, callId, 'PJSIP/kropp-ben')).disposition).toBe(
      LegDisposition.LEG_DISPOSITION_UNAVAILABLE,
    );
  });

  it('pushes everything again after a reconnect: a restarted Asterisk forgot the pushed devices', async () => {
    h.sim.forgetPushedConfig();
    h.sim.dropWebSockets();
    await untilPushed('kropp-anna');
    await untilPushed('kropp-neu');
    const callId = await answeredCall(h);
    expect((await dialAgent(h, callId, 'PJSIP/kropp-neu')).disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);

    const metrics = await (await fetch(`http://127.0.0.1:${h.adapter.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/devices_provisioned_total\{[^}]*tenant="t-kropp"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/devices_provisioning_failures_total\{[^}]*reason="invalid_credential"[^}]*\} [1-9]/);
    // While the directory was down the number plan could not be read, so no provisioning ran.
    expect(metrics).toMatch(/number_plan_load_failures_total\{[^}]*\} [1-9]/);
  });
});
