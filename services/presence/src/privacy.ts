import { presenceV1 } from '@switchboard/proto';
import { tenantPrivacy, type DirectoryRpcClient } from '@switchboard/rpc-clients';
import { currentPrincipal, type Logger, type Principal, type RpcHandlers } from '@switchboard/service-kit';
import type { unaryMethods } from './presence.js';

type Agent = presenceV1.Agent;
const { AgentState } = presenceV1;

// A tenant's aggregate-only statistics mode (the directory's `privacy.aggregate_only_statistics`,
// often required by a works council): presence then gives no one but the person themselves (and
// Switchboard's own services, which route calls by it) anything from which per-person call
// figures follow — no working state, no since-when, no current or last call. Department and
// tenant aggregates (the `presence.agents` gauge, the agents dashboard) stay.

/** States that say nothing about calls: whether the person is there at all. */
const ABSENT = new Set([AgentState.AGENT_STATE_AWAY, AgentState.AGENT_STATE_OFFLINE]);

/**
 * What others see of an agent in aggregate-only mode: the profile (name, departments, skills,
 * devices, home office) and whether they are away or offline; every working state (available,
 * ringing, on call, wrap-up, phone busy) reads as unspecified, and no time or call is shown.
 */
export function withoutCallFigures(agent: Agent): Agent {
  return {
    ...agent,
    state: ABSENT.has(agent.state) ? agent.state : AgentState.AGENT_STATE_UNSPECIFIED,
    stateSince: undefined,
    idleSince: undefined,
    assignment: undefined,
    wrapUpUntil: undefined,
    lastReservedAt: {},
    lastEndedCallId: '',
    phoneBusyUntil: undefined,
    otherCallIds: [],
    lastCallEventSequence: '0',
  };
}

/** How one caller sees a tenant's agents. */
export type AgentView = (agent: Agent) => Agent;

export class StatisticsPrivacy {
  private readonly aggregateOnlyTenants = new Map<string, boolean>();
  private readonly loading = new Map<string, Promise<boolean>>();

  constructor(
    private readonly directory: Pick<DirectoryRpcClient, 'exportTenant'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Whether the tenant is in aggregate-only mode, from the directory on first use and from its
   * tenant changes after. While the directory cannot tell, the answer is yes (not remembered):
   * per-person figures are never shown by mistake.
   */
  aggregateOnly(tenantId: string): Promise<boolean> {
    const known = this.aggregateOnlyTenants.get(tenantId);
    if (known !== undefined) return Promise.resolve(known);
    let load = this.loading.get(tenantId);
    if (!load) {
      load = tenantPrivacy(this.directory, tenantId)
        .then(({ aggregateOnlyStatistics }) => {
          // A tenant change that arrived meanwhile is newer than this answer.
          if (!this.aggregateOnlyTenants.has(tenantId))
            this.aggregateOnlyTenants.set(tenantId, aggregateOnlyStatistics);
          return this.aggregateOnlyTenants.get(tenantId)!;
        })
        .catch((error: unknown) => {
          this.logger.warn({ err: error, tenantId }, 'privacy settings unavailable; per-person figures hidden');
          return true;
        })
        .finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, load);
    }
    return load;
  }

  /** The setting as last known, for the metrics (read synchronously); undefined before the first load. */
  known(tenantId: string): boolean | undefined {
    return this.aggregateOnlyTenants.get(tenantId);
  }

  /** From the directory's tenant_changed event: the tenant's new setting (undefined: deleted or not sure, forget it). */
  update(tenantId: string, aggregateOnly: boolean | undefined): void {
    if (aggregateOnly === undefined) this.aggregateOnlyTenants.delete(tenantId);
    else this.aggregateOnlyTenants.set(tenantId, aggregateOnly);
  }

  /** How `principal` sees the tenant's agents: whole, or without call figures unless it is their own. */
  async viewFor(tenantId: string, principal: Principal): Promise<AgentView> {
    if (principal.role === 'service' || !(await this.aggregateOnly(tenantId))) return (agent) => agent;
    return (agent) =>
      principal.role === 'agent' && principal.subject === agent.agentId ? agent : withoutCallFigures(agent);
  }
}

type Handlers = RpcHandlers<typeof unaryMethods>;
type OneAgent = 'getAgent' | 'setState' | 'setHomeOffice' | 'upsertAgent';

/**
 * The gRPC API's handlers with every agent they answer shown as the caller may see it.
 * Routing's reservations (NATS, role-less: a service sees all) are not wrapped.
 */
export function privateHandlers(handlers: Handlers, privacy: StatisticsPrivacy): Handlers {
  const viewOf = (tenantId: string) => privacy.viewFor(tenantId, currentPrincipal());
  const oneAgent = <K extends OneAgent>(method: K): Handlers[K] =>
    (async (request: Parameters<Handlers[K]>[0]) => {
      const response = await (handlers[method] as (request: unknown) => Promise<{ agent?: Agent }>)(request);
      const view = await viewOf(request.tenantId);
      return { ...response, agent: response.agent && view(response.agent) };
    }) as Handlers[K];
  return {
    ...handlers,
    getAgent: oneAgent('getAgent'),
    setState: oneAgent('setState'),
    setHomeOffice: oneAgent('setHomeOffice'),
    upsertAgent: oneAgent('upsertAgent'),
    listAgents: async (request) => {
      const { agents } = await handlers.listAgents(request);
      return { agents: agents.map(await viewOf(request.tenantId)) };
    },
  };
}
