import { callControlV1 } from '@switchboard/proto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DigitCollector, type CollectSettings } from './digit-collector.js';

const { CollectEnd } = callControlV1;
const settings: CollectSettings = {
  maxDigits: 3,
  terminator: '#',
  firstDigitTimeoutMs: 5_000,
  interDigitTimeoutMs: 2_000,
  bargeIn: true,
};

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('DigitCollector', () => {
  it('ends at max digits', async () => {
    const collector = new DigitCollector(settings, false, () => undefined);
    for (const digit of '1234') collector.digit(digit);
    expect(await collector.result).toEqual({
      digits: '123',
      endedBy: CollectEnd.COLLECT_END_MAX_DIGITS,
      promptsFailed: false,
    });
  });

  it('ends at the terminator, which is not part of the digits', async () => {
    const collector = new DigitCollector(settings, false, () => undefined);
    collector.digit('4');
    collector.digit('#');
    expect(await collector.result).toEqual({
      digits: '4',
      endedBy: CollectEnd.COLLECT_END_TERMINATOR,
      promptsFailed: false,
    });
  });

  it('times out between digits, and only starts the first-digit timer after the prompts', async () => {
    const collector = new DigitCollector(settings, true, () => undefined);
    vi.advanceTimersByTime(60_000);
    collector.promptsFinished();
    vi.advanceTimersByTime(4_999);
    collector.digit('7');
    vi.advanceTimersByTime(2_000);
    expect(await collector.result).toEqual({
      digits: '7',
      endedBy: CollectEnd.COLLECT_END_TIMEOUT,
      promptsFailed: false,
    });
  });

  it('says when the prompts failed, and times out from their failure like from their end', async () => {
    const collector = new DigitCollector(settings, true, () => undefined);
    collector.promptFailed();
    collector.promptsFinished();
    vi.advanceTimersByTime(5_000);
    expect(await collector.result).toEqual({
      digits: '',
      endedBy: CollectEnd.COLLECT_END_TIMEOUT,
      promptsFailed: true,
    });
  });

  it('stops the prompts on a key press with barge-in, and ignores keys during prompts without it', async () => {
    const stop = vi.fn();
    const barging = new DigitCollector(settings, true, stop);
    barging.digit('2');
    expect(stop).toHaveBeenCalledOnce();
    barging.hangup();
    expect(await barging.result).toEqual({ digits: '2', endedBy: CollectEnd.COLLECT_END_HANGUP, promptsFailed: false });

    const polite = new DigitCollector({ ...settings, bargeIn: false }, true, stop);
    polite.digit('9');
    polite.promptsFinished();
    vi.advanceTimersByTime(5_000);
    expect(await polite.result).toEqual({ digits: '', endedBy: CollectEnd.COLLECT_END_TIMEOUT, promptsFailed: false });
  });
});
