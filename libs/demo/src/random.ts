import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

const STEPS = 1_000_000;

/** Seeded randomness for the simulation (pure-rand): the same seed gives the same callers and staff. */
export class Random {
  private readonly generator: RandomGenerator;

  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return unsafeUniformIntDistribution(0, STEPS - 1, this.generator) / STEPS;
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)]!;
  }

  /** Waiting time to the next arrival of a Poisson process with `ratePerSecond`, in ms. */
  interArrivalMs(ratePerSecond: number): number {
    return (-Math.log(1 - this.next()) / ratePerSecond) * 1_000;
  }
}
