// One end-to-end run of the whole system (libs/stack: every service as its own process, ari-sim,
// NATS, FerretDB) with a real Prometheus scraping it and an OTLP receiver collecting its traces.
// The calls are chosen so that every dashboard panel has something to show: answered, abandoned,
// overflowed, unknown-number fallback, a failed fax, a refused RPC, rated minutes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { panelQueries } from '@switchboard/dashboards';
import { presenceV1, ratingServiceV1 } from '@switchboard/proto';
import { DEFAULT_MENUS_FILE, DEFAULT_TENANT_FILE, startStack, type Stack } from '@switchboard/stack';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { describePanel, waitForPanelData } from './panels.js';
import { startPrometheus, type Prometheus } from './prometheus.js';

const RULES = fileURLToPath(new URL('../../../charts/switchboard/rules/switchboard.rules.yaml', import.meta.url));
const MAIN_NUMBER = '+494624720';
const FAX_NUMBER = '+4946247299';
/** In the tenant's direct-dial range, but nobody's extension and no configured number. */
const UNKNOWN_NUMBER = '+494624799999';
const QUEUE_DEPARTMENT = 'fischereischeine';

interface TenantDoc {
  departments: Array<{ departmentId: string; members: Array<{ staffId: string }>; maxWaitSeconds: number }>;
}

let workDir: string;
let receiver: OtlpReceiver;
let stack: Stack;
let prometheus: Prometheus;
let queueMembers: string[];

/** The demo tenant with one department whose callers overflow after 3 s, so a test can see it. */
async function tenantWithShortQueue(): Promise<{ file: string; queueMembers: string[] }> {
  const tenant = parse(await readFile(DEFAULT_TENANT_FILE, 'utf8')) as TenantDoc;
  const department = tenant.departments.find((candidate) => candidate.departmentId === QUEUE_DEPARTMENT)!;
  department.maxWaitSeconds = 3;
  const file = path.join(workDir, 'tenant.yaml');
  await writeFile(file, stringify(tenant));
  return { file, queueMembers: department.members.map((member) => member.staffId) };
}

/** A presence client with the stack's admin token, or none (`undefined`) to be refused. */
function presence(token: string | undefined) {
  const client = new presenceV1.PresenceServiceClient(stack.grpcAddress('presence'), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const settle =
    <T>(resolve: (value: T) => void, reject: (error: Error) => void) =>
    (error: grpc.ServiceError | null, response: T) => {
      client.close();
      return error ? reject(error) : resolve(response);
    };
  return {
    setAway: (agentId: string) =>
      new Promise<presenceV1.SetStateResponse>((resolve, reject) =>
        client.setState(
          { tenantId: stack.tenantId, agentId, state: presenceV1.AgentState.AGENT_STATE_AWAY },
          metadata,
          settle(resolve, reject),
        ),
      ),
    listAgents: () =>
      new Promise<presenceV1.ListAgentsResponse>((resolve, reject) =>
        client.listAgents({ tenantId: stack.tenantId, departmentId: '' }, metadata, settle(resolve, reject)),
      ),
  };
}

/** A tariff with one bundle package, so the usage panels have a bundle to measure against. */
async function setBundleTariff(token: string): Promise<void> {
  const client = new ratingServiceV1.RatingServiceClient(
    stack.grpcAddress('rating'),
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const price = (destinationClass: string, pricePerMinute: string) => ({
    destinationClass,
    pricePerMinute,
    firstIncrementSeconds: 60,
    nextIncrementSeconds: 1,
    connectionFee: '0',
    timeOfDay: [],
  });
  const tariff = ratingServiceV1.Tariff.fromPartial({
    tariffId: 'amt-2026',
    validFrom: '2026-01-01',
    prices: [price('de-fixed', '120'), price('de-mobile', '900')],
    flags: { internalFree: true, forwardingFree: true, inboundFree: true },
    packages: 1,
  });
  await new Promise<void>((resolve, reject) =>
    client.setTariff({ tenantId: stack.tenantId, tariff }, metadata, (error) => {
      client.close();
      return error ? reject(error) : resolve();
    }),
  );
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'sb-call-run-'));
  receiver = await startOtlpReceiver();
  const tenant = await tenantWithShortQueue();
  queueMembers = tenant.queueMembers;
  stack = await startStack({
    tenantFile: tenant.file,
    menusFile: DEFAULT_MENUS_FILE,
    alwaysOpen: true,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' },
    serviceEnv: { rating: { RATING_METRICS_INTERVAL_MS: '1000' } },
  });
  prometheus = await startPrometheus({
    targets: stack.services.map((service) => ({ job: service.name, address: `127.0.0.1:${service.httpPort}` })),
    ruleFiles: [RULES],
  });
}, 240_000);

