import { SERVICE_NUMBER_RANGES } from './service-numbers.js';
import { describe, expect, it } from 'vitest';
import { classifyNumber } from './classify.js';

// Rating takes its short codes from @switchboard/numbering (the list directory and routing use).
// These pin the billing class of each range, so a change to the shared list that would re-class
// a call on an invoice shows up here.

// [range in @switchboard/numbering, as dialled, class]
const SHORT_CODES: ReadonlyArray<readonly [string, string, string]> = [
  ['110', '110', 'emergency'],
  ['112', '112', 'emergency'],
  ['115', '115', 'public-service'],
  ['116xxx', '116000', 'public-service'],
  ['116xxx', '116006', 'public-service'],
  ['116xxx', '116016', 'public-service'],
  ['116xxx', '116111', 'public-service'],
  ['116xxx', '116117', 'public-service'],
  ['116xxx', '116123', 'public-service'],
  ['116xxx', '116999', 'public-service'],
  ['118xy', '11800', 'directory'],
  ['118xy', '11833', 'directory'],
  ['118xy', '11880', 'directory'],
  ['118xy', '11899', 'directory'],
  ['118xy', '118000', 'directory'],
  ['118xy', '118999', 'directory'],
];

describe('short codes', () => {
  it.each(SHORT_CODES)('%s: %s is %s, kept as dialled', (_range, dialled, destinationClass) => {
    expect(classifyNumber(dialled)).toEqual({ input: dialled, normalized: dialled, destinationClass });
    // The same code typed on a desk phone: separators, a tel: URI, the outside-line prefix.
    const spaced = dialled.split('').join(' ');
    expect(classifyNumber(spaced)).toEqual({ input: spaced, normalized: dialled, destinationClass });
    expect(classifyNumber(`tel:${dialled}`).destinationClass).toBe(destinationClass);
    expect(classifyNumber(`0${dialled}`, { trunkAccess: '0' })).toEqual({
      input: `0${dialled}`,
      normalized: dialled,
      destinationClass,
    });
  });

  it('pins a class for every range of the shared list', () => {
    expect([...new Set(SHORT_CODES.map(([range]) => range))].sort()).toEqual(
      SERVICE_NUMBER_RANGES.map(({ range }) => range).sort(),
    );
  });

  // Only the whole code is one: a prefix of a code or a longer number starting with one is a bare
  // number (invalid, never guessed German).
  it.each(['1', '11', '113', '116', '1160', '11600', '1161234', '118', '1181', '1180000', '1101', '1120', '1150'])(
    '%s is no short code: invalid',
    (dialled) => {
      expect(classifyNumber(dialled)).toEqual({ input: dialled, normalized: '', destinationClass: 'invalid' });
    },
  );

  it.each([
    ['0110', '+49110'],
    ['0112', '+49112'],
    ['0116117', '+49116117'],
    ['011833', '+4911833'],
    ['+49112', '+49112'],
  ])(
    '%s is read as the German number %s (invalid), not as a short code, unless 0 is the trunk prefix',
    (dialled, normalized) => {
      expect(classifyNumber(dialled)).toEqual({ input: dialled, normalized, destinationClass: 'invalid' });
    },
  );
});
