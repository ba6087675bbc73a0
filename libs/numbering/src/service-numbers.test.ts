import { describe, expect, it } from 'vitest';
import { serviceNumber } from './service-numbers.js';

describe('serviceNumber', () => {
  it.each([
    ['110', 'emergency', '110'],
    ['112', 'emergency', '112'],
    [' 1 1 2 ', 'emergency', '112'],
    ['115', 'public-service', '115'],
    ['116006', 'public-service', '116xxx'],
    ['116016', 'public-service', '116xxx'],
    ['116117', 'public-service', '116xxx'],
    ['116 123', 'public-service', '116xxx'],
    ['11833', 'directory', '118xy'],
    ['118000', 'directory', '118xy'],
  ])('%s is a %s number in %s', (dialled, kind, range) => {
    expect(serviceNumber(dialled)).toMatchObject({ kind, range, number: dialled.replace(/\s/g, '') });
  });

  // Routing matches a device's whole dialled string, so only the exact codes are reserved; a
  // prefix of one (11, 116, 118) or a longer number starting with one (1101) stays an extension.
  it.each(['11', '113', '116', '1160', '11600', '1161234', '118', '1181', '1101', '1120', '0112', '+49112', ''])(
    '%s is no service number',
    (dialled) => {
      expect(serviceNumber(dialled)).toBeUndefined();
    },
  );
});
