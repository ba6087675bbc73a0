import * as grpc from '@grpc/grpc-js';
import { presenceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';

type Agent = presenceV1.Agent;
const { AgentState, Strategy } = presenceV1;

/** Where to dial the agent: the home/mobile number in home office, else the first device. */
export function dialTarget(agent: Agent): presenceV1.DialTarget | undefined {
  if (agent.homeOffice && agent.homeOfficeNumber) return { externalNumber: agent.homeOfficeNumber };
  const endpoint = agent.devices[0];
  return endpoint ? { endpoint } : undefined;
}

function membership(agent: Agent, departmentId: string): presenceV1.DepartmentMembership | undefined {
  return agent.departments.find((candidate) => candidate.departmentId === departmentId);
}

export function isMember(agent: Agent, departmentId: string): boolean {
  return membership(agent, departmentId) !== undefined;
}

export interface Wanted {
  departmentId: string;
  strategy: presenceV1.Strategy;
  requiredSkills: readonly string[];
  excludeAgentIds: readonly string[];
  /** How long the caller has waited, in seconds; undefined when the request did not say. */
  waitedSeconds: number | undefined;
}

/** A free agent this request may take: available, a member, reachable, not excluded, skilled. */
export function isEligible(agent: Agent, wanted: Wanted): boolean {
  return (
    agent.state === AgentState.AGENT_STATE_AVAILABLE &&
    isMember(agent, wanted.departmentId) &&
    dialTarget(agent) !== undefined &&
    !wanted.excludeAgentIds.includes(agent.agentId) &&
    (wanted.strategy !== Strategy.STRATEGY_SKILLS || skillScore(agent, wanted.requiredSkills) !== undefined)
  );
}

/** Sum of the agent's priorities for the required skills (lower is better); undefined if one is missing. */
function skillScore(agent: Agent, required: readonly string[]): number | undefined {
  let score = 0;
  for (const name of required) {
    const skill = agent.skills.find((candidate) => candidate.name === name);
    if (!skill) return undefined;
    score += skill.priority;
  }
  return score;
}

const byId = (a: Agent, b: Agent) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

function byLongestIdle(a: Agent, b: Agent): number {
  const idle = (agent: Agent) => agent.idleSince?.getTime() ?? 0;
  return idle(a) - idle(b) || byId(a, b);
}

/** Members in agent-id order, starting after the one reserved last for the department. */
function roundRobinOrder(members: Agent[], departmentId: string): Agent[] {
  const ordered = [...members].sort(byId);
  let last = -1;
  let lastAt = -Infinity;
  ordered.forEach((agent, index) => {
    const at = agent.lastReservedAt[departmentId]?.getTime();
    if (at !== undefined && at > lastAt) [last, lastAt] = [index, at];
  });
  return [...ordered.slice(last + 1), ...ordered.slice(0, last + 1)];
}

/**
 * The department's agents this request may take, best first, by the request's strategy: only
 * those of the best tier that has a free member. Tier 1 is the lowest member priority present in
 * the department; a higher tier is offered only when no lower-tier member is free and, when the
 * department has a tier delay and the request says how long the caller waited, only once the
 * caller waited that long.
 */
export function candidates(agents: readonly Agent[], wanted: Wanted): Agent[] {
  const ordered = byStrategy(agents, wanted);
  if (ordered.length === 0) return ordered;
  const tierOf = (agent: Agent) => membership(agent, wanted.departmentId)!.priority ?? 0;
  const best = Math.min(...ordered.map(tierOf));
  let firstTier = best;
  let delaySeconds = 0;
  for (const agent of agents) {
    const member = membership(agent, wanted.departmentId);
    if (!member) continue;
    firstTier = Math.min(firstTier, member.priority ?? 0);
    // Every membership carries the department's delay; while a change is applied, the longer holds.
    delaySeconds = Math.max(delaySeconds, member.tierDelaySeconds ?? 0);
  }
  if (best > firstTier && wanted.waitedSeconds !== undefined && wanted.waitedSeconds < delaySeconds) return [];
  return ordered.filter((agent) => tierOf(agent) === best);
}

function byStrategy(agents: readonly Agent[], wanted: Wanted): Agent[] {
  if (wanted.strategy === Strategy.STRATEGY_SKILLS && wanted.requiredSkills.length === 0) {
    throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'STRATEGY_SKILLS needs at least one required skill');
  }
  const eligible = (list: Agent[]) => list.filter((agent) => isEligible(agent, wanted));
  switch (wanted.strategy) {
    case Strategy.STRATEGY_ROUND_ROBIN:
      return eligible(
        roundRobinOrder(
          agents.filter((agent) => isMember(agent, wanted.departmentId)),
          wanted.departmentId,
        ),
      );
    case Strategy.STRATEGY_SKILLS:
      return eligible([...agents]).sort(
        (a, b) => skillScore(a, wanted.requiredSkills)! - skillScore(b, wanted.requiredSkills)! || byLongestIdle(a, b),
      );
    default:
      return eligible([...agents]).sort(byLongestIdle);
  }
}
