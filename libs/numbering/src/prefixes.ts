import { serviceNumber, type ServiceNumberKind } from './service-numbers.js';
import type { DestinationClass } from './destination-classes.js';

/**
 * The billing class of each kind of short code in `@switchboard/numbering`. A kind added there
 * fails this build until rating gives it a class.
 */
const SHORT_CODE_CLASSES: Readonly<Record<ServiceNumberKind, DestinationClass>> = {
  emergency: 'emergency',
  'public-service': 'public-service',
  directory: 'directory',
};

/** Short codes dialled without any prefix (the ranges of `@switchboard/numbering`). */
export function shortCodeClass(code: string): DestinationClass {
  const service = serviceNumber(code);
  return service ? SHORT_CODE_CLASSES[service.kind] : 'invalid';
}

/**
 * German service ranges by national number (after +49), in the order they are tried. Each names the
 * lengths it accepts when libphonenumber cannot be trusted with the range: it files 0137 as
 * shared cost and most 032 numbers as fixed lines or invalid.
 */
interface GermanRange {
  prefix: RegExp;
  destinationClass: DestinationClass;
  /** Own validity rule; without one, libphonenumber decides whether the number is valid. */
  valid?: RegExp;
}

export const GERMAN_RANGES: readonly GermanRange[] = [
  { prefix: /^137/, destinationClass: 'mass-traffic', valid: /^137\d{7}$/ },
  { prefix: /^32/, destinationClass: 'national-subscriber', valid: /^32\d{8,9}$/ },
  { prefix: /^16[489]/, destinationClass: 'de-pager' },
  { prefix: /^1[567]/, destinationClass: 'de-mobile' },
  { prefix: /^800/, destinationClass: 'free' },
  { prefix: /^180/, destinationClass: 'shared-cost' },
  { prefix: /^700/, destinationClass: 'personal' },
  { prefix: /^900/, destinationClass: 'premium' },
];

/** EU member states and their outermost regions / Åland, as libphonenumber region codes. */
export const EU_REGIONS: ReadonlySet<string> = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'AX',
  'GF',
  'GP',
  'MQ',
  'RE',
  'YT',
  'MF',
]);
