import { directoryV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { parseBlock, parseTarget } from './number-pools.js';

describe('sb numbers pool: blocks and targets as written', () => {
  it('reads a block as prefix-first..last, first..last or one number', () => {
    expect(parseBlock('+494624720-10..99')).toEqual({ first: '+49462472010', last: '+49462472099' });
    expect(parseBlock('+49462472010..+49462472099')).toEqual({ first: '+49462472010', last: '+49462472099' });
    expect(parseBlock('+49462472010')).toEqual({ first: '+49462472010', last: '+49462472010' });
    expect(() => parseBlock('+494624720-1..99')).toThrow(
      '--block +494624720-1..99: "1" and "99" must have as many digits',
    );
    expect(() => parseBlock('04624720-10..99')).toThrow(
      '--block 04624720-10..99: not a block (e.g. +494624720-10..99, +49462472010..+49462472099 or one number)',
    );
  });

  it('reads a target as KIND:ID', () => {
    expect(parseTarget('department:bauamt')).toEqual({
      kind: directoryV1.EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT,
      target: 'bauamt',
    });
    expect(parseTarget('fax-department:bauamt').kind).toBe(directoryV1.EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT);
    expect(parseTarget('ivr-menu:main-menu').kind).toBe(directoryV1.EntryPointKind.ENTRY_POINT_KIND_IVR_MENU);
    expect(() => parseTarget('bauamt')).toThrow('--to bauamt: must be KIND:TARGET');
  });
});
