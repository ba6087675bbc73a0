import { describe, expect, it } from 'vitest';
import { WaitEstimates } from './wait-estimates.js';

describe('WaitEstimates', () => {
  it('says nothing until enough recent answers, then the mean wait less what the caller waited', () => {
    const estimates = new WaitEstimates({ windowMs: 600_000, minSamples: 3 });
    const now = 10_000_000;
    estimates.record('t', 'd', 60_000, now - 30_000);
    estimates.record('t', 'd', 120_000, now - 20_000);
    expect(estimates.remainingMs('t', 'd', 0, now)).toBeUndefined();
    estimates.record('t', 'd', 180_000, now - 10_000);
    expect(estimates.remainingMs('t', 'd', 0, now)).toBe(120_000);
    expect(estimates.remainingMs('t', 'd', 90_000, now)).toBe(30_000);
    expect(estimates.remainingMs('t', 'd', 300_000, now)).toBe(0);
    // Another department, another tenant: their own windows.
    expect(estimates.remainingMs('t', 'other', 0, now)).toBeUndefined();
    expect(estimates.remainingMs('u', 'd', 0, now)).toBeUndefined();
  });

  it('forgets answers older than the window', () => {
    const estimates = new WaitEstimates({ windowMs: 60_000, minSamples: 2 });
    estimates.record('t', 'd', 30_000, 0);
    estimates.record('t', 'd', 90_000, 50_000);
    expect(estimates.remainingMs('t', 'd', 0, 55_000)).toBe(60_000);
    expect(estimates.remainingMs('t', 'd', 0, 70_000)).toBeUndefined();
  });
});
