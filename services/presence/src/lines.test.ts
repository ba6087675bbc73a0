import { presenceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { LineIndex, homeOfficeLine } from './lines.js';

const agent = (agentId: string, devices: string[], homeOfficeNumber = '') =>
  presenceV1.Agent.fromPartial({ tenantId: 't-kropp', agentId, devices, homeOfficeNumber });

describe('line index', () => {
  it('maps devices and home-office numbers to their agent, follows changes, and leaves shared lines to nobody', () => {
    const lines = new LineIndex();
    const anna = agent('anna', ['PJSIP/anna-1', 'PJSIP/desk-2'], '+4915112345678');
    lines.update('t-kropp', 'anna', undefined, anna);
    expect(lines.ownerOf('t-kropp', 'PJSIP/anna-1')).toBe('anna');
    expect(lines.ownerOf('t-kropp', homeOfficeLine('+4915112345678'))).toBe('anna');
    expect(lines.ownerOf('t-other', 'PJSIP/anna-1')).toBeUndefined();

    // Ben shares the desk phone: nobody can tell who is on it.
    lines.update('t-kropp', 'ben', undefined, agent('ben', ['PJSIP/desk-2']));
    expect(lines.ownerOf('t-kropp', 'PJSIP/desk-2')).toBeUndefined();

    // Anna gives up the desk phone and her home office: it is Ben's alone.
    const moved = agent('anna', ['PJSIP/anna-1']);
    lines.update('t-kropp', 'anna', anna, moved);
    expect(lines.ownerOf('t-kropp', 'PJSIP/desk-2')).toBe('ben');
    expect(lines.ownerOf('t-kropp', homeOfficeLine('+4915112345678'))).toBeUndefined();

    lines.update('t-kropp', 'anna', moved, undefined);
    expect(lines.ownerOf('t-kropp', 'PJSIP/anna-1')).toBeUndefined();
  });
});
