/** Nearest-rank percentile of unsorted samples; 0 when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}

export function average(samples: readonly number[]): number {
  return samples.length === 0 ? 0 : samples.reduce((sum, value) => sum + value, 0) / samples.length;
}

/** How a caller's call ended, as the demo counts it. */
export type Outcome = 'answered' | 'abandoned' | 'busy' | 'other';

export interface DepartmentSummary {
  offered: number;
  answered: number;
  abandoned: number;
  busy: number;
  other: number;
  waitP50Ms: number;
  waitP95Ms: number;
}

/**
 * The result of a run. offered = answered + abandoned + busy + other + unfinished; `other` are
 * calls that ended without an agent and not by the caller (voicemail, closed announcement, ...).
 */
export interface Summary {
  offered: number;
  answered: number;
  abandoned: number;
  busy: number;
  other: number;
  unfinished: number;
  maxConcurrent: number;
  waitAvgMs: number;
  waitP50Ms: number;
  waitP95Ms: number;
  perDepartment: Record<string, DepartmentSummary>;
}

export interface FinishedCall {
  department: string;
  outcome: Outcome;
  /** Caller's StasisStart → agent leg answered; only for answered calls. */
  waitMs?: number;
}

export function summarize(finished: readonly FinishedCall[], unfinished: number, maxConcurrent: number): Summary {
  const count = (calls: readonly FinishedCall[], outcome: Outcome) => calls.filter((c) => c.outcome === outcome).length;
  const waits = (calls: readonly FinishedCall[]) =>
    calls.flatMap((call) => (call.waitMs === undefined ? [] : [call.waitMs]));
  const perDepartment: Record<string, DepartmentSummary> = {};
  for (const department of [...new Set(finished.map((call) => call.department))].sort()) {
    const calls = finished.filter((call) => call.department === department);
    perDepartment[department] = {
      offered: calls.length,
      answered: count(calls, 'answered'),
      abandoned: count(calls, 'abandoned'),
      busy: count(calls, 'busy'),
      other: count(calls, 'other'),
      waitP50Ms: Math.round(percentile(waits(calls), 50)),
      waitP95Ms: Math.round(percentile(waits(calls), 95)),
    };
  }
  const all = waits(finished);
  return {
    offered: finished.length + unfinished,
    answered: count(finished, 'answered'),
    abandoned: count(finished, 'abandoned'),
    busy: count(finished, 'busy'),
    other: count(finished, 'other'),
    unfinished,
    maxConcurrent,
    waitAvgMs: Math.round(average(all)),
    waitP50Ms: Math.round(percentile(all, 50)),
    waitP95Ms: Math.round(percentile(all, 95)),
    perDepartment,
  };
}
