import { CDRS_STREAM } from '@switchboard/events';
import { type directoryServiceV1 } from '@switchboard/proto';
import {
  DIRECTORY_RPC_DEFINITION,
  directoryRpcClient,
  directoryRpcServeSubject,
  privacyEraseClient,
} from '@switchboard/rpc-clients';
import { createLogger, serveNatsRpc } from '@switchboard/service-kit';
import { eventually } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishLegs, startBilling, type BillingHarness } from '../test/billing-harness.js';
import { storyMonth } from '../test/story-month.js';
import { CDR_CONSUMER } from './cdr-consumer.js';
import { BillingPrivacy } from './privacy.js';
import { RatedLegStore, type StoredLeg } from './rated-legs.js';

const logger = createLogger({ service: 'billing-privacy-test', level: 'silent' });
const tenantId = 't-privacy';
const CITIZEN = '+494621234567';
const OTHER = '+4940987654';

let h: BillingHarness;
let stopDirectory: () => void;

beforeAll(async () => {
  h = await startBilling();
  // The directory's ExportTenant as billing asks it: this tenant keeps numbers for 30 days.
  const served = serveNatsRpc(h.nats, {
    definition: { exportTenant: DIRECTORY_RPC_DEFINITION.exportTenant },
    handlers: {
      exportTenant: async (request: directoryServiceV1.ExportTenantRequest) => ({
        document: JSON.stringify({
          tenant: {
            tenantId: request.tenantId,
            ...(request.tenantId === tenantId ? { privacy: { retentionDays: 30 } } : {}),
          },
        }),
      }),
    },
    subjectFor: directoryRpcServeSubject,
    logger,
  });
  stopDirectory = () => served.forEach((subscription) => subscription.unsubscribe());
  const january = storyMonth(tenantId, '2026-01', 7, 40);
  // Call ids of their own: storyMonth numbers every month's calls from 0.
  const march = storyMonth(tenantId, '2026-03', 8, 40).map((leg, index) => ({
    ...leg,
    callId: `march-${leg.callId}`,
    ...(index === 0 ? { destination: OTHER, destinationClass: 'de-fixed' } : {}),
  }));
  const neighbour = storyMonth('t-neighbour', '2026-01', 9, 5);
  await publishLegs(h.nats, [...january, ...march, ...neighbour]);
  await eventually(async () => {
    const info = await h.nats.jsm.consumers.info(CDRS_STREAM.name, CDR_CONSUMER);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
  }, 'the cdr consumer to store every leg');
});

afterAll(async () => {
  stopDirectory?.();
  await h?.stop();
});

const legs = (month: string): Promise<StoredLeg[]> => new RatedLegStore(h.db).exportMonth(tenantId, month).toArray();
const withoutNumber = (leg: StoredLeg) => ({ ...leg, destination: '' });
const sweeper = () => new BillingPrivacy(h.db, new RatedLegStore(h.db), directoryRpcClient(h.nats), logger);

describe('retention of billed legs', () => {
  it("shortens every destination older than the tenant's days; amounts and seconds stay", async () => {
    const before = await legs('2026-01');
    const march = await legs('2026-03');
    const shortened = await sweeper().sweep(new Date('2026-03-01T00:00:00Z'));
    const after = await legs('2026-01');
    expect(shortened).toBe(before.filter((leg) => leg.destinationClass !== 'internal').length);
    expect(after.map(withoutNumber)).toEqual(before.map(withoutNumber));
    expect(new Set(after.map((leg) => leg.destination))).toEqual(
      new Set([...(before.some((leg) => leg.destinationClass === 'internal') ? ['201'] : []), '+494621234xxx']),
    );
    expect(await legs('2026-03')).toEqual(march);
    // Another tenant's legs follow its own setting (the default 90 days).
    const neighbour = await new RatedLegStore(h.db).exportMonth('t-neighbour', '2026-01').toArray();
    expect(
      neighbour.filter((leg) => leg.destinationClass !== 'internal').every((leg) => leg.destination === CITIZEN),
    ).toBe(true);
  });

  it('changes nothing when run again', async () => {
    expect(await sweeper().sweep(new Date('2026-03-01T00:00:00Z'))).toBe(0);
  });
});

describe('erase', () => {
  it('shortens one number in every stored leg of the tenant, once', async () => {
    const erase = privacyEraseClient(h.nats, 'billing', 10_000);
    const citizenLegs = (await legs('2026-03')).filter((leg) => leg.destination === CITIZEN).length;
    const answer = await erase.eraseNumber({ tenantId, number: CITIZEN });
    expect(answer.changes).toEqual([{ service: 'billing', kind: 'billed-leg', count: String(citizenLegs) }]);
    const march = await legs('2026-03');
    expect(march.filter((leg) => leg.destination === CITIZEN)).toEqual([]);
    expect(march.filter((leg) => leg.destination === OTHER)).toHaveLength(1);
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes[0]?.count).toBe('0');
  });
});
