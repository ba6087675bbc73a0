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

/** A member this request may take: available, reachable (as dialTarget decides), not excluded, skilled. */
function isFree(agent: Agent, wanted: Wanted): boolean {
  return (
    agent.state === AgentState.AGENT_STATE_AVAILABLE &&
    ((agent.homeOffice && agent.homeOfficeNumber !== '') || Boolean(agent.devices[0])) &&
    !wanted.excludeAgentIds.includes(agent.agentId) &&
    (wanted.strategy !== Strategy.STRATEGY_SKILLS || skillScore(agent, wanted.requiredSkills) !== undefined)
  );
}

/** A free agent this request may take: a member, available, reachable, not excluded, skilled. */
export function isEligible(agent: Agent, wanted: Wanted): boolean {
  return isMember(agent, wanted.departmentId) && isFree(agent, wanted);
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
 * `list` best first by `compare`, lazily: the best is found in one pass, and the rest is sorted
 * only when the caller asks for more (the best was taken by another replica meanwhile). A
 * reservation usually takes the first, so a large department costs a scan, not a sort.
 */
function* bestFirst(list: readonly Agent[], compare: (a: Agent, b: Agent) => number): Generator<Agent> {
  if (list.length === 0) return;
  let best = 0;
  for (let index = 1; index < list.length; index++) {
    if (compare(list[index]!, list[best]!) < 0) best = index;
  }
  yield list[best]!;
  yield* list.filter((_, index) => index !== best).sort(compare);
}

/**
 * The department's agents this request may take, best first, by the request's strategy: only
 * those of the best tier that has a free member. Tier 1 is the lowest member priority present in
 * the department; a higher tier is offered only when no lower-tier member is free and, when the
 * department has a tier delay and the request says how long the caller waited, only once the
 * caller waited that long. `agents` may hold others than the department's members (they are
 * left out); the store hands over the department's members only.
 */
export function candidates(agents: readonly Agent[], wanted: Wanted): Iterable<Agent> {
  if (wanted.strategy === Strategy.STRATEGY_SKILLS && wanted.requiredSkills.length === 0) {
    throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'STRATEGY_SKILLS needs at least one required skill');
  }
  let firstTier = Infinity;
  let delaySeconds = 0;
  let best = Infinity;
  const eligible: Agent[] = [];
  const tiers: number[] = [];
  for (const agent of agents) {
    const member = membership(agent, wanted.departmentId);
    if (!member) continue;
    const tier = member.priority ?? 0;
    if (tier < firstTier) firstTier = tier;
    // Every membership carries the department's delay; while a change is applied, the longer holds.
    if ((member.tierDelaySeconds ?? 0) > delaySeconds) delaySeconds = member.tierDelaySeconds ?? 0;
    if (isFree(agent, wanted)) {
      eligible.push(agent);
      tiers.push(tier);
      if (tier < best) best = tier;
    }
  }
  if (eligible.length === 0) return [];
  if (best > firstTier && wanted.waitedSeconds !== undefined && wanted.waitedSeconds < delaySeconds) return [];
  const tier = eligible.filter((_, index) => tiers[index] === best);
  switch (wanted.strategy) {
    case Strategy.STRATEGY_ROUND_ROBIN: {
      const free = new Set(tier);
      return roundRobinOrder(
        agents.filter((agent) => isMember(agent, wanted.departmentId)),
        wanted.departmentId,
      ).filter((agent) => free.has(agent));
    }
    case Strategy.STRATEGY_SKILLS: {
      const score = new Map(tier.map((agent) => [agent, skillScore(agent, wanted.requiredSkills)!]));
      return bestFirst(tier, (a, b) => score.get(a)! - score.get(b)! || byLongestIdle(a, b));
    }
    default:
      return bestFirst(tier, byLongestIdle);
  }
}
