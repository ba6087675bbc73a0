import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A delay in milliseconds: fixed, or drawn uniformly from `[min, max]` each time. */
export type DelaySpec = number | readonly [number, number];

/**
 * A seeded generator (pure-rand's xoroshiro128+), so a run with the same seed draws the same
 * delays and a failure it shows can be replayed.
 */
export function seededRandom(seed: number): () => number {
  const generator = xoroshiro128plus(seed);
  return () => uniformFloat64(generator);
}

/** Draws delays as `spec` says; a range uses `random`. Refuses negative or reversed ranges. */
export function delaySource(spec: DelaySpec, random: () => number): () => number {
  const [min, max] = typeof spec === 'number' ? [spec, spec] : spec;
  if (!(min >= 0) || !(max >= min)) throw new RangeError(`invalid delay ${JSON.stringify(spec)}: need 0 <= min <= max`);
  return () => min + (max - min) * random();
}
