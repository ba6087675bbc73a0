import { serviceNumber } from './service-numbers.js';

/** How a dialled string was read: an E.164 number, a short code, or nothing usable. */
export type Normalized =
  { kind: 'e164'; number: string } | { kind: 'short'; number: string } | { kind: 'invalid'; number: string };

export interface NormalizeOptions {
  /**
   * Outside-line prefix a PBX user dials before the number (German PBXs: `0`), stripped first.
   * Only for numbers as typed on a desk phone; the call events carry numbers without it.
   */
  trunkAccess?: string;
}

const SEPARATORS = /[\s\-/.()]/g;

/**
 * Normalises a dialled number: `+…` stays, `00…` becomes `+…`, `0…` becomes `+49…`. Short codes
 * (110, 112, 115, 116xyz, 118xy: the list in `@switchboard/numbering`) stay as dialled. A bare
 * number such as `4930…` is never taken as German: without a trunk prefix it could only be a local
 * number, and we do not know the area code.
 */
export function normalizeNumber(input: string, options: NormalizeOptions = {}): Normalized {
  let digits = input.trim().replace(SEPARATORS, '');
  if (digits.startsWith('tel:')) digits = digits.slice(4);
  if (options.trunkAccess && !digits.startsWith('+') && digits.startsWith(options.trunkAccess)) {
    digits = digits.slice(options.trunkAccess.length);
  }
  if (serviceNumber(digits)) return { kind: 'short', number: digits };
  let e164: string;
  if (digits.startsWith('+')) e164 = digits;
  else if (digits.startsWith('00')) e164 = `+${digits.slice(2)}`;
  else if (digits.startsWith('0')) e164 = `+49${digits.slice(1)}`;
  else return { kind: 'invalid', number: digits };
  return /^\+[1-9]\d{1,14}$/.test(e164) ? { kind: 'e164', number: e164 } : { kind: 'invalid', number: digits };
}
