/** Destination classes with the exact names the rating issue gives them. */
export const DESTINATION_CLASSES = [
  'internal',
  'inbound',
  'forwarded-home-office',
  'emergency',
  'public-service',
  'directory',
  'de-fixed',
  'de-mobile',
  'de-pager',
  'free',
  'shared-cost',
  'personal',
  'premium',
  'mass-traffic',
  'national-subscriber',
  'international-eu',
  'international-world',
  'invalid',
] as const;

export type DestinationClass = (typeof DESTINATION_CLASSES)[number];

export function isDestinationClass(value: string): value is DestinationClass {
  return (DESTINATION_CLASSES as readonly string[]).includes(value);
}

/** Bundle pools: a voice package holds minutes of exactly these classes. */
export const POOLS = ['de-fixed', 'de-mobile'] as const;
export type Pool = (typeof POOLS)[number];

/** Seconds one voice package adds to each pool per calendar month (1000 fixed + 700 mobile minutes). */
export const PACKAGE_SECONDS: Readonly<Record<Pool, number>> = { 'de-fixed': 1000 * 60, 'de-mobile': 700 * 60 };

export function poolOf(destinationClass: string): Pool | undefined {
  return (POOLS as readonly string[]).includes(destinationClass) ? (destinationClass as Pool) : undefined;
}
