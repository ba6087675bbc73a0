import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestRemainder } from './largest-remainder.js';

describe('largestRemainder', () => {
  it('gives whole units to the largest remainders, ties to the lower index', () => {
    expect(largestRemainder(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(largestRemainder(10, [3, 3, 4])).toEqual([3, 3, 4]);
    expect(largestRemainder(1, [0, 0])).toEqual([1, 0]);
    expect(largestRemainder(-100, [1, 1, 1])).toEqual([-33, -33, -34]);
  });

  it('splits equally when the weights add up to zero', () => {
    expect(largestRemainder(5, [0, 0, 0])).toEqual([2, 2, 1]);
  });

  it('always adds up exactly and stays within one unit of the exact quota', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000_000 }), { minLength: 1, maxLength: 60 }),
        (total, weights) => {
          const shares = largestRemainder(total, weights);
          expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
          const sum = weights.reduce((a, b) => a + b, 0);
          shares.forEach((share, index) => {
            const quota = sum === 0 ? total / weights.length : (total * (weights[index] ?? 0)) / sum;
            expect(Math.abs(share - quota)).toBeLessThan(1 + 1e-6);
          });
        },
      ),
      { seed: 20260301, numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    const weights = [5, 7, 7, 11, 0, 3];
    expect(largestRemainder(1234, weights)).toEqual(largestRemainder(1234, weights));
  });
});
