// Runs dashboard panel queries against a Prometheus until each returns data or time runs out,
// and says which stayed empty or failed: what an end-to-end run asserts on.
import type { PanelQuery } from '@switchboard/dashboards';
import type { Prometheus } from './prometheus.js';

export interface PanelCheck {
  /** Queries that returned at least one series. */
  readonly withData: PanelQuery[];
  /** Queries still empty when time ran out. */
  readonly empty: PanelQuery[];
  /** Queries Prometheus rejected, with its message. */
  readonly failed: Array<{ query: PanelQuery; error: string }>;
}

export async function waitForPanelData(
  prometheus: Prometheus,
  queries: readonly PanelQuery[],
  timeoutMs = 30_000,
): Promise<PanelCheck> {
  const deadline = Date.now() + timeoutMs;
  const withData: PanelQuery[] = [];
  const failed: PanelCheck['failed'] = [];
  let pending = [...queries];
  for (;;) {
    const stillEmpty: PanelQuery[] = [];
    for (const query of pending) {
      try {
        if ((await prometheus.query(query.expr)).length > 0) withData.push(query);
        else stillEmpty.push(query);
      } catch (error) {
        failed.push({ query, error: (error as Error).message });
      }
    }
    pending = stillEmpty;
    if (pending.length === 0 || Date.now() > deadline) return { withData, empty: pending, failed };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** `dashboard / panel (refId)`, for assertion messages. */
export const describePanel = (query: PanelQuery) => `${query.dashboard} / ${query.panel} (${query.refId})`;
