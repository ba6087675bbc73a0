import { describe, expect, it } from 'vitest';
import { DESTINATION_CLASSES } from './destination-classes.js';
import { classifyNumber } from './classify.js';

// [as dialled, normalised, class]
const TABLE: ReadonlyArray<readonly [string, string, string]> = [
  ['110', '110', 'emergency'],
  ['112', '112', 'emergency'],
  [' 1 1 2 ', '112', 'emergency'],
  ['115', '115', 'public-service'],
  ['116117', '116117', 'public-service'],
  ['116 000', '116000', 'public-service'],
  ['116111', '116111', 'public-service'],
  ['11880', '11880', 'directory'],
  ['11833', '11833', 'directory'],
  ['118000', '118000', 'directory'],
  ['030 1234567', '+49301234567', 'de-fixed'],
  ['04624 8000', '+4946248000', 'de-fixed'],
  ['+49 40 123456', '+4940123456', 'de-fixed'],
  ['0049891234567', '+49891234567', 'de-fixed'],
  ['(0351) 23456-78', '+493512345678', 'de-fixed'],
  ['0221/1234567', '+492211234567', 'de-fixed'],
  ['0151 12345678', '+4915112345678', 'de-mobile'],
  ['0160 12345678', '+4916012345678', 'de-mobile'],
  ['0170 1234567', '+491701234567', 'de-mobile'],
  ['+49 176 12345678', '+4917612345678', 'de-mobile'],
  ['015901234567', '+4915901234567', 'de-mobile'],
  ['0049 172 1234567', '+491721234567', 'de-mobile'],
  ['0164 1234567', '+491641234567', 'de-pager'],
  ['0168 12345', '+4916812345', 'de-pager'],
  ['+49 169 1234567', '+491691234567', 'de-pager'],
  ['0800 1234567', '+498001234567', 'free'],
  ['0800 12345678', '+4980012345678', 'free'],
  ['0180 1234567', '+491801234567', 'shared-cost'],
  ['01803 123456', '+491803123456', 'shared-cost'],
  ['01805 1234567', '+4918051234567', 'shared-cost'],
  ['0700 12345678', '+4970012345678', 'personal'],
  ['+49 700 12345678', '+4970012345678', 'personal'],
  ['0900 1234567', '+499001234567', 'premium'],
  ['09009 0123456', '+4990090123456', 'premium'],
  ['01371 234567', '+491371234567', 'mass-traffic'],
  ['01379 876543', '+491379876543', 'mass-traffic'],
  ['+49 1378 123456', '+491378123456', 'mass-traffic'],
  ['032 21234567', '+493221234567', 'national-subscriber'],
  ['032 212345678', '+4932212345678', 'national-subscriber'],
  ['+33 1 23 45 67 89', '+33123456789', 'international-eu'],
  ['0043 664 1234567', '+436641234567', 'international-eu'],
  ['+48 12 345 67 89', '+48123456789', 'international-eu'],
  ['+353 86 123 4567', '+353861234567', 'international-eu'],
  ['+358 18 123456', '+35818123456', 'international-eu'],
  ['+590 590 123456', '+590590123456', 'international-eu'],
  ['+262 262 123456', '+262262123456', 'international-eu'],
  ['+1 202 555 0123', '+12025550123', 'international-world'],
  ['+41 44 123 45 67', '+41441234567', 'international-world'],
  ['+44 7911 123456', '+447911123456', 'international-world'],
  ['0079123456789', '+79123456789', 'international-world'],
  ['+86 138 1234 5678', '+8613812345678', 'international-world'],
  ['+61 412 345 678', '+61412345678', 'international-world'],
  ['+90 532 123 4567', '+905321234567', 'international-world'],
  ['4930123456', '', 'invalid'],
  ['301234567', '', 'invalid'],
  ['', '', 'invalid'],
  ['hello', '', 'invalid'],
  ['+49 30', '+4930', 'invalid'],
  ['0137 12345', '+4913712345', 'invalid'],
  ['032 123', '+4932123', 'invalid'],
  ['0152 1234567', '+491521234567', 'invalid'],
  ['+4412', '+4412', 'invalid'],
  ['113', '', 'invalid'],
  ['0110', '+49110', 'invalid'],
];

describe('classifyNumber', () => {
  it.each(TABLE)('%s → %s (%s)', (input, normalized, destinationClass) => {
    expect(classifyNumber(input)).toEqual({ input, normalized, destinationClass });
  });

  it('covers every class a number can have', () => {
    const byNumber = new Set(TABLE.map(([, , destinationClass]) => destinationClass));
    const legOnly = ['internal', 'inbound', 'forwarded-home-office'];
    expect(TABLE.length).toBeGreaterThanOrEqual(60);
    expect([...byNumber].sort()).toEqual(DESTINATION_CLASSES.filter((name) => !legOnly.includes(name)).sort());
  });

  it('strips a PBX trunk-access prefix only when asked to', () => {
    expect(classifyNumber('00301234567', { trunkAccess: '0' }).normalized).toBe('+49301234567');
    expect(classifyNumber('0004312345678', { trunkAccess: '0' }).normalized).toBe('+4312345678');
    expect(classifyNumber('0112', { trunkAccess: '0' }).destinationClass).toBe('emergency');
    expect(classifyNumber('00301234567').normalized).toBe('+301234567');
  });
});
