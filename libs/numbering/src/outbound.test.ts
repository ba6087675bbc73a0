import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOUND_POLICY, OUTBOUND_DENIAL_CATEGORIES, checkOutbound, type OutboundPolicy } from './outbound.js';

const OPEN: OutboundPolicy = {
  allowPremium: true,
  allowMassTraffic: true,
  allowDirectoryEnquiries: true,
  barInternational: false,
};
const NO_INTERNATIONAL: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY, barInternational: true };

// [as dialled, normalised, under the defaults, under everything allowed, with international barred]
// — `ok`, or the category it is refused for.
const TABLE: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['110', '110', 'ok', 'ok', 'ok'],
  ['112', '112', 'ok', 'ok', 'ok'],
  [' 1 1 2 ', '112', 'ok', 'ok', 'ok'],
  ['115', '115', 'ok', 'ok', 'ok'],
  ['116117', '116117', 'ok', 'ok', 'ok'],
  ['116 006', '116006', 'ok', 'ok', 'ok'],
  ['11833', '11833', 'directory-enquiries', 'ok', 'directory-enquiries'],
  ['11880', '11880', 'directory-enquiries', 'ok', 'directory-enquiries'],
  ['118000', '118000', 'directory-enquiries', 'ok', 'directory-enquiries'],
  ['+49 11833', '+4911833', 'directory-enquiries', 'invalid', 'directory-enquiries'],
  ['0900 1234567', '+499001234567', 'premium', 'ok', 'premium'],
  ['+49 900 1234567', '+499001234567', 'premium', 'ok', 'premium'],
  ['09009 0123456', '+4990090123456', 'premium', 'ok', 'premium'],
  ['0049 900 5 123456', '+499005123456', 'premium', 'ok', 'premium'],
  ['0900 12', '+4990012', 'premium', 'invalid', 'premium'],
  ['0190 123456', '+49190123456', 'premium', 'invalid', 'premium'],
  ['01371 234567', '+491371234567', 'mass-traffic', 'ok', 'mass-traffic'],
  ['+49 1379 876543', '+491379876543', 'mass-traffic', 'ok', 'mass-traffic'],
  ['0137 12345', '+4913712345', 'mass-traffic', 'invalid', 'mass-traffic'],
  ['04624 720', '+494624720', 'ok', 'ok', 'ok'],
  ['030 1234567', '+49301234567', 'ok', 'ok', 'ok'],
  ['(0351) 23456-78', '+493512345678', 'ok', 'ok', 'ok'],
  ['0151 12345678', '+4915112345678', 'ok', 'ok', 'ok'],
  ['+49 176 12345678', '+4917612345678', 'ok', 'ok', 'ok'],
  ['0800 1234567', '+498001234567', 'ok', 'ok', 'ok'],
  ['01805 1234567', '+4918051234567', 'ok', 'ok', 'ok'],
  ['0700 12345678', '+4970012345678', 'ok', 'ok', 'ok'],
  ['032 21234567', '+493221234567', 'ok', 'ok', 'ok'],
  ['+33 1 23 45 67 89', '+33123456789', 'ok', 'ok', 'international'],
  ['0043 664 1234567', '+436641234567', 'ok', 'ok', 'international'],
  ['+45 32 12 34 56', '+4532123456', 'ok', 'ok', 'international'],
  ['+41 44 123 45 67', '+41441234567', 'ok', 'ok', 'international'],
  ['+1 202 555 0123', '+12025550123', 'ok', 'ok', 'international'],
  ['+4412', '+4412', 'invalid', 'invalid', 'international'],
  ['+49 30', '+4930', 'invalid', 'invalid', 'invalid'],
  ['+49110', '+49110', 'invalid', 'invalid', 'invalid'],
  ['0112', '+49112', 'invalid', 'invalid', 'invalid'],
  ['101', '101', 'invalid', 'invalid', 'invalid'],
  ['4930123456', '4930123456', 'invalid', 'invalid', 'invalid'],
  ['hello', 'hello', 'invalid', 'invalid', 'invalid'],
  ['', '', 'invalid', 'invalid', 'invalid'],
];

const outcome = (decision: ReturnType<typeof checkOutbound>) => (decision.allowed ? 'ok' : decision.category);

describe('checkOutbound', () => {
  it.each(TABLE)('%s → %s: defaults %s, all allowed %s, international barred %s', (dialled, number, ...expected) => {
    const decisions = [
      checkOutbound(dialled, undefined),
      checkOutbound(dialled, OPEN),
      checkOutbound(dialled, NO_INTERNATIONAL),
    ];
    expect(decisions.map(outcome)).toEqual(expected);
    for (const decision of decisions) expect(decision.number).toBe(number);
  });

  it('covers every category and lets the emergency numbers through whatever the policy', () => {
    const seen = new Set(TABLE.flatMap(([, , ...expected]) => expected));
    expect([...seen].sort()).toEqual(['ok', ...OUTBOUND_DENIAL_CATEGORIES].sort());
    const closed: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY, barInternational: true };
    for (const dialled of ['110', '112']) {
      expect(checkOutbound(dialled, closed, closed)).toEqual({
        allowed: true,
        number: dialled,
        destinationClass: 'emergency',
        emergency: true,
      });
    }
    expect(checkOutbound('0112', closed, undefined, { trunkAccess: '0' })).toMatchObject({
      allowed: true,
      number: '112',
      emergency: true,
    });
  });

  it("takes a site's override instead of the tenant's policy, field by field its own", () => {
    const tenant: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY, allowDirectoryEnquiries: true };
    expect(checkOutbound('+33123456789', tenant).allowed).toBe(true);
    expect(checkOutbound('+33123456789', tenant, NO_INTERNATIONAL)).toEqual({
      allowed: false,
      number: '+33123456789',
      destinationClass: 'international-eu',
      category: 'international',
      reason: "+33123456789 is a number outside Germany, barred by the site's outbound policy",
    });
    // The override replaces the tenant's policy: what it does not allow stays barred.
    expect(checkOutbound('11833', tenant).allowed).toBe(true);
    expect(checkOutbound('11833', tenant, NO_INTERNATIONAL)).toMatchObject({ allowed: false });
    expect(checkOutbound('09001234567', undefined, OPEN)).toMatchObject({ allowed: true, destinationClass: 'premium' });
  });

  it('says why, for the API status and the log', () => {
    expect(checkOutbound('+499001234567', undefined)).toEqual({
      allowed: false,
      number: '+499001234567',
      destinationClass: 'premium',
      category: 'premium',
      reason: "+499001234567 is a premium-rate number (0900), barred by the tenant's outbound policy",
    });
    expect(checkOutbound('01371234567', DEFAULT_OUTBOUND_POLICY)).toMatchObject({
      reason: "+491371234567 is a mass-traffic number (0137), barred by the tenant's outbound policy",
    });
    expect(checkOutbound('11833', undefined)).toMatchObject({
      reason: "11833 is a directory enquiries number (118xy), barred by the tenant's outbound policy",
    });
    expect(checkOutbound('101', undefined)).toMatchObject({
      reason: '"101" is not a number that can be dialled outside (E.164 such as +4940123456, or 0… / 00…)',
    });
    expect(checkOutbound('+4930', OPEN)).toMatchObject({ reason: '+4930 is not a valid number' });
  });
});
