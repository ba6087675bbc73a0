import { routingMetrics } from '../metrics.js';
import type { WaitEstimates } from '../wait-estimates.js';
import type { CallFlow } from './driver.js';

export type WaitOutcome = 'answered' | 'abandoned' | 'overflowed' | 'closed' | 'callback';

/** One call's share of the queue metrics, each counted once however the flow goes. */
export class CallMetrics {
  private holdsQueue = false;
  private answeredCounted = false;

  constructor(
    private readonly call: CallFlow,
    private readonly waits: WaitEstimates,
  ) {}

  get answered(): boolean {
    return this.answeredCounted;
  }

  get inQueue(): boolean {
    return this.holdsQueue;
  }

  enterQueue(): void {
    if (this.holdsQueue) return;
    this.holdsQueue = true;
    const { state } = this.call;
    routingMetrics.queued.add(1, { tenant: state.tenantId, department: state.departmentId ?? '' });
  }

  leaveQueue(): void {
    if (!this.holdsQueue) return;
    this.holdsQueue = false;
    const { state } = this.call;
    routingMetrics.queued.add(-1, { tenant: state.tenantId, department: state.departmentId ?? '' });
  }

  /** The caller's wait in `departmentId` ended with `outcome`. */
  recordWait(departmentId: string, outcome: WaitOutcome): void {
    const { state } = this.call;
    routingMetrics.wait.record((Date.now() - (state.enqueuedAt ?? Date.now())) / 1000, {
      tenant: state.tenantId,
      department: departmentId,
      outcome,
    });
  }

  countAnswered(departmentId: string): void {
    if (this.answeredCounted) return;
    this.answeredCounted = true;
    const { state } = this.call;
    routingMetrics.answered.add(1, { tenant: state.tenantId, department: departmentId });
    if (state.enqueuedAt) this.waits.record(state.tenantId, departmentId, Date.now() - state.enqueuedAt);
    this.recordWait(departmentId, 'answered');
    this.leaveQueue();
  }

  countAbandoned(departmentId: string): void {
    routingMetrics.abandoned.add(1, { tenant: this.call.state.tenantId, department: departmentId });
    this.recordWait(departmentId, 'abandoned');
  }
}
