import type { MediaChange } from '@switchboard/ari-sim';
import { describe, expect, it } from 'vitest';
import { beginningIn, lengthOf, longest, silences } from './gaps.js';

const change = (at: number, ...heard: MediaChange['heard']): MediaChange => ({ at, heard });

describe('silences', () => {
  it('finds the stretches with nothing to hear between the answer and the hang-up', () => {
    // Answered at 100; the menu prompt 150–4150, the key at 4400, a submenu prompt 4500–6500,
    // music 7000–20000, then the agent until the end at 30000.
    const timeline = [
      change(150, 'playback'),
      change(4_150),
      change(4_500, 'playback'),
      change(6_500),
      change(7_000, 'moh'),
      change(20_000, 'moh', 'bridged'),
      change(20_010, 'bridged'),
      change(30_000),
    ];
    expect(silences(timeline, 100, 30_000)).toEqual([
      { from: 100, to: 150 },
      { from: 4_150, to: 4_500 },
      { from: 6_500, to: 7_000 },
    ]);
  });

  it('counts a channel that never heard anything as silent throughout', () => {
    expect(silences([], 1_000, 5_000)).toEqual([{ from: 1_000, to: 5_000 }]);
  });

  it('clips to the time the call was up: earlier and later changes only set the state', () => {
    const timeline = [change(0, 'playback'), change(500), change(2_000, 'moh'), change(9_000)];
    expect(silences(timeline, 1_000, 8_000)).toEqual([{ from: 1_000, to: 2_000 }]);
    expect(silences([change(0, 'moh')], 1_000, 8_000)).toEqual([]);
  });

  it('ends a silence that lasts until the hang-up at the hang-up', () => {
    expect(silences([change(100, 'bridged'), change(3_000)], 0, 3_500)).toEqual([
      { from: 0, to: 100 },
      { from: 3_000, to: 3_500 },
    ]);
  });

  it('has none when the call was never up', () => {
    expect(silences([change(1, 'playback')], 5_000, 5_000)).toEqual([]);
  });
});

describe('longest', () => {
  it('picks the longest stretch, the first of equals', () => {
    const gap = longest([
      { from: 0, to: 10 },
      { from: 20, to: 50 },
      { from: 60, to: 90 },
    ]);
    expect(gap).toEqual({ from: 20, to: 50 });
    expect(lengthOf(gap)).toBe(30);
    expect(longest([])).toBeUndefined();
    expect(lengthOf(undefined)).toBe(0);
  });
});

describe('beginningIn', () => {
  it('keeps the silences that begin inside the window, however long they last', () => {
    const intervals = [
      { from: 0, to: 500_000 },
      { from: 10_000, to: 12_000 },
      { from: 20_000, to: 260_000 },
      { from: 30_001, to: 31_000 },
    ];
    expect(beginningIn(intervals, 10_000, 30_000)).toEqual([
      { from: 10_000, to: 12_000 },
      { from: 20_000, to: 260_000 },
    ]);
  });
});
