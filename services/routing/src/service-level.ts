import type { CallState } from './call-state.js';

// Service level today, per tenant and department, kept in memory from the call states every
// replica's `routing-calls` watch delivers anyway (and reads whole at start: the bucket keeps a
// day of calls), so it costs no write per call. Each call counts once, by its final step.

/** "Answered within 30 s": the wait the service level measures. */
export const SERVICE_LEVEL_THRESHOLD_MS = 30_000;

export interface ServiceLevelCounts {
  /** Waited in the queue and an agent answered. */
  answered: number;
  /** Of those, answered within SERVICE_LEVEL_THRESHOLD_MS of joining the queue. */
  answeredWithinThreshold: number;
  /** Hung up while waiting (or while an agent rang). */
  abandoned: number;
  /** Left the queue unanswered by routing: overflow, the department closing, the callback key. */
  leftUnanswered: number;
}

export interface ServiceLevelDay {
  /** The Berlin calendar day the counts are for (YYYY-MM-DD). */
  day: string;
  counts: ServiceLevelCounts;
}

const berlinDay = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Berlin',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

export function berlinDate(epochMs: number): string {
  return berlinDay.format(new Date(epochMs));
}

type Outcome = 'answered' | 'abandoned' | 'left';

/** How a call's wait in the queue ended, from its final state; undefined while not final or never queued. */
function outcomeOf(state: CallState): Outcome | undefined {
  if (!state.departmentId || !state.enqueuedAt) return undefined;
  if (state.answeredAt !== undefined && (state.step === 'bridged' || state.step === 'ended')) return 'answered';
  if (state.step !== 'ended') return undefined;
  return state.endedReason === 'abandoned' ? 'abandoned' : 'left';
}

export class ServiceLevels {
  private day = '';
  private readonly counts = new Map<string, ServiceLevelCounts>();
  /** Calls counted today: a state seen again (a restart's read, a watch resumed) is not counted twice. */
  private readonly counted = new Set<string>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  /**
   * A call state from the watch. `storedAt` is when the bucket stored it (the entry's time): the
   * end of a wait that was not answered; an answered one ends at the state's `answeredAt`.
   */
  observe(key: string, state: CallState | undefined, storedAt: number): void {
    if (!state) return;
    const outcome = outcomeOf(state);
    if (!outcome) return;
    this.roll();
    if (this.counted.has(key)) return;
    const endedAt = outcome === 'answered' ? state.answeredAt! : storedAt;
    if (berlinDate(endedAt) !== this.day) return;
    this.counted.add(key);
    for (const earlier of state.earlierWaits ?? []) {
      if (berlinDate(earlier.endedAt) === this.day)
        this.countsOf(state.tenantId, earlier.departmentId, true)!.leftUnanswered += 1;
    }
    const counts = this.countsOf(state.tenantId, state.departmentId!, true)!;
    if (outcome === 'answered') {
      counts.answered += 1;
      if (state.answeredAt! - state.enqueuedAt! <= SERVICE_LEVEL_THRESHOLD_MS) counts.answeredWithinThreshold += 1;
    } else if (outcome === 'abandoned') counts.abandoned += 1;
    else counts.leftUnanswered += 1;
  }

  /** Today's counts of one department (zeros when none of its calls ended today). */
  today(tenantId: string, departmentId: string): ServiceLevelDay {
    this.roll();
    const counts = this.countsOf(tenantId, departmentId, false);
    return {
      day: this.day,
      counts: { ...(counts ?? { answered: 0, answeredWithinThreshold: 0, abandoned: 0, leftUnanswered: 0 }) },
    };
  }

  /** The departments of a tenant with any call ended today. */
  departments(tenantId: string): string[] {
    this.roll();
    const prefix = `${tenantId}\u0000`;
    return [...this.counts.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
  }

  /** A new Berlin day starts from zero. */
  private roll(): void {
    const today = berlinDate(this.now());
    if (today === this.day) return;
    this.day = today;
    this.counts.clear();
    this.counted.clear();
  }

  private countsOf(tenantId: string, departmentId: string, create: boolean): ServiceLevelCounts | undefined {
    const key = `${tenantId}\u0000${departmentId}`;
    let counts = this.counts.get(key);
    if (!counts && create) {
      counts = { answered: 0, answeredWithinThreshold: 0, abandoned: 0, leftUnanswered: 0 };
      this.counts.set(key, counts);
    }
    return counts;
  }
}
