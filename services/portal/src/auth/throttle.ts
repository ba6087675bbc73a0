/**
 * Failed sign-ins per client address within a sliding window. Past the limit the address must
 * wait (429 with Retry-After) until its oldest failure in the window is old enough — whichever
 * accounts it tries, so guessing across many usernames is slowed as much as guessing one. Kept
 * in memory per replica: a restart forgets it, the per-account lock-out (in Mongo) does not.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds the address must wait before trying again; 0 = it may try. */
  waitMs(address: string, now: number): number {
    const recent = this.recent(address, now);
    return recent.length < this.limit ? 0 : recent[recent.length - this.limit]! + this.windowMs - now;
  }

  fail(address: string, now: number): void {
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.set(address, recent);
  }

  private recent(address: string, now: number): number[] {
    const kept = (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
    if (kept.length) this.failures.set(address, kept);
    else this.failures.delete(address);
    return kept;
  }
}
