import * as grpc from '@grpc/grpc-js';
import { callV1, directoryServiceV1 } from '@switchboard/proto';
import { createAuthenticator } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TENANT, answeredCall, dialAgent, startHarness, type Harness } from '../test/harness.js';

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

/** The directory's device credentials as this test's stand-in serves them (gRPC, role service). */
const directory = new Map<string, directoryServiceV1.DeviceCredential[]>();
let directoryUp = false;
const server = new grpc.Server();
const authenticator = createAuthenticator({
  secret: 'adapter-test-secret-adapter-test-secret',
  issuer: 'switchboard',
  audience: 'switchboard',
});
let h: Harness;

function standInDirectory(): Promise<number> {
  server.addService(directoryServiceV1.DirectoryServiceService, {
    listDeviceCredentials: (
      call: grpc.ServerUnaryCall<directoryServiceV1.ListDeviceCredentialsRequest, unknown>,
      callback: grpc.sendUnaryData<directoryServiceV1.ListDeviceCredentialsResponse>,
    ) => {
      if (!directoryUp) return callback({ code: grpc.status.UNAVAILABLE, details: 'starting' });
      const bearer = String(call.metadata.get('authorization')[0] ?? '').replace(/^Bearer /, '');
      authenticator.verify(bearer).then(
        (principal) =>
          principal.role === 'service'
            ? callback(null, { devices: directory.get(call.request.tenantId) ?? [] })
            : callback({ code: grpc.status.PERMISSION_DENIED, details: principal.role }),
        () => callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' }),
      );
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

beforeAll(async () => {
  const port = await standInDirectory();
  h = await startHarness(
    {
      deviceEndpoints: 'pushed',
      endpoints: {
        'kropp-anna': { answerAfterMs: 200 },
        'kropp-ben': { answerAfterMs: 200 },
        'kropp-neu': { answerAfterMs: 200 },
      },
    },
    { DIRECTORY_ADDRESS: `127.0.0.1:${port}` },
  );
});

afterAll(async () => {
  await h?.stop();
  server.forceShutdown();
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
    directory.set(TENANT, [
      credential('kropp-anna'),
      credential('kropp-ben', 'b'),
      // Not one of the tenant's endpoint prefixes: its calls would go to another tenant.
      credential('other-x'),
    ]);
    directoryUp = true;
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
    directory.set(TENANT, [credential('kropp-anna'), credential('kropp-neu', 'c')]);
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
    expect(metrics).toMatch(/devices_provisioning_failures_total\{[^}]*reason="run_failed"[^}]*\} [1-9]/);
  });
});
