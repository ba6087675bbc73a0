import { describe, expect, it } from 'vitest';
import { isShortened, sameNumber, shortenNumber } from './shorten.js';

describe('shortenNumber', () => {
  it.each([
    ['+494621234567', '+494621234xxx'],
    ['04621 234567', '04621 234xxx'],
    ['+49 4621 2345-67', '+49 4621 234x-xx'],
    ['110', 'xxx'],
    ['12', 'xx'],
    ['', ''],
  ])('%s → %s', (number, shortened) => {
    expect(shortenNumber(number)).toBe(shortened);
  });

  it('is idempotent: a shortened number stays as it is', () => {
    for (const number of ['+494621234567', '04621 234567', '+49 4621 2345-67', '110']) {
      const once = shortenNumber(number);
      expect(shortenNumber(once)).toBe(once);
      expect(isShortened(once)).toBe(true);
    }
  });

  it('tells a full number from a shortened one', () => {
    expect(isShortened('+494621234567')).toBe(false);
    expect(isShortened('+494621234xxx')).toBe(true);
    expect(isShortened('anonymous')).toBe(false);
  });
});

describe('sameNumber', () => {
  it('finds the number in the forms it is stored in', () => {
    for (const stored of ['+494621234567', '04621 234567', '00494621234567', '+49 4621 234-567']) {
      expect(sameNumber(stored, '+494621234567')).toBe(true);
    }
  });

  it('does not take another number, a shortened one or a short code for it', () => {
    for (const stored of ['+494621234568', '+494621234xxx', '4621234567', '110', '']) {
      expect(sameNumber(stored, '+494621234567')).toBe(false);
    }
  });
});
