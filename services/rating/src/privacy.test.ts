import { RatingEvents } from '@switchboard/events';
import { callV1, type ratingServiceV1 } from '@switchboard/proto';
import { directoryRpcClient, privacyEraseClient } from '@switchboard/rpc-clients';
import { createLogger } from '@switchboard/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../test/harness.js';
import { tariffFor } from '../test/tariffs.js';
import { PRIVACY_LOCKS, RatingPrivacy } from './privacy.js';
import { decodeLegs, openStore, type RatedLegRecord } from './store.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('rating-privacy');
});

afterAll(async () => {
  await h?.stop();
});

const { LegKind, CallDirection, LegDisposition, LegState } = callV1;
const CITIZEN = '+494621234567';
const CALLED = '+49301234567';

/** One answered call of `seconds`: an inbound one from `number`, or an outbound one to it. */
function call(
  tenantId: string,
  callId: string,
  direction: 'inbound' | 'outbound',
  number: string,
  answered: string,
  seconds: number,
): callV1.CallEnded {
  const start = new Date(answered);
  const end = new Date(start.getTime() + seconds * 1000);
  const leg = (legId: string, kind: callV1.LegKind, from: string, to: string): callV1.Leg => ({
    legId,
    channelId: legId,
    kind,
    endpoint: 'PJSIP/trunk',
    from,
    to,
    createdAt: start,
    answeredAt: start,
    endedAt: end,
    disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    hangupCause: 16,
    hangupCauseText: 'Normal Clearing',
    tags: { site_id: 'site-01' },
    state: LegState.LEG_STATE_ENDED,
  });
  const legs =
    direction === 'inbound'
      ? [
          leg(`${callId}-in`, LegKind.LEG_KIND_CALLER, number, '+4946248000'),
          leg(`${callId}-int`, LegKind.LEG_KIND_INTERNAL, '+4946248000', '201'),
        ]
      : [leg(`${callId}-ext`, LegKind.LEG_KIND_EXTERNAL, '+4946248000', number)];
  return {
    meta: { eventId: `${tenantId}:${callId}`, tenantId, occurredAt: end, producer: 'test', trace: undefined },
    callId,
    direction: direction === 'inbound' ? CallDirection.CALL_DIRECTION_INBOUND : CallDirection.CALL_DIRECTION_OUTBOUND,
    startedAt: start,
    endedAt: end,
    endedBy: 'caller',
    legs,
  };
}

async function legsOf(tenantId: string): Promise<RatedLegRecord[]> {
  const pages = await openStore(h.db).pages.find({ tenantId }).toArray();
  return pages
    .flatMap((page) => decodeLegs(page))
    .sort((a, b) => a.legId.localeCompare(b.legId) || a.ratingVersion - b.ratingVersion);
}

const usage = (tenantId: string, month: string) =>
  h.rpc<ratingServiceV1.GetUsageRequest, ratingServiceV1.GetUsageResponse>(
    'getUsage',
    { tenantId, month, asOf: new Date('2026-12-01T00:00:00Z') },
    tenantId,
  );

const sweeper = () =>
  new RatingPrivacy(openStore(h.db), directoryRpcClient(h.nats), createLogger({ service: 'test', level: 'silent' }));

