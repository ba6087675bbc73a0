/** Asterisk's event timestamp: milliseconds and `+0000`, no colon (`2026-11-27T22:08:42.107+0000`). */
export function ariTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * Scaled one-shot timers. Every simulated delay goes through here so `timeScale` applies
 * everywhere, and `stop()` can cancel whatever is still pending. Timers fire once; nothing polls.
 */
export class Clock {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(readonly timeScale: number) {}

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        fn();
      },
      Math.max(0, ms * this.timeScale),
    );
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  stop(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
