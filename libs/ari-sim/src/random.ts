/** A delay in milliseconds: fixed, or drawn uniformly from `[min, max]` each time. */
export type DelaySpec = number | readonly [number, number];

/**
 * mulberry32: a small seeded generator, so a run with the same seed draws the same delays and a
 * failure it shows can be replayed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws delays as `spec` says; a range uses `random`. Refuses negative or reversed ranges. */
export function delaySource(spec: DelaySpec, random: () => number): () => number {
  const [min, max] = typeof spec === 'number' ? [spec, spec] : spec;
  if (!(min >= 0) || !(max >= min)) throw new RangeError(`invalid delay ${JSON.stringify(spec)}: need 0 <= min <= max`);
  return () => min + (max - min) * random();
}
