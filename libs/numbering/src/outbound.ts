import { classifyNumber } from './classify.js';
import type { DestinationClass } from './destination-classes.js';
import type { NormalizeOptions } from './normalize.js';

// The outbound barring rule, once for every path that can create an outside call (routing's desk
// phone calls and callbacks, call control's Originate, Forward, Dial and DialAll): a tenant's
// policy, or a site's override of it, against a dialled number.

/** The fields of the directory's `OutboundPolicy` (proto `switchboard.directory.v1`). */
export interface OutboundPolicy {
  allowPremium: boolean;
  allowMassTraffic: boolean;
  allowDirectoryEnquiries: boolean;
  barInternational: boolean;
}

/** What applies when a tenant has no policy: every field's safe default. */
export const DEFAULT_OUTBOUND_POLICY: Readonly<OutboundPolicy> = Object.freeze({
  allowPremium: false,
  allowMassTraffic: false,
  allowDirectoryEnquiries: false,
  barInternational: false,
});

/** Why a number was refused; a closed list, so it can be a metric label. */
export const OUTBOUND_DENIAL_CATEGORIES = [
  'premium',
  'mass-traffic',
  'directory-enquiries',
  'international',
  'invalid',
] as const;
export type OutboundDenialCategory = (typeof OUTBOUND_DENIAL_CATEGORIES)[number];
/** The categories a policy can allow; `invalid` is no policy matter. */
type PolicyCategory = Exclude<OutboundDenialCategory, 'invalid'>;

export type OutboundDecision =
  | {
      allowed: true;
      /** E.164, or the short code as dialled: what to dial. */
      number: string;
      destinationClass: DestinationClass;
      /** 110 or 112: goes through whatever the policy says. */
      emergency: boolean;
    }
  | {
      allowed: false;
      /** E.164 or the short code when the input was one, else the input trimmed. */
      number: string;
      destinationClass: DestinationClass;
      category: OutboundDenialCategory;
      /** For the caller of an API (PERMISSION_DENIED / INVALID_ARGUMENT details) and the log. */
      reason: string;
    };

/**
 * German ranges barred by category, by national number (after +49) and regardless of whether
 * libphonenumber finds the number valid: a malformed 0900 number is refused as premium rather
 * than handed to the carrier in the hope that it refuses it. For valid numbers these agree with
 * the destination classes rating bills by (0900 `premium`, 0137 `mass-traffic`).
 */
const BARRED_RANGES: ReadonlyArray<{ prefix: string; category: PolicyCategory; what: string }> = [
  { prefix: '900', category: 'premium', what: 'a premium-rate number (0900)' },
  { prefix: '190', category: 'premium', what: 'a premium-rate number (0190)' },
  { prefix: '137', category: 'mass-traffic', what: 'a mass-traffic number (0137)' },
  { prefix: '118', category: 'directory-enquiries', what: 'a directory enquiries number (118xy)' },
];

const ALLOWED_BY: Record<PolicyCategory, (policy: OutboundPolicy) => boolean> = {
  premium: (policy) => policy.allowPremium,
  'mass-traffic': (policy) => policy.allowMassTraffic,
  'directory-enquiries': (policy) => policy.allowDirectoryEnquiries,
  international: (policy) => !policy.barInternational,
};

function barredRange(number: string): { category: PolicyCategory; what: string } | undefined {
  if (/^\d+$/.test(number)) {
    // A short code: only 118xy of the service numbers is barrable (110/112 and 115/116xxx never are).
    return number.startsWith('118') ? BARRED_RANGES.find((range) => range.prefix === '118') : undefined;
  }
  if (!number.startsWith('+49')) return { category: 'international', what: 'a number outside Germany' };
  const national = number.slice(3);
  return BARRED_RANGES.find((range) => national.startsWith(range.prefix));
}

/**
 * May a call to `dialled` go out under `policy` (the tenant's; absent: the defaults) or, when
 * given, the site's `siteOverride`, which replaces it? 110 and 112 always may. The number is read
 * as `@switchboard/numbering` reads every number (`+…`, `00…`, `0…`, the short codes); anything
 * else — a bare local number, an extension, text — is no outside number and is refused as
 * `invalid`: decide internal calls before asking.
 */
export function checkOutbound(
  dialled: string,
  policy: OutboundPolicy | undefined,
  siteOverride?: OutboundPolicy,
  options: NormalizeOptions = {},
): OutboundDecision {
  const { normalized, destinationClass } = classifyNumber(dialled, options);
  if (destinationClass === 'emergency') return { allowed: true, number: normalized, destinationClass, emergency: true };
  if (destinationClass === 'invalid' && !normalized) {
    const number = dialled.trim();
    return {
      allowed: false,
      number,
      destinationClass,
      category: 'invalid',
      reason: `"${number}" is not a number that can be dialled outside (E.164 such as +4940123456, or 0… / 00…)`,
    };
  }
  const barred = barredRange(normalized);
  const applied = siteOverride ?? policy ?? DEFAULT_OUTBOUND_POLICY;
  if (barred && !ALLOWED_BY[barred.category](applied)) {
    const whose = siteOverride ? "the site's outbound policy" : "the tenant's outbound policy";
    return {
      allowed: false,
      number: normalized,
      destinationClass,
      category: barred.category,
      reason: `${normalized} is ${barred.what}, barred by ${whose}`,
    };
  }
  if (destinationClass === 'invalid') {
    return {
      allowed: false,
      number: normalized,
      destinationClass,
      category: 'invalid',
      reason: `${normalized} is not a valid number`,
    };
  }
  return { allowed: true, number: normalized, destinationClass, emergency: false };
}
