import { metrics } from '@opentelemetry/api';
import { presenceV1 } from '@switchboard/proto';
import type { AgentStore } from './agent-store.js';
import type { StatisticsPrivacy } from './privacy.js';

const meter = metrics.getMeter('@switchboard/presence');

/** Presence's own metrics (names `<domain>.<thing>`, UCUM units). */
export const presenceMetrics = {
  reservations: meter.createCounter('presence.reservations', {
    description: 'Reserve requests by strategy and outcome (reserved, none_free).',
    unit: '{request}',
  }),
  reserveDuration: meter.createHistogram('presence.reserve.duration', {
    description: 'Time to pick and reserve agents, including revision-checked writes.',
    unit: 's',
  }),
  conflicts: meter.createCounter('presence.write.conflicts', {
    description: 'Writes that lost a compare-and-set to another writer and were re-applied.',
    unit: '{write}',
  }),
  returned: meter.createCounter('presence.returned', {
    description: 'Agents returned to available by the sweeper, by reason (lease_expired, wrap_up_over, busy_over).',
    unit: '{agent}',
  }),
};

const STATES = [
  presenceV1.AgentState.AGENT_STATE_AVAILABLE,
  presenceV1.AgentState.AGENT_STATE_RINGING,
  presenceV1.AgentState.AGENT_STATE_ON_CALL,
  presenceV1.AgentState.AGENT_STATE_WRAP_UP,
  presenceV1.AgentState.AGENT_STATE_AWAY,
  presenceV1.AgentState.AGENT_STATE_OFFLINE,
  presenceV1.AgentState.AGENT_STATE_PHONE_BUSY,
];

/** `available`, `on_call`, ... as the metric attribute `state`. */
export function stateLabel(state: presenceV1.AgentState): string {
  return presenceV1.agentStateToJSON(state).replace('AGENT_STATE_', '').toLowerCase();
}

/** Agents per tenant, department and state, each state reported (0 too) so dashboards see every series. */
export function agentCounts(store: AgentStore): { tenant: string; department: string; state: string; count: number }[] {
  const rows: { tenant: string; department: string; state: string; count: number }[] = [];
  for (const tenant of store.tenants()) {
    const counts = new Map<string, Map<presenceV1.AgentState, number>>();
    for (const agent of store.list(tenant)) {
      for (const { departmentId } of agent.departments) {
        let byState = counts.get(departmentId);
        if (!byState) counts.set(departmentId, (byState = new Map()));
        byState.set(agent.state, (byState.get(agent.state) ?? 0) + 1);
      }
    }
    for (const [department, byState] of counts) {
      for (const state of STATES) {
        rows.push({ tenant, department, state: stateLabel(state), count: byState.get(state) ?? 0 });
      }
    }
  }
  return rows;
}

/**
 * One series per person (`presence.agent.state`): each agent's current state, for the tenants
 * known not to be in aggregate-only statistics mode. A tenant whose setting is not known yet has
 * none until it is (its load is started here).
 */
export function agentStates(
  store: AgentStore,
  privacy: StatisticsPrivacy,
): { tenant: string; agent: string; state: string }[] {
  const rows: { tenant: string; agent: string; state: string }[] = [];
  for (const tenant of store.tenants()) {
    if (privacy.known(tenant) !== false) {
      void privacy.aggregateOnly(tenant);
      continue;
    }
    for (const agent of store.list(tenant)) rows.push({ tenant, agent: agent.agentId, state: stateLabel(agent.state) });
  }
  return rows;
}

/**
 * The live-state gauges, read from this replica's copy of the bucket when Prometheus scrapes:
 * `presence.agents` always, `presence.agent.state` (one series per person) only when enabled.
 * Every replica holds the same copy, so dashboards take max (not sum) over replicas.
 */
export function observeAgents(store: AgentStore, perAgent: boolean, privacy: StatisticsPrivacy): () => void {
  const agents = meter.createObservableGauge('presence.agents', {
    description: 'Agents per department and state; an agent counts once per department membership.',
    unit: '{agent}',
  });
  const observeCounts = (result: { observe(value: number, attributes: Record<string, string>): void }) => {
    for (const { tenant, department, state, count } of agentCounts(store)) {
      result.observe(count, { tenant, department, state });
    }
  };
  agents.addCallback(observeCounts);
  if (!perAgent) return () => agents.removeCallback(observeCounts);

  const agentState = meter.createObservableGauge('presence.agent.state', {
    description:
      "1 for the agent's current state (enabled with PRESENCE_PER_AGENT_METRICS=true; never for aggregate-only tenants).",
    unit: '1',
  });
  const observeStates = (result: { observe(value: number, attributes: Record<string, string>): void }) => {
    for (const attributes of agentStates(store, privacy)) result.observe(1, attributes);
  };
  agentState.addCallback(observeStates);
  return () => {
    agents.removeCallback(observeCounts);
    agentState.removeCallback(observeStates);
  };
}
