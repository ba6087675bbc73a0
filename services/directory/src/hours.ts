import Holidays from 'date-holidays';
import { WEEKDAYS, type ClosingDay, type OpeningInterval } from './model.js';

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
  /** Tenant-wide and the site's closing days. */
  closingDays: readonly ClosingDay[];
  /** Empty means no opening hours are configured: always closed. */
  openingHours: readonly OpeningInterval[];
}

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

/** Open, closed or holiday at an instant, in the schedule's zone; holidays win over hours. */
export function openState(schedule: Schedule, at: Date): OpenAnswer {
  const { date, time, day, year } = localParts(at, schedule.timeZone);
  const localTime = `${date}T${time}`;
  const holiday = publicHolidays(schedule.federalState, year).get(date);
  if (holiday) return { state: 'holiday', reason: holiday, localTime };
  const closing = schedule.closingDays.find((closingDay) => closingDay.date === date);
  if (closing) return { state: 'holiday', reason: `closing day: ${closing.reason || date}`, localTime };
  if (schedule.openingHours.length === 0) return { state: 'closed', reason: 'no opening hours configured', localTime };
  const open = schedule.openingHours.some(
    (interval) => interval.day === day && interval.from <= time && time < interval.to,
  );
  return open
    ? { state: 'open', reason: '', localTime }
    : { state: 'closed', reason: 'outside opening hours', localTime };
}