describe('retention of rated legs', () => {
  const tenantId = 't-retention';

  beforeAll(async () => {
    h.directory.setPrivacy(tenantId, { retentionDays: 30 });
    await h.rpc('setTariff', { tenantId, tariff: tariffFor(0, { validFrom: '2026-01-01' }) }, tenantId);
    await h.publishCalls([
      call(tenantId, 'jan-in', 'inbound', CITIZEN, '2026-01-12T09:00:00Z', 300),
      call(tenantId, 'jan-out', 'outbound', CALLED, '2026-01-13T09:00:00Z', 125),
      call(tenantId, 'feb-out', 'outbound', CALLED, '2026-02-25T09:00:00Z', 61),
      call(tenantId, 'mar-out', 'outbound', CALLED, '2026-03-10T09:00:00Z', 90),
    ]);
    await h.settled();
  });

  it("shortens the numbers of legs past the tenant's days; seconds, amounts and usage stay exact", async () => {
    const before = await legsOf(tenantId);
    const usageBefore = await Promise.all(['2026-01', '2026-02', '2026-03'].map((month) => usage(tenantId, month)));
    // 30 days before 2026-03-20: everything that started before 2026-02-18.
    const shortened = await sweeper().sweep(new Date('2026-03-20T00:00:00Z'));
    expect(shortened).toBe(2);
    const after = await legsOf(tenantId);
    expect(after.map((leg) => [leg.legId, leg.destination, leg.source.number])).toEqual([
      ['feb-out-ext', CALLED, CALLED],
      ['jan-in-in', '+494621234xxx', '+494621234xxx'],
      ['jan-in-int', '201', '201'],
      ['jan-out-ext', '+49301234xxx', '+49301234xxx'],
      ['mar-out-ext', CALLED, CALLED],
    ]);
    const exact = (leg: RatedLegRecord) => ({
      ...leg,
      destination: '',
      source: { ...leg.source, number: '', numberClass: undefined },
    });
    expect(after.map(exact)).toEqual(before.map(exact));
    expect(after.find((leg) => leg.legId === 'jan-out-ext')!.source.numberClass).toBe('de-fixed');
    expect(await Promise.all(['2026-01', '2026-02', '2026-03'].map((month) => usage(tenantId, month)))).toEqual(
      usageBefore,
    );
  });

  it('changes nothing when run again, and reads no page it finished', async () => {
    expect(await sweeper().sweep(new Date('2026-03-20T00:00:00Z'))).toBe(0);
    const pages = await openStore(h.db).pages.find({ tenantId, billingMonth: '2026-01' }).toArray();
    expect(pages.every((page) => page.fullFrom === null)).toBe(true);
  });

  it('rates a shortened leg as before when its month is rerated', async () => {
    const before = (await legsOf(tenantId)).find((leg) => leg.legId === 'jan-out-ext')!;
    await h.rpc('rerateMonth', { tenantId, month: '2026-01' }, tenantId);
    const rerated = (await legsOf(tenantId)).filter((leg) => leg.legId === 'jan-out-ext').at(-1)!;
    expect(rerated.ratingVersion).toBe(2);
    expect(rerated).toMatchObject({
      destination: '+49301234xxx',
      destinationClass: 'de-fixed',
      billedSeconds: before.billedSeconds,
      amount: before.amount,
    });
  });

  it('keeps numbers for 90 days when the tenant sets no retention', async () => {
    const other = 't-default-retention';
    await h.publishCalls([call(other, 'old', 'outbound', CALLED, '2026-01-13T09:00:00Z', 60)]);
    await h.settled();
    const number = async () => (await legsOf(other))[0]!.destination;
    await sweeper().sweep(new Date('2026-04-12T00:00:00Z'));
    expect(await number()).toBe(CALLED);
    await sweeper().sweep(new Date('2026-04-13T09:00:01Z'));
    expect(await number()).toBe('+49301234xxx');
  });
});

describe('two replicas sweeping at once', () => {
  it('shorten every due leg exactly once between them', async () => {
    const tenantId = 't-two-replicas';
    h.directory.setPrivacy(tenantId, { retentionDays: 30 });
    await h.publishCalls(
      Array.from({ length: 40 }, (_, index) =>
        call(
          tenantId,
          `c${index}`,
          'outbound',
          CALLED,
          `2026-01-${String(2 + (index % 20)).padStart(2, '0')}T09:00:00Z`,
          60,
        ),
      ),
    );
    await h.settled();
    const now = new Date('2026-03-20T00:00:00Z');
    const before = await legsOf(tenantId);
    const [first, second] = await Promise.all([sweeper().sweep(now), sweeper().sweep(now)]);
    const after = await legsOf(tenantId);
    expect(after.every((leg) => leg.destination === '+49301234xxx')).toBe(true);
    // Other tenants' legs were due already and shortened by the tests above; this tenant's 40 once.
    expect(first + second).toBe(40);
    const exact = (leg: RatedLegRecord) => ({
      ...leg,
      destination: '',
      source: { ...leg.source, number: '', numberClass: undefined },
    });
    expect(after.map(exact)).toEqual(before.map(exact));
  });
});

