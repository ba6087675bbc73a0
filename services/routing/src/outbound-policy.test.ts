import { describe, expect, it } from 'vitest';
import { decideOutbound } from './outbound-policy.js';

describe('decideOutbound', () => {
  it('always lets 110 and 112 through', () => {
    expect(decideOutbound('112')).toMatchObject({ result: 'emergency', number: '112' });
    expect(decideOutbound('110')).toMatchObject({ result: 'emergency', number: '110' });
  });

  it('lets public service numbers through and takes short codes from the shared list', () => {
    expect(decideOutbound('115')).toMatchObject({
      result: 'allowed',
      number: '115',
      destinationClass: 'public-service',
    });
    expect(decideOutbound('116 117')).toMatchObject({ result: 'allowed', number: '116117' });
    expect(decideOutbound('1101')).toMatchObject({ result: 'barred', destinationClass: 'invalid' });
  });

  it('bars premium, mass-traffic and directory-service numbers', () => {
    expect(decideOutbound('09001234567').result).toBe('barred');
    expect(decideOutbound('01371234567').result).toBe('barred');
    expect(decideOutbound('11833').result).toBe('barred');
  });

  it('allows fixed-network and mobile numbers in E.164', () => {
    expect(decideOutbound('0301234567')).toMatchObject({ result: 'allowed', number: '+49301234567' });
    expect(decideOutbound('+4915112345678')).toMatchObject({ result: 'allowed', destinationClass: 'de-mobile' });
  });
});
