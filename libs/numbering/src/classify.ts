import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import type { DestinationClass } from './destination-classes.js';
import { normalizeNumber, type NormalizeOptions } from './normalize.js';
import { EU_REGIONS, GERMAN_RANGES, shortCodeClass } from './prefixes.js';

export interface Classification {
  input: string;
  /** E.164, the short code as dialled, or '' when nothing could be made of the input. */
  normalized: string;
  destinationClass: DestinationClass;
}

const GERMAN_TYPES: Partial<Record<NonNullable<NumberType>, DestinationClass>> = {
  FIXED_LINE: 'de-fixed',
  FIXED_LINE_OR_MOBILE: 'de-fixed',
  UAN: 'de-fixed',
  MOBILE: 'de-mobile',
  PAGER: 'de-pager',
  TOLL_FREE: 'free',
  SHARED_COST: 'shared-cost',
  PERSONAL_NUMBER: 'personal',
  PREMIUM_RATE: 'premium',
  VOIP: 'national-subscriber',
};

/**
 * Classes of recently classified numbers: libphonenumber's parse and validation cost about 70 µs,
 * and routing asks for the same caller's number at several steps of one call. Bounded (oldest out),
 * so it holds a few thousand numbers at most and forgets them as calls move on.
 */
const RECENT_LIMIT = 4_096;
const recent = new Map<string, DestinationClass>();

function classifyE164(e164: string): DestinationClass {
  let found = recent.get(e164);
  if (found === undefined) {
    found = parseAndClassify(e164);
    if (recent.size >= RECENT_LIMIT) recent.delete(recent.keys().next().value!);
    recent.set(e164, found);
  }
  return found;
}

function parseAndClassify(e164: string): DestinationClass {
  const parsed = parsePhoneNumberFromString(e164);
  if (e164.startsWith('+49')) {
    const national = e164.slice(3);
    const range = GERMAN_RANGES.find((candidate) => candidate.prefix.test(national));
    if (range?.valid) return range.valid.test(national) ? range.destinationClass : 'invalid';
    if (!parsed?.isValid()) return 'invalid';
    if (range) return range.destinationClass;
    return GERMAN_TYPES[parsed.getType() ?? 'FIXED_LINE'] ?? 'invalid';
  }
  if (!parsed?.isValid() || !parsed.country) return 'invalid';
  return EU_REGIONS.has(parsed.country) ? 'international-eu' : 'international-world';
}

/** The destination class of one dialled number (see README for the rules). */
export function classifyNumber(input: string, options: NormalizeOptions = {}): Classification {
  const normalized = normalizeNumber(input, options);
  switch (normalized.kind) {
    case 'short':
      return { input, normalized: normalized.number, destinationClass: shortCodeClass(normalized.number) };
    case 'e164':
      return { input, normalized: normalized.number, destinationClass: classifyE164(normalized.number) };
    case 'invalid':
      return { input, normalized: '', destinationClass: 'invalid' };
  }
}
