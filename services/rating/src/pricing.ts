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

/** Billed seconds at one price per minute, and their seconds × price sum (not yet divided by 60). */
export interface PriceSegment {
  pricePerMinute: number;
  seconds: number;
  priceSeconds: number;
}

/**
 * The billed seconds [fromOffset, toOffset) after `start`, each stretch at the price in force
 * (Berlin time of day) when it begins, merged per distinct price in the order each price first
 * applies. Their `priceSeconds` add up to what the leg is charged before the one rounding.
 */
export function priceSegments(price: ClassPrice, start: Date, fromOffset: number, toOffset: number): PriceSegment[] {
  if (toOffset <= fromOffset) return [];
  if (price.timeOfDay.length === 0) {
    const seconds = toOffset - fromOffset;
    return [{ pricePerMinute: price.pricePerMinute, seconds, priceSeconds: seconds * price.pricePerMinute }];
  }
  const segments: PriceSegment[] = [];
  let offset = fromOffset;
  while (offset < toOffset) {
    const local = berlin(new Date(start.getTime() + offset * 1000));
    const untilEdge = Math.max(1, Math.ceil((nextEdge(price, local).toMillis() - local.toMillis()) / 1000));
    const stretch = Math.min(untilEdge, toOffset - offset);
    const perMinute = priceAt(price, local);
    const segment = segments.find((entry) => entry.pricePerMinute === perMinute);
    if (segment) {
      segment.seconds += stretch;
      segment.priceSeconds += stretch * perMinute;
    } else {
      segments.push({ pricePerMinute: perMinute, seconds: stretch, priceSeconds: stretch * perMinute });
    }
    offset += stretch;
  }
  return segments;
}

/** 1/10,000 EUR from a seconds × per-minute sum, rounded half up once. */
export function toAmount(priceSeconds: number): number {
  return Math.floor((priceSeconds + 30) / 60);
}

/** What the charged seconds of a leg are made of: seconds and 1/10,000 EUR per price per minute. */
export interface Charge {
  pricePerMinute: number;
  seconds: number;
  amount: number;
}

/**
 * Splits a leg's charged amount (`total` = the leg's one rounding of all its segments) over its
 * segments: each but the last rounded half up on its own, the last taking the rest, so the entries
 * add up to `total` exactly. Where earlier entries rounded up so much that the rest would be
 * negative (three or more prices, fractions of a cent each), they give back a unit each, latest
 * first, so no entry is negative.
 */
export function chargesOf(segments: readonly PriceSegment[], total: number): Charge[] {
  const charges = segments.map((segment) => ({
    pricePerMinute: segment.pricePerMinute,
    seconds: segment.seconds,
    amount: toAmount(segment.priceSeconds),
  }));
  const last = charges.at(-1);
  if (!last) return charges;
  last.amount = total - charges.slice(0, -1).reduce((sum, charge) => sum + charge.amount, 0);
  for (let index = charges.length - 2; last.amount < 0 && index >= 0; index--) {
    const give = Math.min(charges[index]!.amount, -last.amount);
    charges[index]!.amount -= give;
    last.amount += give;
  }
  return charges;
}
