import { describe, expect, it } from 'vitest';
import { closesAt, nextOpening, openState, type ClosingDay, type Schedule } from './hours.js';

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

  const closing = (date: string, fields: Partial<ClosingDay> = {}): ClosingDay => ({
    date,
    reason: '',
    yearly: false,
    until: '',
    ...fields,
  });
  // 09:00 in Berlin (CET) on the given date.
  const morning = (date: string) => new Date(`${date}T08:00:00Z`);

  it('repeats yearly closing days every year from their own year on, not before', () => {
    const yearly = schedule({
      closingDays: [
        closing('2026-12-24', { yearly: true, reason: 'Heiligabend' }),
        closing('2026-12-31', { yearly: true }),
      ],
    });
    for (const date of ['2026-12-24', '2027-12-24', '2030-12-24', '2027-12-31', '2031-12-31']) {
      expect(openState(yearly, morning(date)).state, date).toBe('holiday');
    }
    expect(openState(yearly, morning('2027-12-24'))).toMatchObject({ reason: 'closing day: Heiligabend' });
    // Thursday 24 December 2025 (before the entry's year) and Wednesday 23 December 2026 are open.
    expect(openState(yearly, morning('2025-12-24')).state).toBe('open');
    expect(openState(yearly, morning('2026-12-23')).state).toBe('open');
    // A one-off day does not repeat.
    const once = schedule({ closingDays: [closing('2026-11-09')] });
    expect(openState(once, morning('2027-11-09')).state).toBe('open');
  });

  it('closes over a range of several weeks, both ends included, and over a yearly range every year', () => {
    const summer = schedule({ closingDays: [closing('2026-07-20', { until: '2026-08-07', reason: 'Sommer' })] });
    expect(openState(summer, new Date('2026-07-17T07:00:00Z')).state).toBe('open');
    for (const date of ['2026-07-20', '2026-07-29', '2026-08-07']) {
      expect(openState(summer, new Date(`${date}T07:00:00Z`)), date).toMatchObject({
        state: 'holiday',
        reason: 'closing day: Sommer',
      });
    }
    expect(openState(summer, new Date('2026-08-10T07:00:00Z')).state).toBe('open');
    expect(openState(summer, new Date('2027-07-26T07:00:00Z')).state).toBe('open');

    const everySummer = schedule({ closingDays: [closing('2026-07-20', { until: '2026-08-07', yearly: true })] });
    expect(openState(everySummer, new Date('2028-07-20T07:00:00Z')).state).toBe('holiday');
    expect(openState(everySummer, new Date('2028-08-07T07:00:00Z')).state).toBe('holiday');
    expect(openState(everySummer, new Date('2028-08-08T07:00:00Z')).state).toBe('open');
    expect(openState(everySummer, new Date('2028-07-19T07:00:00Z')).state).toBe('open');
  });

  it('finds the next opening past evenings, weekends, public holidays and closing ranges', () => {
    // Friday 11:00 local: open now.
    expect(nextOpening(schedule({}), new Date('2026-11-13T10:00:00Z'))).toEqual(new Date('2026-11-13T10:00:00Z'));
    // Friday 12:00 local, closing time: Monday 08:00.
    expect(nextOpening(schedule({}), new Date('2026-11-13T11:00:00Z'))).toEqual(new Date('2026-11-16T07:00:00Z'));
    // Thursday 24 December 2026 (yearly), then Christmas (Fri) and the weekend: Monday 28th.
    const christmas = schedule({ closingDays: [closing('2026-12-24', { yearly: true })] });
    expect(nextOpening(christmas, new Date('2026-12-23T12:00:00Z'))).toEqual(new Date('2026-12-28T07:00:00Z'));
    // In the summer closure: the first morning after it.
    const summer = schedule({ closingDays: [closing('2026-07-20', { until: '2026-08-07' })] });
    expect(nextOpening(summer, new Date('2026-07-22T08:00:00Z'))).toEqual(new Date('2026-08-10T06:00:00Z'));
    expect(nextOpening(schedule({ openingHours: [] }), new Date('2026-07-22T08:00:00Z'))).toBeUndefined();
  });

  it('says when an opening ends, joining intervals that meet', () => {
    const split = schedule({
      openingHours: [
        { day: 'thu', from: '08:00', to: '12:00' },
        { day: 'thu', from: '12:00', to: '13:00' },
        { day: 'thu', from: '14:00', to: '18:00' },
      ],
    });
    // Thursday 12 November 2026, 09:00 local: open until 13:00, not 12:00.
    expect(closesAt(split, new Date('2026-11-12T08:00:00Z'))).toEqual(new Date('2026-11-12T12:00:00Z'));
    expect(closesAt(split, new Date('2026-11-12T13:30:00Z'))).toEqual(new Date('2026-11-12T17:00:00Z'));
    expect(closesAt(split, new Date('2026-11-12T12:30:00Z'))).toBeUndefined();
    // Open all week round the clock until the next closing day starts at midnight.
    const allWeek = schedule({
      openingHours: (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const).map((day) => ({
        day,
        from: '00:00',
        to: '24:00',
      })),
      closingDays: [closing('2026-11-20')],
    });
    expect(closesAt(allWeek, new Date('2026-11-17T10:00:00Z'))).toEqual(new Date('2026-11-19T23:00:00Z'));
  });
});

describe('answers kept for the minute', () => {
  it('answers a schedule asked again within its minute like the first time, and anew in the next minute', () => {
    const berlin = schedule({});
    // Monday 9 November 2026, 11:59 in Berlin (UTC+1), then the closing minute 12:00.
    const lastSecond = new Date('2026-11-09T10:59:59.900Z');
    expect(openState(berlin, new Date('2026-11-09T10:59:00.000Z')).state).toBe('open');
    expect(openState(berlin, lastSecond)).toEqual({ state: 'open', reason: '', localTime: '2026-11-09T11:59' });
    expect(closesAt(berlin, lastSecond)).toEqual(new Date('2026-11-09T11:00:00Z'));
    expect(nextOpening(berlin, lastSecond)).toBe(lastSecond);
    const closingMinute = new Date('2026-11-09T11:00:00.000Z');
    expect(openState(berlin, closingMinute).state).toBe('closed');
    expect(closesAt(berlin, closingMinute)).toBeUndefined();
    expect(nextOpening(berlin, closingMinute)).toEqual(new Date('2026-11-10T07:00:00Z'));
  });

  it('keeps answers per schedule object: changed hours (a new schedule) are answered at once', () => {
    const at = new Date('2026-11-09T12:30:00Z');
    const morning = schedule({});
    const allDay = schedule({ openingHours: [{ day: 'mon', from: '08:00', to: '18:00' }] });
    expect(openState(morning, at).state).toBe('closed');
    expect(openState(allDay, at).state).toBe('open');
    expect(closesAt(allDay, at)).toEqual(new Date('2026-11-09T17:00:00Z'));
    expect(openState(morning, at).state).toBe('closed');
  });
});
