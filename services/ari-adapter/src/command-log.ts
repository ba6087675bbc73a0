/**
 * Remembers the result of each completed command id for a while, so a command that is sent again
 * (a retry after a lost reply) returns the first execution's result instead of acting twice.
 * Repeats that arrive while the first execution runs share it. A failure is not remembered: the
 * caller retries after a failure, and that retry must run again, not replay the failure.
 */
export class CommandLog {
  private readonly results = new Map<string, { result: Promise<unknown>; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  run<T>(key: string, execute: () => Promise<T>): Promise<T> {
    this.evictExpired();
    const known = this.results.get(key);
    if (known) return known.result as Promise<T>;
    const result = execute();
    const entry = { result, expires: this.now() + this.ttlMs };
    this.results.set(key, entry);
    result.catch(() => {
      // Only this execution's entry: a later one under the same id may have replaced it.
      if (this.results.get(key) === entry) this.results.delete(key);
    });
    return result;
  }

  get size(): number {
    return this.results.size;
  }

  private evictExpired(): void {
    const now = this.now();
    // Map iteration follows insertion order, which is expiry order: stop at the first live entry.
    for (const [key, entry] of this.results) {
      if (entry.expires > now) break;
      this.results.delete(key);
    }
  }
}
