import { presenceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { sameProfile } from './directory-sync.js';
import { newAgent } from './transitions.js';

const profile = {
  ...presenceV1.UpsertAgentRequest.fromPartial({
    tenantId: 't-kropp',
    agentId: 'anna',
    displayName: 'Anna',
    departments: [{ departmentId: 'registry', wrapUpSeconds: 30, priority: 0, tierDelaySeconds: 10 }],
    skills: [{ name: 'english', priority: 1 }],
    devices: ['PJSIP/anna'],
    homeOfficeNumber: '+4915112345678',
  }),
  homeOffice: false,
};
const agent = newAgent(profile, new Date('2026-03-02T08:00:00Z'));
const membership = profile.departments[0]!;

describe('sameProfile (directory sync writes only changed profiles)', () => {
  it('holds for the agent made from the profile, whatever its live state and home-office flag', () => {
    expect(sameProfile(agent, profile)).toBe(true);
    const live = { ...agent, state: presenceV1.AgentState.AGENT_STATE_ON_CALL, homeOffice: true };
    expect(sameProfile(live, profile)).toBe(true);
  });

  it.each([
    ['display name', { displayName: 'Anna K.' }],
    ['home-office number', { homeOfficeNumber: '' }],
    ['a device', { devices: ['PJSIP/anna', 'PJSIP/anna-soft'] }],
    ['the devices removed', { devices: [] }],
    ['wrap-up', { departments: [{ ...membership, wrapUpSeconds: 60 }] }],
    ['tier', { departments: [{ ...membership, priority: 5 }] }],
    ['tier delay', { departments: [{ ...membership, tierDelaySeconds: 0 }] }],
    ['another department', { departments: [membership, { ...membership, departmentId: 'permits' }] }],
    [
      'a skill',
      {
        skills: [
          { name: 'english', priority: 1 },
          { name: 'turkish', priority: 1 },
        ],
      },
    ],
    ['a skill name', { skills: [{ name: 'french', priority: 1 }] }],
  ])('fails when the %s changed', (_what, change) => {
    expect(sameProfile(agent, { ...profile, ...change })).toBe(false);
  });
});