afterAll(async () => {
  await prometheus?.stop();
  await stack?.stop();
  await receiver?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('a call run across every service', () => {
  it('yields one trace per call across the adapter, routing, presence and rating', async () => {
    // Civil registry: 2 in the main menu, 1 in its submenu; the agent's phone answers after 2 s.
    const caller = stack.ariSim.placeCall({
      from: '+4946241111',
      to: MAIN_NUMBER,
      script: [
        { atMs: 300, dtmf: '2' },
        { atMs: 900, dtmf: '1' },
      ],
    });
    await vi.waitFor(() => expect(stack.ariSim.getCall(caller)?.bridgedWith.length).toBeGreaterThan(0), {
      timeout: 60_000,
      interval: 100,
    });
    stack.ariSim.hangupCall(caller);

    const servicesOf = (spans: readonly ReceivedSpan[], traceId: string) =>
      new Set(spans.filter((span) => span.traceId === traceId).map((span) => span.serviceName));
    const callTrace = (spans: readonly ReceivedSpan[]) =>
      spans.find(
        (span) =>
          span.serviceName === 'ari-adapter' &&
          span.name === 'call inbound' &&
          spans.some(
            (rated) =>
              rated.traceId === span.traceId && rated.serviceName === 'rating' && rated.name.endsWith('.cdr.rated'),
          ),
      );
    await receiver.waitFor((spans) => callTrace(spans) !== undefined, 60_000);
    const root = callTrace(receiver.spans)!;
    expect(root.parentSpanId).toBe('');
    // The menus are evaluated in routing from ivr's mirrored snapshot: ivr has no part in a call.
    expect([...servicesOf(receiver.spans, root.traceId)]).toEqual(
      expect.arrayContaining(['ari-adapter', 'routing', 'presence', 'rating']),
    );
  }, 120_000);

  it('fills every dashboard panel from what the services export, and loads the alert rules', async () => {
    // Nobody of the queue department is available: its callers wait; past 3 s they overflow.
    const token = await stack.token();
    await setBundleTariff(token);
    for (const agentId of queueMembers) await presence(token).setAway(agentId);
    const toQueue = { from: '+4946242222', to: MAIN_NUMBER, script: [{ atMs: 300, dtmf: '3' }] };
    const abandoning = stack.ariSim.placeCall(toQueue);
    const overflowing = stack.ariSim.placeCall({ ...toQueue, from: '+4946243333' });
    await vi.waitFor(() => expect(stack.ariSim.getCall(abandoning)?.moh.length).toBeGreaterThan(0), {
      timeout: 30_000,
      interval: 100,
    });
    stack.ariSim.hangupCall(abandoning);
    const unknown = stack.ariSim.placeCall({ from: '+4946244444', to: UNKNOWN_NUMBER });
    stack.ariSim.placeCall({
      from: '+4940555555',
      to: FAX_NUMBER,
      fax: { tiff: DEFAULT_TENANT_FILE, pages: 1, result: 'FAILED', error: 'HANGUP' },
    });
    // A call without a token: the RPC error panels need one refusal.
    await expect(presence(undefined).listAgents()).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    // Past the 3 s max wait the caller overflows into the Bürgerbüro, whose other agents are free.
    await vi.waitFor(() => expect(stack.ariSim.getCall(overflowing)?.bridgedWith.length).toBeGreaterThan(0), {
      timeout: 60_000,
      interval: 200,
    });
    stack.ariSim.hangupCall(overflowing);
    // The fallback department answers the unknown number; the caller then hangs up.
    await vi.waitFor(() => expect(stack.ariSim.getCall(unknown)?.bridgedWith.length).toBeGreaterThan(0), {
      timeout: 60_000,
      interval: 200,
    });
    stack.ariSim.hangupCall(unknown);

    await prometheus.waitForTargetsUp();
    const queries = panelQueries({ rateInterval: '1m', range: '5m' });
    const check = await waitForPanelData(prometheus, queries, 90_000);
    expect(check.failed).toEqual([]);
    expect(check.empty.map(describePanel)).toEqual([]);

    const rules = await prometheus.rules();
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
  }, 240_000);
});
