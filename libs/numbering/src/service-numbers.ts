// The German short codes a phone reaches without an area code: emergency numbers and service
// numbers. Hand-kept because libphonenumber-js leaves emergency and short numbers out on purpose.
// Directory refuses them as extensions and routing sends them out before any extension lookup,
// both from this list, so a number can never be both a colleague and a service.

export type ServiceNumberKind = 'emergency' | 'public-service' | 'directory';

export interface ServiceNumberRange {
  /** The range as it is written in the German numbering plan: `112`, `116xxx`, `118xy`. */
  readonly range: string;
  readonly kind: ServiceNumberKind;
  /** What a caller reaches, worded to follow "is": for messages to administrators. */
  readonly reaches: string;
  readonly digits: RegExp;
}

export const SERVICE_NUMBER_RANGES: readonly ServiceNumberRange[] = [
  { range: '110', kind: 'emergency', reaches: 'the police emergency number', digits: /^110$/ },
  {
    range: '112',
    kind: 'emergency',
    reaches: 'the emergency number of the fire brigade and ambulance',
    digits: /^112$/,
  },
  {
    range: '115',
    kind: 'public-service',
    reaches: 'the public administration service number (Behördennummer 115)',
    digits: /^115$/,
  },
  {
    range: '116xxx',
    kind: 'public-service',
    reaches:
      'a European service number of social value (116xxx, e.g. 116006 victim support, 116016 help for women, ' +
      '116117 medical on-call service, 116123 crisis line)',
    digits: /^116\d{3}$/,
  },
  {
    range: '118xy',
    kind: 'directory',
    reaches: 'a directory enquiries number (118xy, 118xyz)',
    digits: /^118\d{2,3}$/,
  },
];

/** A dialled string that is an emergency or service number, with the range it falls in. */
export interface ServiceNumber extends ServiceNumberRange {
  /** The digits as dialled, separators removed. */
  readonly number: string;
}

const SEPARATORS = /[\s\-/.()]/g;

/** The emergency or service number `dialled` is (spaces and dashes ignored), or undefined. */
export function serviceNumber(dialled: string): ServiceNumber | undefined {
  const number = dialled.replace(SEPARATORS, '');
  const range = SERVICE_NUMBER_RANGES.find((candidate) => candidate.digits.test(number));
  return range && { ...range, number };
}
