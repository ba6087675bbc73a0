import { DateTime } from 'luxon';

/** Billing months and time-of-day prices follow the administration's clock, not UTC. */
export const ZONE = 'Europe/Berlin';
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function berlin(instant: Date): DateTime {
  return DateTime.fromJSDate(instant, { zone: ZONE });
}

/** `YYYY-MM` of an instant in Europe/Berlin. */
export function billingMonthOf(instant: Date): string {
  return berlin(instant).toFormat('yyyy-MM');
}

/** `YYYY-MM-DD` of an instant in Europe/Berlin. */
export function berlinDateOf(instant: Date): string {
  return berlin(instant).toFormat('yyyy-MM-dd');
}

export function isBillingMonth(value: string): boolean {
  return MONTH.test(value);
}

/** [start, end) of a billing month as UTC instants. */
export function monthRange(month: string): { start: Date; end: Date } {
  const match = MONTH.exec(month);
  if (!match) throw new RangeError(`month must be YYYY-MM, got "${month}"`);
  const start = DateTime.fromObject({ year: Number(match[1]), month: Number(match[2]), day: 1 }, { zone: ZONE });
  return { start: start.toJSDate(), end: start.plus({ months: 1 }).toJSDate() };
}
