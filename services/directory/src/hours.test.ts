import { describe, expect, it } from 'vitest';
import { openState, type Schedule } from './hours.js';

const weekdays = (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({ day, from: '08:00', to: '12:00' }));
const schedule = (fields: Partial<Schedule>): Schedule => ({
  federalState: 'SH',
  timeZone: 'Europe/Berlin',
  closingDays: [],
  openingHours: weekdays,
  ...fields,
});

describe('openState', () => {
  it('takes public holidays from the federal state: Epiphany is one in Bavaria, not in Schleswig-Holstein', () => {
    const epiphany = new Date('2027-01-06T09:00:00Z');
    expect(openState(schedule({}), epiphany).state).toBe('open');
    expect(openState(schedule({ federalState: 'BY' }), epiphany)).toMatchObject({
      state: 'holiday',
      reason: 'Heilige Drei Könige',
    });
  });

  it('follows the local clock across the switch to winter time and closes at the end minute', () => {
    // Winter time from 25 October 2026: 06:00 UTC is 08:00 on the Monday before, 07:00 on the Monday after.
    expect(openState(schedule({}), new Date('2026-10-19T06:00:00Z')).state).toBe('open');
    expect(openState(schedule({}), new Date('2026-10-26T06:00:00Z')).state).toBe('closed');
    expect(openState(schedule({}), new Date('2026-10-26T07:00:00Z'))).toMatchObject({
      state: 'open',
      localTime: '2026-10-26T08:00',
    });
    expect(openState(schedule({}), new Date('2026-10-26T11:00:00Z')).state).toBe('closed');
  });

  it('is closed without opening hours and on a local closing day is a holiday', () => {
    const monday = new Date('2026-11-09T09:00:00Z');
    expect(openState(schedule({ openingHours: [] }), monday)).toMatchObject({
      state: 'closed',
      reason: 'no opening hours configured',
    });
    expect(
      openState(schedule({ closingDays: [{ date: '2026-11-09', reason: '', yearly: false, until: '' }] }), monday),
    ).toMatchObject({
      state: 'holiday',
      reason: 'closing day: 2026-11-09',
    });
  });
});
