import type { MediaChange } from '@switchboard/ari-sim';

/** A stretch of wall-clock time, epoch ms, `from` inclusive. */
export interface Interval {
  from: number;
  to: number;
}

/**
 * The stretches of `[upAt, endAt)` in which the channel heard nothing (no prompt, music, ringback
 * or partner), from its media timeline. Before its first change a channel hears nothing.
 */
export function silences(changes: readonly MediaChange[], upAt: number, endAt: number): Interval[] {
  const result: Interval[] = [];
  if (endAt <= upAt) return result;
  let silentSince: number | undefined = upAt;
  for (const change of changes) {
    if (change.at >= endAt) break;
    const at = Math.max(change.at, upAt);
    if (change.heard.length > 0) {
      if (silentSince !== undefined && at > silentSince) result.push({ from: silentSince, to: at });
      silentSince = undefined;
    } else if (silentSince === undefined) {
      silentSince = at;
    }
  }
  if (silentSince !== undefined && endAt > silentSince) result.push({ from: silentSince, to: endAt });
  return result;
}

/** The longest of the intervals (the first of equals), or undefined when there are none. */
export function longest(intervals: readonly Interval[]): Interval | undefined {
  let best: Interval | undefined;
  for (const interval of intervals) {
    if (!best || interval.to - interval.from > best.to - best.from) best = interval;
  }
  return best;
}

export const lengthOf = (interval: Interval | undefined): number => (interval ? interval.to - interval.from : 0);

/** The intervals that begin within `[from, to]`: the silences a fault in that window can have caused. */
export function beginningIn(intervals: readonly Interval[], from: number, to: number): Interval[] {
  return intervals.filter((interval) => interval.from >= from && interval.from <= to);
}
