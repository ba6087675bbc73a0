import { describe, expect, it } from 'vitest';
import { NumberBlockError, formatNumberBlock, parseNumberBlock } from './blocks.js';

describe('number blocks', () => {
  it('reads prefix-first..last, first..last and one number', () => {
    expect(parseNumberBlock('+494624720-10..99')).toEqual({ first: '+49462472010', last: '+49462472099' });
    expect(parseNumberBlock('+49462472010..+49462472099')).toEqual({ first: '+49462472010', last: '+49462472099' });
    expect(parseNumberBlock(' +49462472010 ')).toEqual({ first: '+49462472010', last: '+49462472010' });
  });

  it('names what is wrong with a malformed block', () => {
    expect(() => parseNumberBlock('+494624720-1..99')).toThrow(
      '+494624720-1..99: "1" and "99" must have as many digits',
    );
    expect(() => parseNumberBlock('04624720-10..99')).toThrow(
      '04624720-10..99: not a block (e.g. +494624720-10..99, +49462472010..+49462472099 or one number)',
    );
    expect(() => parseNumberBlock('+4946247201..+49462472099')).toThrow(
      '+4946247201 and +49462472099 must have as many digits',
    );
    expect(() => parseNumberBlock('+494624720-99..10')).toThrow('+49462472099 comes after +49462472010');
    expect(() => parseNumberBlock('+49..+49..+49')).toThrow('not a block');
    expect(() => parseNumberBlock('')).toThrow(NumberBlockError);
  });

  it('writes the shortest form it reads back', () => {
    const cases = [
      [{ first: '+49462472010', last: '+49462472099' }, '+494624720-10..99'],
      [{ first: '+49462472010', last: '+49462472010' }, '+49462472010'],
      [{ first: '+49462472000', last: '+49462472999' }, '+49462472-000..999'],
      [{ first: '+19', last: '+29' }, '+19..+29'],
    ] as const;
    for (const [block, text] of cases) {
      expect(formatNumberBlock(block)).toBe(text);
      expect(parseNumberBlock(text)).toEqual(block);
    }
  });
});
