// How long a department's callers recently waited until an agent answered, kept in this
// replica's memory. Replicas share nothing: the work queue hands each replica a random part of
// every department's calls, so each one's window is a sample of the same waits (a replica that
// just started says nothing until it has seen enough). No write per call.

export interface WaitEstimateOptions {
  /** Answers older than this are forgotten. */
  windowMs: number;
  /** Fewer answers in the window: no estimate (suppressed rather than guessed). */
  minSamples: number;
}

/** Answers kept per department at most: enough for a busy hour, bounded memory. */
const MAX_SAMPLES = 50;

export class WaitEstimates {
  private readonly answers = new Map<string, Array<{ at: number; waitMs: number }>>();

  constructor(private readonly options: WaitEstimateOptions) {}

  /** An answered caller of the department waited this long in its queue. */
  record(tenantId: string, departmentId: string, waitMs: number, at = Date.now()): void {
    const key = `${tenantId}.${departmentId}`;
    let samples = this.answers.get(key);
    if (!samples) this.answers.set(key, (samples = []));
    samples.push({ at, waitMs });
    if (samples.length > MAX_SAMPLES) samples.shift();
  }

  /**
   * The rest of the wait a caller who has waited `waitedMs` can expect: the mean wait of the
   * department's answers in the window, less what they waited already (never below zero).
   * Undefined when too few answers are recent enough to say.
   */
  remainingMs(tenantId: string, departmentId: string, waitedMs: number, now = Date.now()): number | undefined {
    const samples = this.answers.get(`${tenantId}.${departmentId}`) ?? [];
    const recent = samples.filter((sample) => now - sample.at <= this.options.windowMs);
    if (recent.length < this.options.minSamples) return undefined;
    const mean = recent.reduce((sum, sample) => sum + sample.waitMs, 0) / recent.length;
    return Math.max(mean - waitedMs, 0);
  }
}
