import { z } from 'zod';
import { DESTINATION_CLASSES, type DestinationClass } from '@switchboard/numbering';

/** Time-of-day price in Europe/Berlin: minutes of the day [from, to), wrapping past midnight when from > to. */
export interface TimeOfDayPrice {
  fromMinute: number;
  toMinute: number;
  /** ISO weekdays (1 = Monday); empty for every day. */
  weekdays: number[];
  pricePerMinute: number;
}

export interface ClassPrice {
  /** 1/10,000 EUR per minute. */
  pricePerMinute: number;
  firstIncrementSeconds: number;
  nextIncrementSeconds: number;
  /** 1/10,000 EUR per answered leg. */
  connectionFee: number;
  timeOfDay: TimeOfDayPrice[];
}

export interface ContractFlags {
  internalFree: boolean;
  forwardingFree: boolean;
  inboundFree: boolean;
}

/** A tenant's tariff and contract terms, one version valid for a span of Berlin dates. */
export interface Tariff {
  tariffId: string;
  version: number;
  /** `YYYY-MM-DD`, inclusive. */
  validFrom: string;
  /** `YYYY-MM-DD`, exclusive; '' for open-ended. */
  validTo: string;
  prices: Partial<Record<DestinationClass, ClassPrice>>;
  flags: ContractFlags;
  packages: number;
  defaultSiteId: string;
}

const price = (pricePerMinute: number, first = 60, next = 1): ClassPrice => ({
  pricePerMinute,
  firstIncrementSeconds: first,
  nextIncrementSeconds: next,
  connectionFee: 0,
  timeOfDay: [],
});

/**
 * What a tenant without a tariff of its own is rated with, so no call goes unrated: no packages,
 * 60/1 increments, no connection fees, internal/forwarding/inbound free, public-network prices
 * typical of German business tariffs (1 ct/min fixed, 9 ct/min mobile).
 */
export const DEFAULT_TARIFF: Tariff = Object.freeze({
  tariffId: 'default',
  version: 0,
  validFrom: '2000-01-01',
  validTo: '',
  prices: {
    'de-fixed': price(100),
    'de-mobile': price(900),
    'de-pager': price(5900),
    'national-subscriber': price(100),
    'public-service': price(100),
    directory: price(19900, 60, 60),
    'shared-cost': price(900),
    personal: price(4900),
    premium: price(19900, 60, 60),
    'mass-traffic': price(5000, 60, 60),
    'international-eu': price(900),
    'international-world': price(5900),
  },
  flags: { internalFree: true, forwardingFree: true, inboundFree: true },
  packages: 0,
  defaultSiteId: '',
});

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const CLOCK = /^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$/;
const minuteOfDay = (clock: string) =>
  clock === '24:00' ? 1440 : Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));
const amount = z.number().int().nonnegative().max(100_000_000);
const increment = z.number().int().min(1).max(3600);

const timeOfDaySchema = z
  .object({
    from: z.string().regex(CLOCK, 'must be HH:MM'),
    to: z.string().regex(CLOCK, 'must be HH:MM or 24:00'),
    weekdays: z.array(z.number().int().min(1).max(7)),
    pricePerMinute: amount,
  })
  .refine((window) => window.from !== window.to, { message: 'from and to must differ', path: ['to'] });

const classPriceSchema = z.object({
  destinationClass: z.enum(DESTINATION_CLASSES),
  pricePerMinute: amount,
  firstIncrementSeconds: increment,
  nextIncrementSeconds: increment,
  connectionFee: amount,
  timeOfDay: z.array(timeOfDaySchema),
});

/** The tariff fields a client sends (SetTariff), validated field by field. */
export const tariffInputSchema = z
  .object({
    tariffId: z.string().min(1, 'required').max(100),
    validFrom: z.string().regex(DATE, 'must be YYYY-MM-DD'),
    validTo: z.union([z.literal(''), z.string().regex(DATE, 'must be YYYY-MM-DD or empty')]),
    prices: z.array(classPriceSchema),
    flags: z.object({ internalFree: z.boolean(), forwardingFree: z.boolean(), inboundFree: z.boolean() }),
    packages: z.number().int().min(0).max(100_000),
    defaultSiteId: z.string().max(200),
  })
  .superRefine((tariff, context) => {
    if (tariff.validTo !== '' && tariff.validTo <= tariff.validFrom) {
      context.addIssue({ code: 'custom', path: ['validTo'], message: 'must be after validFrom' });
    }
    const seen = new Set<string>();
    tariff.prices.forEach((entry, index) => {
      if (seen.has(entry.destinationClass)) {
        context.addIssue({ code: 'custom', path: ['prices', index, 'destinationClass'], message: 'listed twice' });
      }
      seen.add(entry.destinationClass);
    });
  });

export class TariffValidationError extends Error {
  override readonly name = 'TariffValidationError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid tariff: ${issues.join('; ')}`);
  }
}

/** Validates client input into a tariff (version assigned by the store); lists every bad field. */
export function parseTariffInput(input: unknown, version: number): Tariff {
  const result = tariffInputSchema.safeParse(input);
  if (!result.success) {
    throw new TariffValidationError(
      result.error.issues.map((issue) => `${issue.path.join('.') || 'tariff'}: ${issue.message}`),
    );
  }
  const { prices, ...rest } = result.data;
  return {
    ...rest,
    version,
    prices: Object.fromEntries(
      prices.map(({ destinationClass, timeOfDay, ...classPrice }) => [
        destinationClass,
        {
          ...classPrice,
          timeOfDay: timeOfDay.map((window) => ({
            fromMinute: minuteOfDay(window.from),
            toMinute: minuteOfDay(window.to),
            weekdays: window.weekdays,
            pricePerMinute: window.pricePerMinute,
          })),
        },
      ]),
    ),
  };
}

/** The version in force on a Berlin date: the highest version whose validity covers it. */
export function tariffOn(tariffs: readonly Tariff[], date: string): Tariff {
  let best: Tariff | undefined;
  for (const tariff of tariffs) {
    if (tariff.validFrom > date || (tariff.validTo !== '' && date >= tariff.validTo)) continue;
    if (!best || tariff.version > best.version) best = tariff;
  }
  return best ?? DEFAULT_TARIFF;
}

export function clockOf(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