describe("a replica's lock on a tenant", () => {
  it('keeps other sweeps off the tenant while held, and is taken over once its holder is gone', async () => {
    const tenantId = 't-locked';
    await h.publishCalls([call(tenantId, 'l1', 'outbound', CALLED, '2026-01-05T09:00:00Z', 60)]);
    await h.settled();
    const locks = h.db.collection<{ _id: string; owner: string; expiresAt: Date }>(PRIVACY_LOCKS);
    const now = new Date('2026-06-01T00:00:00Z');
    await locks.insertOne({ _id: tenantId, owner: 'another-replica', expiresAt: new Date(Date.now() + 60_000) });
    await sweeper().sweep(now);
    expect((await legsOf(tenantId))[0]!.destination).toBe(CALLED);
    // Its holder crashed: the lease ran out. One sweep clears the stale lock, the next takes it.
    await locks.updateOne({ _id: tenantId }, { $set: { expiresAt: new Date(Date.now() - 1) } });
    await sweeper().sweep(now);
    await sweeper().sweep(now);
    expect((await legsOf(tenantId))[0]!.destination).toBe('+49301234xxx');
    expect(await locks.countDocuments({ _id: tenantId })).toBe(0);
  });
});

describe('erase', () => {
  const tenantId = 't-erase';

  it('shortens one number in every rated leg of the tenant, whatever its age, once', async () => {
    await h.publishCalls([
      call(tenantId, 'a', 'inbound', '04621 234567', '2026-11-30T09:00:00Z', 60),
      call(tenantId, 'b', 'outbound', CITIZEN, '2026-12-01T09:00:00Z', 60),
      call(tenantId, 'c', 'outbound', CALLED, '2026-12-01T10:00:00Z', 60),
      call('t-other', 'd', 'outbound', CITIZEN, '2026-12-01T10:00:00Z', 60),
    ]);
    await h.settled();
    const erase = privacyEraseClient(h.nats, 'rating', 10_000);
    const answer = await erase.eraseNumber({ tenantId, number: CITIZEN });
    expect(answer.changes).toEqual([{ service: 'rating', kind: 'rated-leg', count: '2' }]);
    expect((await legsOf(tenantId)).map((leg) => [leg.legId, leg.destination])).toEqual([
      ['a-in', '04621 234xxx'],
      ['a-int', '201'],
      ['b-ext', '+494621234xxx'],
      ['c-ext', CALLED],
    ]);
    expect((await legsOf('t-other')).map((leg) => leg.destination)).toEqual([CITIZEN]);
    expect((await erase.eraseNumber({ tenantId, number: CITIZEN })).changes).toEqual([
      { service: 'rating', kind: 'rated-leg', count: '0' },
    ]);
  });

  it("refuses a request for another tenant than the subject's", async () => {
    const reply = await h.nats.connection.request('sb.t-erase.privacy.erase.rating', new TextEncoder().encode(''), {
      timeout: 5_000,
    });
    expect(reply.headers?.get('Sb-Status')).toBe('7');
  });
});

it('publishes shortened legs after a rerate (billing stores what rating publishes)', async () => {
  const published = await h.readAll(RatingEvents.cdrRated, 't-retention');
  const rerated = published.filter((event) => event.leg?.ratingVersion === 2);
  expect(rerated.map((event) => event.leg?.destination).sort()).toEqual(['+49301234xxx', '+494621234xxx', '201']);
});
