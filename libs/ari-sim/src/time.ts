/** Asterisk's event timestamp: milliseconds and `+0000`, no colon (`2026-11-27T22:08:42.107+0000`). */
export function ariTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * One-shot timers. Every delay goes through here so `timeScale` applies to each simulated one,
 * and `stop()` can cancel whatever is still pending. Timers fire once; nothing polls.
 */
export class Clock {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(readonly timeScale: number) {}

  /** After `ms` of simulated time (scaled). */
  after(ms: number, fn: () => void): NodeJS.Timeout {
    return this.schedule(ms * this.timeScale, fn);
  }

  /**
   * After `ms` of wall-clock time, whatever the scale: for Asterisk's own processing latency, which
   * belongs to the machine, not to the call's simulated timeline.
   */
  afterWallClock(ms: number, fn: () => void): NodeJS.Timeout {
    return this.schedule(ms, fn);
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  private schedule(delayMs: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        fn();
      },
      Math.max(0, delayMs),
    );
    this.pending.add(timer);
    return timer;
  }

  stop(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
