import { DateTime } from 'luxon';

/** Billing months and time-of-day prices follow the administration's clock, not UTC. */
export const ZONE = 'Europe/Berlin';
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function berlin(instant: Date): DateTime {
  return DateTime.fromJSDate(instant, { zone: ZONE });
}

const HOUR_MS = 3_600_000;
const offsets = new Map<number, number>();

/**
 * Berlin's UTC offset (ms) at an instant. Europe/Berlin changes its offset only on whole UTC hours,
 * so it is looked up once per UTC hour (luxon's zone arithmetic is the hot path's costliest call).
 */
function offsetAt(ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    if (offsets.size > 100_000) offsets.clear();
    offset = DateTime.fromMillis(hour * HOUR_MS, { zone: ZONE }).offset * 60_000;
    offsets.set(hour, offset);
  }
  return offset;
}

/** The Berlin wall clock of an instant, as a Date whose UTC fields read that wall clock. */
function wallClock(instant: Date): Date {
  return new Date(instant.getTime() + offsetAt(instant.getTime()));
}

const pad = (value: number) => String(value).padStart(2, '0');

/** `YYYY-MM` of an instant in Europe/Berlin. */
export function billingMonthOf(instant: Date): string {
  const local = wallClock(instant);
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}`;
}

/** `YYYY-MM-DD` of an instant in Europe/Berlin. */
export function berlinDateOf(instant: Date): string {
  const local = wallClock(instant);
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
}

export function isBillingMonth(value: string): boolean {
  return MONTH.test(value);
}

const ranges = new Map<string, { start: Date; end: Date }>();

/** [start, end) of a billing month as UTC instants. */
export function monthRange(month: string): { start: Date; end: Date } {
  const known = ranges.get(month);
  if (known) return { start: new Date(known.start), end: new Date(known.end) };
  const match = MONTH.exec(month);
  if (!match) throw new RangeError(`month must be YYYY-MM, got "${month}"`);
  const start = DateTime.fromObject({ year: Number(match[1]), month: Number(match[2]), day: 1 }, { zone: ZONE });
  const range = { start: start.toJSDate(), end: start.plus({ months: 1 }).toJSDate() };
  if (ranges.size > 10_000) ranges.clear();
  ranges.set(month, range);
  return { start: new Date(range.start), end: new Date(range.end) };
}
