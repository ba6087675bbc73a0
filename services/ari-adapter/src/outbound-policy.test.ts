import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { callControlV1, callV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADAPTER_TOKENS,
  MAIN_NUMBER,
  TENANT,
  answeredCall,
  callEnded,
  command,
  startHarness,
  type Harness,
} from '../test/harness.js';
import { StandInDirectory } from '../test/stand-in-directory.js';

// The tenant's outbound barring on call control, with the policies read from a (stand-in)
// directory: the same refusal on gRPC and NATS, site overrides, 110/112 always through.

const { LegDisposition, LegKind } = callV1;
const PREMIUM = '+499001234567';
const ABROAD = '+33123456789';
const OPEN = { allowPremium: false, allowMassTraffic: false, allowDirectoryEnquiries: false, barInternational: false };
const NO_INTERNATIONAL = { ...OPEN, barInternational: true };

const directory = new StandInDirectory();
let h: Harness;
let grpcClient: callControlV1.CallControlServiceClient;
let serviceToken: string;

beforeAll(async () => {
  const address = await directory.start();
  directory.tenants.set(TENANT, {
    numbers: ['+49462480'],
    devices: ['kropp-anna', 'kropp-depot'],
    credentials: [],
    sites: [{ siteId: 'rathaus' }, { siteId: 'bauhof', outboundOverride: NO_INTERNATIONAL }],
    deviceSites: { 'kropp-anna': 'rathaus', 'kropp-depot': 'bauhof' },
  });
  directory.up = true;
  h = await startHarness({}, { DIRECTORY_ADDRESS: address });
  await vi.waitFor(
    async () => expect((await fetch(`http://127.0.0.1:${h.adapter.httpPort}/readyz`)).status).toBe(200),
    { timeout: 15_000, interval: 50 },
  );
  grpcClient = new callControlV1.CallControlServiceClient(
    `127.0.0.1:${h.adapter.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  serviceToken = await ADAPTER_TOKENS.serviceToken('routing');
  h.sim.setEndpoint(`PJSIP/${ABROAD}@trunk`, { answerAfterMs: 200 });
  h.sim.setEndpoint('PJSIP/112@trunk', { answerAfterMs: 200 });
});

afterAll(async () => {
  grpcClient?.close();
  await h?.stop();
  directory.stop();
});

const originateRequest = (number: string, tags: Record<string, string> = {}) =>
  callControlV1.OriginateRequest.fromPartial({
    tenantId: TENANT,
    commandId: randomUUID(),
    number,
    callerId: MAIN_NUMBER,
    ringTimeoutSeconds: 20,
    tags,
    waitForOutcome: true,
  });

/** Originate over the gRPC API with a service token, as an outside system would. */
function originateGrpc(request: callControlV1.OriginateRequest): Promise<callControlV1.OriginateResponse> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${serviceToken}`);
  return new Promise((resolve, reject) =>
    grpcClient.originate(request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const dialTrunk = (callId: string, endpoint: string, tags: Record<string, string> = {}) =>
  h.control.dial({
    ...command(callId),
    endpoint,
    kind: LegKind.LEG_KIND_EXTERNAL,
    callerId: MAIN_NUMBER,
    timeoutSeconds: 20,
    tags,
    waitForOutcome: true,
  });

async function metric(labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${h.adapter.httpPort}/metrics`)).text();
  const value = new RegExp(`^outbound_denied_total\\{[^}]*${labels}[^}]*\\} (\\d+)`, 'm').exec(text)?.[1];
  return Number(value ?? 0);
}

const dialled = (number: string) => h.sim.listCalls().filter((call) => call.to.includes(number));

describe('outbound barring on call control', () => {
  it("refuses a service token's Originate to a premium number with the reason, on gRPC and on NATS", async () => {
    const reason = "+499001234567 is a premium-rate number (0900), barred by the tenant's outbound policy";
    await expect(originateGrpc(originateRequest(PREMIUM))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: reason,
    });
    await expect(h.control.originate(originateRequest(PREMIUM))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: reason,
    });
    expect(dialled(PREMIUM)).toEqual([]);
    expect(await metric('category="premium",path="originate"')).toBe(2);
  });

  it("lets calls abroad out at the tenant's sites, but not at the site whose override bars them", async () => {
    const allowed = await originateGrpc(originateRequest(ABROAD, { site_id: 'rathaus' }));
    expect(allowed.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    await h.control.hangup({ ...command(allowed.callId), cause: 16 });
    await callEnded(h, allowed.callId);

    await expect(h.control.originate(originateRequest(ABROAD, { site_id: 'bauhof' }))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: "+33123456789 is a number outside Germany, barred by the site's outbound policy",
    });

    // A call from the depot's phone: its site is the phone's, even without a site tag.
    const fromDepot = h.sim.placeCall({
      from: '2001',
      to: ABROAD,
      endpoint: 'kropp-depot',
      args: ['outbound', ABROAD],
    });
    await h.events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === fromDepot);
    await expect(
      h.control.forward({
        ...command(fromDepot),
        number: ABROAD,
        callerId: MAIN_NUMBER,
        timeoutSeconds: 20,
        tags: {},
        homeOffice: false,
      }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await h.control.hangup({ ...command(fromDepot), cause: 16 });
    await callEnded(h, fromDepot);
    expect(await metric('category="international",path="originate"')).toBe(1);
    expect(await metric('category="international",path="forward"')).toBe(1);
  });

  it('follows a changed tenant policy after its change event, and lets 112 through whatever it says', async () => {
    directory.tenants.get(TENANT)!.outboundPolicy = NO_INTERNATIONAL;
    // The devices are provisioned after the plan took the change: that request marks it done.
    const applied = directory.nextRequest('listDeviceCredentials', TENANT);
    h.bus.connection.publish(`sb.${TENANT}.directory.tenant_changed`);
    await applied;
    await expect(h.control.originate(originateRequest(ABROAD, { site_id: 'rathaus' }))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: "+33123456789 is a number outside Germany, barred by the tenant's outbound policy",
    });

    const callId = await answeredCall(h);
    const emergency = await dialTrunk(callId, 'PJSIP/112@trunk', { site_id: 'bauhof' });
    expect(emergency.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    await h.control.hangup({ ...command(callId), cause: 16 });
    await callEnded(h, callId);
  });

  it('checks the trunk numbers of Dial and DialAll and dials no other dial string', async () => {
    const callId = await answeredCall(h);
    await expect(dialTrunk(callId, `PJSIP/${PREMIUM}@trunk`)).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(
      h.control.dialAll({
        ...command(callId),
        targets: [
          { endpoint: 'PJSIP/kropp-anna', kind: LegKind.LEG_KIND_INTERNAL, tags: {} },
          { endpoint: `PJSIP/${ABROAD}@trunk`, kind: LegKind.LEG_KIND_FORWARDED_HOME_OFFICE, tags: {} },
        ],
        callerId: MAIN_NUMBER,
        timeoutSeconds: 20,
        waitForOutcome: true,
      }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    for (const endpoint of ['PJSIP/09001234567@other-trunk', 'Local/09001234567@from-devices', 'PJSIP/trunk']) {
      await expect(dialTrunk(callId, endpoint)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    }
    await h.control.hangup({ ...command(callId), cause: 16 });
    // Nothing was dialled, not even the desk phone of the refused ring-all: the caller's is the only leg.
    expect((await callEnded(h, callId)).legs).toHaveLength(1);
    expect(await metric('category="premium",path="dial"')).toBe(1);
    expect(await metric('category="international",path="dial_all"')).toBe(1);
  });
});
