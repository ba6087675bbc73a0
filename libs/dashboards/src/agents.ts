import { TENANT, TENANT_DEPARTMENT } from './selectors.js';
import type { BuildOptions, DashboardSpec, PanelSpec } from './spec.js';

const inState = (state: string, title: string, description: string): PanelSpec => ({
  title,
  description,
  kind: 'timeseries',
  unit: 'short',
  queries: [
    {
      expr: `sum by (department) (presence_agents{${TENANT_DEPARTMENT},state="${state}"})`,
      legend: '{{department}}',
    },
  ],
  width: 8,
});

// Busy = talking, ringing or wrapping up; present = everyone not away or offline.
const utilisation =
  `sum by (department) (presence_agents{${TENANT_DEPARTMENT},state=~"on_call|ringing|wrap_up"})` +
  ` / sum by (department) (presence_agents{${TENANT_DEPARTMENT},state!~"away|offline"})`;

const perAgentPanels: readonly PanelSpec[] = [
  {
    title: 'Agent states (per person)',
    description:
      'Current state of each agent. Only generated with --per-agent, for sites whose staff council agreed; ' +
      'a tenant in aggregate-only statistics mode has no such series (presence never exports them).',
    kind: 'table',
    unit: 'short',
    queries: [{ expr: `max by (agent, state) (presence_agent_state{${TENANT}}) == 1`, legend: '{{agent}} {{state}}' }],
    width: 24,
  },
];

export function agentsDashboard(options: BuildOptions): DashboardSpec {
  return {
    name: 'agents',
    title: 'Switchboard / Agents',
    description:
      'Agents available, on call and in wrap-up per department, and utilisation. Aggregates only by default.',
    variables: ['tenant', 'department'],
    panels: [
      inState('available', 'Available agents', 'Agents free to take a call, per department.'),
      inState('on_call', 'Agents on call', 'Agents talking to a caller, per department.'),
      inState('wrap_up', 'Agents in wrap-up', 'Agents finishing the last call, per department.'),
      {
        title: 'Utilisation',
        description: 'Busy agents (ringing, on call, wrap-up) over present agents (not away or offline).',
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [{ expr: utilisation, legend: '{{department}}' }],
        width: 24,
      },
      ...(options.perAgent ? perAgentPanels : []),
    ],
  };
}
