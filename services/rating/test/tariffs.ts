import type { ratingServiceV1 } from '@switchboard/proto';

/** The Amt's tariff in the tests: prices divisible by 60, so amounts are exact per second. */
export const tariffFor = (packages: number, extra: Partial<ratingServiceV1.Tariff> = {}): ratingServiceV1.Tariff => ({
  tariffId: 'amt-2026',
  version: 0,
  validFrom: '2026-01-01',
  validTo: '',
  // Prices divisible by 60, so expected amounts are exact per second.
  prices: [
    {
      destinationClass: 'de-fixed',
      pricePerMinute: '120',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'de-mobile',
      pricePerMinute: '900',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'international-eu',
      pricePerMinute: '1200',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'international-world',
      pricePerMinute: '6000',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 60,
      connectionFee: '0',
      timeOfDay: [],
    },
    {
      destinationClass: 'directory',
      pricePerMinute: '18000',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 60,
      connectionFee: '600',
      timeOfDay: [],
    },
    {
      destinationClass: 'public-service',
      pricePerMinute: '120',
      firstIncrementSeconds: 60,
      nextIncrementSeconds: 1,
      connectionFee: '0',
      timeOfDay: [],
    },
  ],
  flags: { internalFree: true, forwardingFree: true, inboundFree: true },
  packages,
  defaultSiteId: 'site-01',
  ...extra,
});
