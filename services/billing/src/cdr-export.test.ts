import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createProgram } from '@switchboard/cli';
import { CDRS_STREAM } from '@switchboard/events';
import { billingV1 } from '@switchboard/proto';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, call, metadata, publishLegs, startBilling, type BillingHarness } from '../test/billing-harness.js';
import { storyProfile } from '../test/story-month.js';
import { CDR_CONSUMER } from './cdr-consumer.js';
import type { StoredLeg } from './rated-legs.js';
import { wireProfile } from './wire.js';
import { eventually } from '@switchboard/testkit';

const TENANT = 't-controller';
const MONTH = '2026-03';

/** The contract as the customer's controller has it: 60/1 increments, a connection fee, two pools. */
const TARIFF = {
  id: 'kommunal-2026',
  version: 3,
  increments: { first: 60, next: 1 },
  /** 1/10,000 EUR per minute; connection fee 1/10,000 EUR per answered leg. */
  classes: {
    'de-fixed': { price: 150, fee: 0, pool: 'de-fixed' },
    'de-mobile': { price: 900, fee: 0, pool: 'de-mobile' },
    'international-eu': { price: 1_200, fee: 0, pool: '' },
    premium: { price: 19_900, fee: 500, pool: '' },
  },
  /** Seconds included per month. */
  pools: { 'de-fixed': 3_000, 'de-mobile': 1_200 } as Record<string, number>,
} as const;
type TariffClass = keyof typeof TARIFF.classes;
const CLASSES = Object.keys(TARIFF.classes) as TariffClass[];

/** A month of legs rated by that tariff, as the rating service would publish them. */
function ratedMonth(calls: number): StoredLeg[] {
  const rng = xoroshiro128plus(20260331);
  const int = (from: number, to: number) => unsafeUniformIntDistribution(from, to, rng);
  const starts = Array.from({ length: calls }, () => Date.UTC(2026, 2, int(2, 27), int(6, 17), int(0, 59), int(0, 59)));
  starts.sort((a, b) => a - b);
  const left: Record<string, number> = { ...TARIFF.pools };
  return starts.map((start, index) => {
    const destinationClass = CLASSES[int(0, CLASSES.length - 1)]!;
    const { price, fee, pool } = TARIFF.classes[destinationClass];
    const duration = int(1, 10) === 1 ? 0 : int(1, 400);
    const { first, next } = TARIFF.increments;
    const billed = duration === 0 ? 0 : Math.max(first, first + Math.ceil((duration - first) / next) * next);
    const bundle = pool ? Math.min(left[pool] ?? 0, billed) : 0;
    if (pool) left[pool] = (left[pool] ?? 0) - bundle;
    const overage = pool ? billed - bundle : 0;
    const charged = pool ? overage : billed;
    const chargeAmount = Math.round((charged * price) / 60);
    const connectionFee = duration === 0 ? 0 : fee;
    return {
      tenantId: TENANT,
      callId: `call-${String(index).padStart(4, '0')}`,
      legId: 'leg-0',
      ratingVersion: 1,
      siteId: `site-${String(int(1, 47)).padStart(2, '0')}`,
      startedAt: new Date(start),
      billingMonth: MONTH,
      destination: `+49${int(30, 89)}${String(int(0, 9_999_999)).padStart(7, '0')}`,
      destinationClass,
      durationSeconds: duration,
      billedSeconds: billed,
      pool,
      bundleSeconds: bundle,
      overageSeconds: overage,
      connectionFee,
      amount: chargeAmount + connectionFee,
      charges: chargeAmount === 0 ? [] : [{ pricePerMinute: price, seconds: charged, amount: chargeAmount }],
      tariffId: TARIFF.id,
      tariffVersion: TARIFF.version,
      receivedAt: new Date(0),
    };
  });
}

let harness: BillingHarness;
const legs = ratedMonth(400);

async function runCli(args: string[]): Promise<void> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    SB_BILLING_ADDR: harness.address,
    ...TOKENS.issuerEnv,
    SB_TOKEN: '',
  });
  try {
    await createProgram()
      .exitOverride()
      .parseAsync(['node', 'sb', ...args]);
  } finally {
    process.env = saved;
  }
}

