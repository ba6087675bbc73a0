import { localClock, nextOpening, type OpenState, type Schedule } from '@switchboard/opening-hours';
import { PROMPTS } from './prompts.js';

const DAY_MS = 86_400_000;

/**
 * What a caller hears when their department is closed: closed now (or today, on a holiday or
 * closing day), then when it opens again — today / tomorrow / a weekday within the week, else
 * the date — and the time. Without a next opening (no hours) only the first prompt.
 */
export function closedNotice(schedule: Schedule, state: OpenState, now: Date): string[] {
  const prompts: string[] = [state === 'holiday' ? PROMPTS.departmentHoliday : PROMPTS.departmentClosed];
  const opening = nextOpening(schedule, now);
  if (!opening) return prompts;
  const at = localClock(opening, schedule.timeZone);
  const days = Math.round((Date.parse(at.date) - Date.parse(localClock(now, schedule.timeZone).date)) / DAY_MS);
  prompts.push(PROMPTS.nextOpening);
  if (days === 0) prompts.push(PROMPTS.opensToday);
  else if (days === 1) prompts.push(PROMPTS.opensTomorrow);
  else if (days < 7) prompts.push(PROMPTS.opensWeekday(at.weekday));
  else prompts.push(PROMPTS.opensDay(at.day), PROMPTS.month(at.month));
  prompts.push(at.hour === 0 ? PROMPTS.atMidnight : PROMPTS.atHour(at.hour));
  if (at.minute > 0) prompts.push(PROMPTS.minutes(at.minute));
  return prompts;
}
