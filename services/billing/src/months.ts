import { DateTime } from 'luxon';

/** Billing months are Europe/Berlin calendar months, written `YYYY-MM`. */
export const BILLING_ZONE = 'Europe/Berlin';
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonth(value: string): boolean {
  return MONTH.test(value);
}

function start(month: string): DateTime {
  const match = MONTH.exec(month);
  if (!match) throw new Error(`month "${month}" is not YYYY-MM`);
  return DateTime.fromObject({ year: Number(match[1]), month: Number(match[2]), day: 1 }, { zone: BILLING_ZONE });
}

/** The instant the month ends in Europe/Berlin (start of the next month). */
export function monthEnd(month: string): Date {
  return start(month).plus({ months: 1 }).toJSDate();
}

export function previousMonth(month: string): string {
  return start(month).minus({ months: 1 }).toFormat('yyyy-MM');
}

/** First and last calendar day of the month, `YYYY-MM-DD`. */
export function monthPeriod(month: string): { start: string; end: string } {
  const first = start(month);
  return { start: first.toISODate() ?? '', end: first.endOf('month').toISODate() ?? '' };
}

/** The Europe/Berlin calendar date of an instant plus some days, `YYYY-MM-DD`. */
export function berlinDate(instant: Date, plusDays = 0): string {
  return DateTime.fromJSDate(instant, { zone: BILLING_ZONE }).plus({ days: plusDays }).toISODate() ?? '';
}