beforeAll(async () => {
  harness = await startBilling();
  const md = await metadata(TENANT);
  await call((done) =>
    harness.client.setBillingProfile({ tenantId: TENANT, profile: wireProfile(storyProfile(TENANT)) }, md, done),
  );
  await publishLegs(harness.nats, legs);
  await eventually(async () => {
    const info = await harness.nats.jsm.consumers.info(CDRS_STREAM.name, CDR_CONSUMER);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
  }, 'the cdr consumer to store the month');
}, 300_000);

afterAll(async () => {
  await harness?.stop();
});

describe('sb cdr export --csv', () => {
  it("lets a controller recompute every leg's amount from the CSV and the tariff, and the invoice from the legs", async () => {
    const md = await metadata(TENANT);
    const { invoice } = await call<billingV1.CloseMonthResponse>((done) =>
      harness.client.closeMonth({ tenantId: TENANT, month: MONTH }, md, done),
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'sb-cdr-export-'));
    try {
      const file = path.join(dir, 'cdrs.csv');
      await runCli(['cdr', 'export', '--tenant', TENANT, '--month', MONTH, '--csv', file]);
      // No cell here holds a comma or a quote, so splitting is parsing.
      const [header = '', ...lines] = (await readFile(file, 'utf8')).trim().split('\n');
      const columns = header.split(',');
      const rows = lines.map((line) =>
        Object.fromEntries(line.split(',').map((cell, index) => [columns[index], cell])),
      );
      expect(rows).toHaveLength(legs.length);

      // The controller's side: only the CSV and the tariff from here on.
      const tenThousandths = (eur: string) => {
        expect(eur).toMatch(/^-?\d+\.\d{4}$/);
        return Number(eur.replace('.', ''));
      };
      const left: Record<string, number> = { ...TARIFF.pools };
      const byClass = new Map<string, number>();
      let previousStart = '';
      for (const row of rows) {
        const cls = TARIFF.classes[row['destination_class'] as TariffClass];
        expect(cls, row['destination_class']).toBeDefined();
        expect(row).toMatchObject({
          billing_month: MONTH,
          tariff_id: TARIFF.id,
          tariff_version: String(TARIFF.version),
        });
        expect(row['destination']).toMatch(/^\+49\d+xxx$/);
        expect(row['started_at_utc']! >= previousStart).toBe(true);
        previousStart = row['started_at_utc']!;
        const duration = Number(row['duration_seconds']);
        const { first, next } = TARIFF.increments;
        const billed = duration === 0 ? 0 : first + Math.max(0, Math.ceil((duration - first) / next) * next);
        expect(Number(row['billed_seconds'])).toBe(billed);
        // Pools are drawn in start order until they are used up.
        const bundle = cls.pool ? Math.min(left[cls.pool] ?? 0, billed) : 0;
        if (cls.pool) left[cls.pool] = (left[cls.pool] ?? 0) - bundle;
        expect(row['pool']).toBe(cls.pool);
        expect(Number(row['bundle_seconds'])).toBe(bundle);
        expect(Number(row['overage_seconds'])).toBe(cls.pool ? billed - bundle : 0);
        const fee = duration === 0 ? 0 : cls.fee;
        expect(tenThousandths(row['connection_fee_eur']!)).toBe(fee);
        const amount = Math.round(((cls.pool ? billed - bundle : billed) * cls.price) / 60) + fee;
        expect(tenThousandths(row['amount_eur']!)).toBe(amount);
        byClass.set(row['destination_class']!, (byClass.get(row['destination_class']!) ?? 0) + amount);
      }
      expect(Object.values(left).some((seconds) => seconds === 0)).toBe(true);

      // And the invoice's usage lines add up to the legs of their class.
      const usageLines = invoice!.lines.filter(
        (line) => line.category === billingV1.LineCategory.LINE_CATEGORY_OVERAGE,
      );
      const invoiced = new Map<string, number>();
      for (const line of usageLines) {
        invoiced.set(line.destinationClass, (invoiced.get(line.destinationClass) ?? 0) + Number(line.amount));
      }
      expect(invoiced).toEqual(new Map([...byClass].filter(([, amount]) => amount !== 0)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
