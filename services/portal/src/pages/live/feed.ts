import { presenceV1, type routingV1 } from '@switchboard/proto';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { userMetadata } from '../../rpc.js';
import { api, departmentScope, sessionOf } from '../../routes.js';

export interface LiveDepartment {
  departmentId: string;
  name: string;
}

/** What the live view shows: the departments the user may see, their agents and waiting callers. */
export interface LiveView {
  departments: readonly LiveDepartment[];
  /** By agent id; an agent is listed under every department of theirs in `departments`. */
  agents: ReadonlyMap<string, presenceV1.Agent>;
  /** Waiting callers by department, first in line first. */
  queues: ReadonlyMap<string, readonly routingV1.QueueEntry[]>;
  /** Today's service level by department, as routing counts it (GetServiceLevel). */
  serviceLevels: ReadonlyMap<string, routingV1.DepartmentServiceLevel>;
}

/**
 * Routing's definition: the share of today's ended queue waits answered within the threshold;
 * undefined when no wait ended today (no share to show, not 0 %).
 */
export function serviceLevelPercent(level: routingV1.DepartmentServiceLevel | undefined): number | undefined {
  if (!level?.offered) return undefined;
  return Math.round((level.answeredWithinThreshold / level.offered) * 100);
}

/**
 * The tenant's departments a user may see: all of them for an admin or operator (ListDepartments),
 * a department lead's own (GetDepartment each, as the directory lets a lead read only those).
 */
export async function visibleDepartments(c: PortalContext): Promise<LiveDepartment[]> {
  const tenantId = c.var.tenantId;
  const directory = api(c).directory;
  const scope = departmentScope(c);
  const departments = scope
    ? await Promise.all(
        [...scope].map((departmentId) =>
          directory.getDepartment({ tenantId, departmentId }).then(
            (response) => response.department,
            (error: unknown) => {
              // A lead's token may name a department deleted since: nothing to show for it.
              if (error instanceof PortalError && error.status === 404) return undefined;
              throw error;
            },
          ),
        ),
      )
    : (await directory.listDepartments({ tenantId })).departments;
  return departments
    .flatMap((department) => (department ? [{ departmentId: department.departmentId, name: department.name }] : []))
    .sort((a, b) => a.name.localeCompare(b.name, 'de'));
}

/**
 * The requests a user's scope needs: one for the whole tenant (empty department) when they see
 * all of it, else one per department, since presence and routing let a lead ask only for theirs.
 */
function scopeKeys(c: PortalContext, departments: readonly LiveDepartment[]): string[] {
  return departmentScope(c) ? departments.map((department) => department.departmentId) : [''];
}

/** The live view now: agents from presence (ListAgents), waiting callers from routing (GetQueue). */
export class LiveFeed {
  readonly agents = new Map<string, presenceV1.Agent>();
  readonly queues = new Map<string, readonly routingV1.QueueEntry[]>();
  readonly serviceLevels = new Map<string, routingV1.DepartmentServiceLevel>();

  constructor(
    private readonly c: PortalContext,
    readonly departments: readonly LiveDepartment[],
  ) {}

  get view(): LiveView {
    return {
      departments: this.departments,
      agents: this.agents,
      queues: this.queues,
      serviceLevels: this.serviceLevels,
    };
  }

  async load(): Promise<void> {
    const tenantId = this.c.var.tenantId;
    const presence = api(this.c).presence;
    const lists = await Promise.all(
      scopeKeys(this.c, this.departments).map((departmentId) => presence.listAgents({ tenantId, departmentId })),
    );
    this.agents.clear();
    for (const agent of lists.flatMap((list) => list.agents)) this.agents.set(agent.agentId, agent);
    await this.pollQueues();
  }

  /** Reads every department's queue and today's service level again; true when any changed. */
  async pollQueues(): Promise<boolean> {
    const tenantId = this.c.var.tenantId;
    const routing = api(this.c).routing;
    const departmentIds = this.departments.map((department) => department.departmentId);
    // No departments: nothing to ask (routing refuses a lead a request naming none).
    const [queues, levels] = await Promise.all([
      Promise.all(
        departmentIds.map(async (departmentId) => {
          const { entries } = await routing.getQueue({ tenantId, departmentId });
          return [departmentId, entries] as const;
        }),
      ),
      departmentIds.length ? routing.getServiceLevel({ tenantId, departmentIds }) : { departments: [] },
    ]);
    let changed = false;
    for (const level of levels.departments) {
      const before = this.serviceLevels.get(level.departmentId);
      if (!before || JSON.stringify(before) !== JSON.stringify(level)) changed = true;
      this.serviceLevels.set(level.departmentId, level);
    }
    for (const [departmentId, entries] of queues) {
      const before = this.queues.get(departmentId);
      if (!before || JSON.stringify(before) !== JSON.stringify(entries)) changed = true;
      this.queues.set(departmentId, entries);
    }
    return changed;
  }

  /**
   * Follows presence's WatchAgents (the current state of each agent, then every change) with the
   * user's token, so presence applies its aggregate-only view to them as to any API caller.
   * `onChange` after each agent update; `onEnd` once when a watch fails or ends. Returns the stop.
   */
  async watchAgents(onChange: () => void, onEnd: (error: Error) => void): Promise<() => void> {
    const { deps, tenantId } = this.c.var;
    const metadata = await userMetadata(deps.tokens, sessionOf(this.c));
    const client = deps.clients.client('presence');
    let stopped = false;
    const calls = scopeKeys(this.c, this.departments).map((departmentId) => {
      const call = client.watchAgents({ tenantId, departmentId }, metadata);
      call.on('data', (response: presenceV1.WatchAgentsResponse) => {
        if (!response.agent) return;
        this.agents.set(response.agent.agentId, response.agent);
        onChange();
      });
      const end = (error: Error) => {
        if (stopped) return;
        stopped = true;
        onEnd(error);
      };
      call.on('error', end);
      call.on('end', () => end(new Error('presence ended the agent watch')));
      return call;
    });
    return () => {
      stopped = true;
      for (const call of calls) call.cancel();
    };
  }
}

/** Presence hides every working state of other people in aggregate-only mode (never otherwise). */
export const isAggregateOnly = (view: LiveView) =>
  [...view.agents.values()].some((agent) => agent.state === presenceV1.AgentState.AGENT_STATE_UNSPECIFIED);
