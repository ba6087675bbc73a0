import type { DateTime } from 'luxon';
import { berlin } from './berlin-time.js';
import type { ClassPrice, TimeOfDayPrice } from './tariff.js';

/** Seconds charged for an answered duration: the first interval, then whole following intervals. */
export function billedSeconds(durationSeconds: number, first: number, next: number): number {
  if (durationSeconds <= 0) return 0;
  if (durationSeconds <= first) return first;
  return first + Math.ceil((durationSeconds - first) / next) * next;
}

function inWindow(window: TimeOfDayPrice, local: DateTime): boolean {
  if (window.weekdays.length > 0 && !window.weekdays.includes(local.weekday)) return false;
  const minute = local.hour * 60 + local.minute;
  return window.fromMinute < window.toMinute
    ? minute >= window.fromMinute && minute < window.toMinute
    : minute >= window.fromMinute || minute < window.toMinute;
}

function priceAt(price: ClassPrice, local: DateTime): number {
  return price.timeOfDay.find((window) => inWindow(window, local))?.pricePerMinute ?? price.pricePerMinute;
}

/** The next wall-clock instant (Berlin) at which a window may open or close: an edge or midnight. */
function nextEdge(price: ClassPrice, local: DateTime): DateTime {
  const minute = local.hour * 60 + local.minute;
  const edges = price.timeOfDay.flatMap((window) => [window.fromMinute, window.toMinute]);
  const upcoming = edges.filter((edge) => edge > minute && edge < 1440).sort((a, b) => a - b)[0];
  return upcoming === undefined
    ? local.startOf('day').plus({ days: 1 })
    : local.set({ hour: Math.floor(upcoming / 60), minute: upcoming % 60, second: 0, millisecond: 0 });
}

/**
 * Σ seconds × price-per-minute over the billed seconds [fromOffset, toOffset) after `start`, each
 * stretch at the price in force (Berlin time of day) when it begins. Divide by 60 once, per leg.
 */
export function priceSecondsSum(price: ClassPrice, start: Date, fromOffset: number, toOffset: number): number {
  if (toOffset <= fromOffset) return 0;
  if (price.timeOfDay.length === 0) return (toOffset - fromOffset) * price.pricePerMinute;
  let sum = 0;
  let offset = fromOffset;
  while (offset < toOffset) {
    const local = berlin(new Date(start.getTime() + offset * 1000));
    const untilEdge = Math.max(1, Math.ceil((nextEdge(price, local).toMillis() - local.toMillis()) / 1000));
    const stretch = Math.min(untilEdge, toOffset - offset);
    sum += stretch * priceAt(price, local);
    offset += stretch;
  }
  return sum;
}

/** 1/10,000 EUR from a seconds × per-minute sum, rounded half up once. */
export function toAmount(priceSeconds: number): number {
  return Math.floor((priceSeconds + 30) / 60);
}
