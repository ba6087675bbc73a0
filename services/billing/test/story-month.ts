import { xoroshiro128plus, unsafeUniformIntDistribution, type RandomGenerator } from 'pure-rand';
import type { StoredLeg } from '../src/rated-legs.js';
import type { BillingProfile } from '../src/profile.js';

/**
 * A seeded month shaped like the customer story: 47 sites, ~3000 calls, ~10,000 minutes
 * including internal and home-office legs, 2 voice packages drawn in call order, some overage.
 * Rated here as the rating service would (60/1 increments, per-minute prices in 1/10,000 EUR).
 */
export const STORY_SITES = 47;
export const PACKAGE_MINUTES: Record<string, number> = { 'de-fixed': 1000, 'de-mobile': 700 };

const CLASSES: ReadonlyArray<{ name: string; weight: number; price: number; pool: string; fee: number }> = [
  { name: 'inbound', weight: 42, price: 0, pool: '', fee: 0 },
  { name: 'internal', weight: 15, price: 0, pool: '', fee: 0 },
  { name: 'forwarded-home-office', weight: 6, price: 0, pool: '', fee: 0 },
  { name: 'de-fixed', weight: 22, price: 150, pool: 'de-fixed', fee: 0 },
  { name: 'de-mobile', weight: 11, price: 900, pool: 'de-mobile', fee: 0 },
  { name: 'international-eu', weight: 2, price: 1200, pool: '', fee: 0 },
  { name: 'shared-cost', weight: 1, price: 390, pool: '', fee: 0 },
  { name: 'premium', weight: 1, price: 19_900, pool: '', fee: 500 },
];
const TOTAL_WEIGHT = CLASSES.reduce((sum, entry) => sum + entry.weight, 0);

/** The story tenant's voice packages: its rating tariff's, which billing learns at close. */
export const STORY_PACKAGES = 2;

export function storyProfile(tenantId: string, overrides: Partial<BillingProfile> = {}): BillingProfile {
  const sites = Array.from({ length: STORY_SITES }, (_, index) => ({
    id: `site-${String(index + 1).padStart(2, '0')}`,
    name: `Standort ${index + 1}`,
    headcount: (index % 5) + (index < 3 ? 10 : 0),
    // 212 basis points for 46 sites and the rest for the last: adds up to 10,000.
    fixedShareBasisPoints: index < STORY_SITES - 1 ? 212 : 10_000 - 212 * (STORY_SITES - 1),
  }));
  return {
    tenantId,
    buyer: {
      name: 'Amt Kropp-Stapelholm',
      address: { street: 'Am Markt 10', postalCode: '24848', city: 'Kropp', countryCode: 'DE' },
      leitwegId: '01058040-0001-88',
      email: 'rechnung@amt-kropp.example',
      vatId: '',
    },
    sites,
    voicePackagePrice: 299_000,
    recurringFees: [
      { code: 'line', description: 'Anschluss je Standort', quantity: STORY_SITES, unitPrice: 19_900 },
      { code: 'number', description: 'Rufnummer (portiert)', quantity: 120, unitPrice: 1_000 },
    ],
    oneOffItems: [
      { month: '2026-03', description: 'Rufnummernportierung (einmalig)', quantity: 47, unitPrice: 25_000 },
    ],
    allocation: { method: 'usage', overrides: [{ category: 'packages', method: 'headcount' }] },
    ...overrides,
  };
}

function int(rng: RandomGenerator, from: number, to: number): number {
  return unsafeUniformIntDistribution(from, to, rng);
}

/**
 * Generates and rates one month of legs (billing month `month`, all at version 1). `poolShare` is
 * the share of the two packages' minutes the month starts with, so that a smaller month still
 * runs past its bundle (e.g. 500 calls with a share of 1/8 run past their pools as 3,000 calls do).
 */
export function storyMonth(tenantId: string, month: string, seed: number, calls = 3000, poolShare = 1): StoredLeg[] {
  const rng = xoroshiro128plus(seed);
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  // Days 2..27 at 06:00-18:00 UTC are inside the Berlin month whatever the DST offset.
  const starts = Array.from({ length: calls }, () =>
    Date.UTC(year, monthNumber - 1, int(rng, 2, 27), int(rng, 6, 17), int(rng, 0, 59), int(rng, 0, 59)),
  ).sort((a, b) => a - b);
  const remaining: Record<string, number> = {
    'de-fixed': Math.round(poolShare * 2 * PACKAGE_MINUTES['de-fixed']! * 60),
    'de-mobile': Math.round(poolShare * 2 * PACKAGE_MINUTES['de-mobile']! * 60),
  };
  const legs: StoredLeg[] = [];
  starts.forEach((start, callIndex) => {
    const legCount = int(rng, 1, 10) <= 2 ? 2 : 1;
    for (let legIndex = 0; legIndex < legCount; legIndex += 1) {
      let pick = int(rng, 1, TOTAL_WEIGHT);
      const cls = CLASSES.find((entry) => (pick -= entry.weight) <= 0) ?? CLASSES[0]!;
      const answered = int(rng, 1, 10) > 1;
      const duration = answered ? int(rng, 5, 360) : 0;
      const billed = answered ? Math.max(60, duration) : 0;
      let bundle = 0;
      if (cls.pool) {
        bundle = Math.min(remaining[cls.pool] ?? 0, billed);
        remaining[cls.pool] = (remaining[cls.pool] ?? 0) - bundle;
      }
      const overage = cls.pool ? billed - bundle : 0;
      const charged = cls.pool ? overage : billed;
      const fee = answered ? cls.fee : 0;
      legs.push({
        tenantId,
        callId: `call-${String(callIndex).padStart(5, '0')}`,
        legId: `leg-${legIndex}`,
        ratingVersion: 1,
        siteId: `site-${String(int(rng, 1, STORY_SITES)).padStart(2, '0')}`,
        startedAt: new Date(start + legIndex * 1000),
        billingMonth: month,
        destination: cls.name === 'internal' ? '201' : '+494621234567',
        destinationClass: cls.name,
        durationSeconds: duration,
        billedSeconds: billed,
        pool: cls.pool,
        bundleSeconds: bundle,
        overageSeconds: overage,
        connectionFee: fee,
        amount: Math.round((charged * cls.price) / 60) + fee,
        charges:
          charged > 0 && cls.price > 0
            ? [{ pricePerMinute: cls.price, seconds: charged, amount: Math.round((charged * cls.price) / 60) }]
            : [],
        tariffId: 'standard',
        tariffVersion: 1,
        receivedAt: new Date(0),
      });
    }
  });
  return legs;
}
