import Holidays from 'date-holidays';
import { DateTime } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `from` and `to` are local `HH:MM`; `to` may be `24:00`. */
export interface OpeningInterval {
  day: Weekday;
  from: string;
  to: string;
}

/**
 * A local closing day, `YYYY-MM-DD`. `until` makes it a range (inclusive); `yearly` repeats the
 * day (or range, within one year) every year from its own year on.
 */
export interface ClosingDay {
  date: string;
  reason: string;
  yearly: boolean;
  until: string;
}

export type OpenState = 'open' | 'closed' | 'holiday';

export interface OpenAnswer {
  state: OpenState;
  reason: string;
  /** The instant in the tenant's zone, `YYYY-MM-DDTHH:MM`. */
  localTime: string;
}

export interface Schedule {
  federalState: string;
  timeZone: string;
  /** Every closing day that applies: the tenant's, the site's and the department's. */
  closingDays: readonly ClosingDay[];
  /** Empty means no opening hours are configured: always closed. */
  openingHours: readonly OpeningInterval[];
}

/** How far ahead the next opening is looked for: a closure longer than this is "not known". */
const LOOKAHEAD_DAYS = 400;

const formatters = new Map<string, Intl.DateTimeFormat>();
const holidayYears = new Map<string, Map<string, string>>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

/** Public holidays of one federal state and year, by local date; computed once, then a map lookup. */
function publicHolidays(federalState: string, year: number): Map<string, string> {
  const cacheKey = `${federalState}:${year}`;
  let found = holidayYears.get(cacheKey);
  if (!found) {
    found = new Map(
      new Holidays('DE', federalState)
        .getHolidays(year)
        .filter((holiday) => holiday.type === 'public')
        .map((holiday) => [holiday.date.slice(0, 10), holiday.name]),
    );
    holidayYears.set(cacheKey, found);
  }
  return found;
}

