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
