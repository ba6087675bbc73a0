/** Bundle pools: a voice package holds minutes of exactly these classes. */
export const POOLS = ['de-fixed', 'de-mobile'] as const;
export type Pool = (typeof POOLS)[number];

/** Seconds one voice package adds to each pool per calendar month (1000 fixed + 700 mobile minutes). */
export const PACKAGE_SECONDS: Readonly<Record<Pool, number>> = { 'de-fixed': 1000 * 60, 'de-mobile': 700 * 60 };

export function poolOf(destinationClass: string): Pool | undefined {
  return (POOLS as readonly string[]).includes(destinationClass) ? (destinationClass as Pool) : undefined;
}
