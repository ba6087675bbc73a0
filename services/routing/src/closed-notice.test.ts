import type { Schedule } from '@switchboard/opening-hours';
import { describe, expect, it } from 'vitest';
import { closedNotice } from './closed-notice.js';

const sound = (name: string) => `sound:switchboard/${name}`;
const schedule: Schedule = {
  federalState: 'SH',
  timeZone: 'Europe/Berlin',
  closingDays: [{ date: '2026-07-20', until: '2026-08-07', yearly: false, reason: 'Sommer' }],
  openingHours: [
    ...(['mon', 'tue', 'wed', 'fri'] as const).map((day) => ({ day, from: '08:00', to: '12:00' })),
    { day: 'thu', from: '14:30', to: '18:00' },
  ],
};

describe('closedNotice', () => {
  it('says today, tomorrow or the weekday, and the time with its minutes', () => {
    // Thursday 12 November 2026, 07:00 local: opens today at 14:30.
    expect(closedNotice(schedule, 'closed', new Date('2026-11-12T06:00:00Z'))).toEqual([
      sound('department-closed'),
      sound('next-opening'),
      sound('opens-today'),
      sound('at-hour-14'),
      sound('minutes-30'),
    ]);
    // Thursday 19:00: Friday 08:00 is tomorrow.
    expect(closedNotice(schedule, 'closed', new Date('2026-11-12T18:00:00Z')).slice(2)).toEqual([
      sound('opens-tomorrow'),
      sound('at-hour-8'),
    ]);
    // Friday 13:00: Monday.
    expect(closedNotice(schedule, 'closed', new Date('2026-11-13T12:00:00Z')).slice(2)).toEqual([
      sound('opens-mon'),
      sound('at-hour-8'),
    ]);
  });

  it('says the date after a closure of more than a week, and only "closed" without hours', () => {
    expect(closedNotice(schedule, 'holiday', new Date('2026-07-22T08:00:00Z'))).toEqual([
      sound('department-holiday'),
      sound('next-opening'),
      sound('opens-day-10'),
      sound('month-8'),
      sound('at-hour-8'),
    ]);
    expect(closedNotice({ ...schedule, openingHours: [] }, 'closed', new Date('2026-07-22T08:00:00Z'))).toEqual([
      sound('department-closed'),
    ]);
  });
});