function localParts(at: Date, timeZone: string) {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(at)) parts[part.type] = part.value;
  const date = `${parts['year']}-${parts['month']}-${parts['day']}`;
  const time = `${parts['hour']}:${parts['minute']}`;
  const day = WEEKDAYS[['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts['weekday']!)]!;
  return { date, time, day, year: Number(parts['year']) };
}

/** The closing day covering a local date, if any. */
function closingDayOn(closingDays: readonly ClosingDay[], date: string): ClosingDay | undefined {
  return closingDays.find((closingDay) => {
    const until = closingDay.until || closingDay.date;
    if (!closingDay.yearly) return closingDay.date <= date && date <= until;
    if (date < closingDay.date) return false;
    const monthDay = date.slice(5);
    return closingDay.date.slice(5) <= monthDay && monthDay <= until.slice(5);
  });
}

/** Why a whole local day is closed (public holiday or closing day), or undefined. */
function dayClosure(schedule: Schedule, date: string, year: number): string | undefined {
  const holiday = publicHolidays(schedule.federalState, year).get(date);
  if (holiday) return holiday;
  const closing = closingDayOn(schedule.closingDays, date);
  return closing ? `closing day: ${closing.reason || closing.date}` : undefined;
}

/**
 * Every answer about a schedule is the same throughout a minute: hours are `HH:MM` and closing
 * days whole local days, in zones whose offsets are whole minutes. So the answers are kept per
 * schedule object for the minute they were asked in — a call that asks again within the minute
 * (routing asks at every step and queue round) pays a map lookup, not the time-zone arithmetic
 * (Intl and luxon: about 2 ms per call before). A schedule object is treated as immutable:
 * whoever changes hours builds a new one.
 */
interface MinuteAnswers {
  minute: number;
  open?: OpenAnswer;
  /** The interval in effect at or after the minute; null: none within the look-ahead. */
  interval?: { start: number; end: number } | null;
  /** closesAt's answer; null: none. */
  closes?: number | null;
}

const answers = new WeakMap<Schedule, MinuteAnswers>();

function answersAt(schedule: Schedule, at: Date): MinuteAnswers {
  const minute = Math.floor(at.getTime() / 60_000);
  let found = answers.get(schedule);
  if (found?.minute !== minute) {
    found = { minute };
    answers.set(schedule, found);
  }
  return found;
}

/** Open, closed or holiday at an instant, in the schedule's zone; holidays win over hours. */
export function openState(schedule: Schedule, at: Date): OpenAnswer {
  const minute = answersAt(schedule, at);
  minute.open ??= computeOpenState(schedule, at);
  return minute.open;
}

function computeOpenState(schedule: Schedule, at: Date): OpenAnswer {
  const { date, time, day, year } = localParts(at, schedule.timeZone);
  const localTime = `${date}T${time}`;
  const closure = dayClosure(schedule, date, year);
  if (closure) return { state: 'holiday', reason: closure, localTime };
  if (schedule.openingHours.length === 0) return { state: 'closed', reason: 'no opening hours configured', localTime };
  const open = schedule.openingHours.some(
    (interval) => interval.day === day && interval.from <= time && time < interval.to,
  );
  return open
    ? { state: 'open', reason: '', localTime }
    : { state: 'closed', reason: 'outside opening hours', localTime };
}

function atLocal(day: DateTime, hhmm: string): DateTime {
  const [hour, minute] = hhmm.split(':').map(Number) as [number, number];
  return hour === 24 ? day.plus({ days: 1 }) : day.set({ hour, minute });
}

/**
 * The opening interval in effect at `at` or the next one after it, as instants; skips public
 * holidays and closing days. Undefined when nothing opens within the look-ahead.
 */
function intervalFrom(schedule: Schedule, at: Date): { start: DateTime; end: DateTime } | undefined {
  const now = DateTime.fromJSDate(at, { zone: schedule.timeZone });
  let day = now.startOf('day');
  for (let index = 0; index < LOOKAHEAD_DAYS; index++, day = day.plus({ days: 1 })) {
    if (dayClosure(schedule, day.toISODate()!, day.year)) continue;
    const weekday = WEEKDAYS[day.weekday - 1]!;
    const intervals = schedule.openingHours
      .filter((interval) => interval.day === weekday)
      .map((interval) => ({ start: atLocal(day, interval.from), end: atLocal(day, interval.to) }))
      .filter((interval) => interval.end > now)
      .sort((a, b) => a.start.toMillis() - b.start.toMillis());
    if (intervals[0]) return intervals[0];
  }
  return undefined;
}

/** intervalFrom as instants, kept for the minute (see MinuteAnswers). */
function intervalAt(schedule: Schedule, at: Date): { start: number; end: number } | undefined {
  const minute = answersAt(schedule, at);
  if (minute.interval === undefined) {
    const interval = intervalFrom(schedule, at);
    minute.interval = interval ? { start: interval.start.toMillis(), end: interval.end.toMillis() } : null;
  }
  return minute.interval ?? undefined;
}

/** When the schedule is next open: `at` itself when open now; undefined when not within 400 days. */
export function nextOpening(schedule: Schedule, at: Date): Date | undefined {
  const interval = intervalAt(schedule, at);
  if (!interval) return undefined;
  return interval.start <= at.getTime() ? at : new Date(interval.start);
}

/**
 * When the schedule closes next, if open at `at` (intervals that meet, also over midnight, count
 * as one opening); undefined when closed now or open throughout the look-ahead.
 */
export function closesAt(schedule: Schedule, at: Date): Date | undefined {
  const minute = answersAt(schedule, at);
  minute.closes ??= computeClosesAt(schedule, at);
  return minute.closes === null ? undefined : new Date(minute.closes);
}

function computeClosesAt(schedule: Schedule, at: Date): number | null {
  if (openState(schedule, at).state !== 'open') return null;
  let end = intervalAt(schedule, at)?.end;
  for (let index = 0; end !== undefined && index < LOOKAHEAD_DAYS * 3; index++) {
    const following = intervalFrom(schedule, new Date(end));
    if (!following || following.start.toMillis() > end) return end;
    end = following.end.toMillis();
  }
  return null;
}

export interface LocalClock {
  /** `YYYY-MM-DD`. */
  date: string;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  day: number;
  month: number;
  hour: number;
  minute: number;
}

/** An instant on the zone's wall clock (what an announcement says). */
export function localClock(at: Date, timeZone: string): LocalClock {
  const local = DateTime.fromJSDate(at, { zone: timeZone });
  return {
    date: local.toISODate()!,
    weekday: local.weekday - 1,
    day: local.day,
    month: local.month,
    hour: local.hour,
    minute: local.minute,
  };
}
