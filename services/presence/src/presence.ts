import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { presenceV1, type presenceReservationV1 } from '@switchboard/proto';
import { GrpcStatusError, type RpcHandlers } from '@switchboard/service-kit';
import { checkId, type AgentStore } from './agent-store.js';
import { presenceMetrics } from './metrics.js';
import { KeyedSerial } from './serial.js';
import { candidates, dialTarget, isEligible, isMember, type Wanted } from './strategies.js';
import * as transitions from './transitions.js';
import { validateHomeOfficeNumber, validateUpsert } from './validation.js';

type Agent = presenceV1.Agent;
const { Strategy } = presenceV1;

const { upsertAgent, setState, setHomeOffice, getAgent, listAgents } = presenceV1.PresenceServiceService;

/** PresenceService's unary methods, served over gRPC. */
export const unaryMethods = { upsertAgent, setState, setHomeOffice, getAgent, listAgents };

export interface PresenceOptions {
  defaultLeaseSeconds: number;
  now?: () => Date;
}

function notFound(tenantId: string, agentId: string): GrpcStatusError {
  return new GrpcStatusError(grpc.status.NOT_FOUND, `agent ${agentId} of tenant ${tenantId} is unknown`);
}

const MAX_BUSY_SECONDS = 3_600;

function busyBackOffMs(seconds: number): number {
  if (seconds < 0 || seconds > MAX_BUSY_SECONDS) {
    throw new GrpcStatusError(
      grpc.status.INVALID_ARGUMENT,
      `busy_seconds must be between 0 and ${MAX_BUSY_SECONDS}, not ${seconds}`,
    );
  }
  return seconds * 1_000;
}

/** The presence API, transport-neutral: one handler object for gRPC and NATS. */
export class Presence {
  private readonly serial = new KeyedSerial();
  private readonly now: () => Date;

  constructor(
    private readonly store: AgentStore,
    private readonly options: PresenceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private leaseMs(seconds: number): number {
    if (seconds < 0) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'lease_seconds must not be negative');
    return (seconds || this.options.defaultLeaseSeconds) * 1_000;
  }

  /** Changes a known agent; NOT_FOUND when the tenant has no such agent. */
  private async change(
    tenantId: string,
    agentId: string,
    change: (agent: Agent) => Agent | undefined,
  ): Promise<{ agent: Agent; changed: boolean }> {
    checkId('tenant_id', tenantId);
    checkId('agent_id', agentId);
    const result = await this.store.mutate(tenantId, agentId, (current) => {
      if (!current) throw notFound(tenantId, agentId);
      return change(current);
    });
    return { agent: result.agent!, changed: result.changed };
  }

  private async reserveOne(agent: Agent, wanted: Wanted, terms: transitions.ReservationTerms) {
    const now = this.now();
    const result = await this.store.mutate(agent.tenantId, agent.agentId, (current) =>
      current && isEligible(current, wanted) ? transitions.reserve(current, terms, now) : undefined,
    );
    if (!result.changed) return undefined;
    const reserved = result.agent!;
    return presenceV1.Reservation.fromPartial({
      reservationId: terms.reservationId,
      agentId: reserved.agentId,
      target: dialTarget(reserved),
      leaseExpiresAt: reserved.assignment?.leaseExpiresAt,
    });
  }

  private async reserveAgents(request: presenceV1.ReserveRequest): Promise<presenceV1.ReserveResponse> {
    const wanted: Wanted = {
      departmentId: request.departmentId,
      strategy: request.strategy || Strategy.STRATEGY_LONGEST_IDLE,
      requiredSkills: request.requiredSkills,
      excludeAgentIds: request.excludeAgentIds,
      waitedSeconds: request.waitedSeconds,
    };
    const terms = {
      reservationId: randomUUID(),
      callId: request.callId,
      departmentId: request.departmentId,
      leaseMs: this.leaseMs(request.leaseSeconds),
    };
    const started = performance.now();
    const ringAll = wanted.strategy === Strategy.STRATEGY_RING_ALL;
    const reservations: presenceV1.Reservation[] = [];
    // A candidate another replica took meanwhile fails its revision check; the next one is tried.
    const take = async () => {
      for (const agent of candidates(this.store.departmentMembers(request.tenantId, request.departmentId), wanted)) {
        const reservation = await this.reserveOne(agent, wanted, terms);
        if (!reservation) continue;
        reservations.push(reservation);
        if (!ringAll) break;
      }
    };
    await take();
    if (reservations.length === 0) {
      // "Nobody free" sends the caller to the queue: first make sure this replica's copy is not
      // just behind an agent who became free through another replica.
      await this.store.catchUp();
      await take();
    }
    const strategy = presenceV1.strategyToJSON(wanted.strategy).replace('STRATEGY_', '').toLowerCase();
    presenceMetrics.reservations.add(1, { strategy, outcome: reservations.length > 0 ? 'reserved' : 'none_free' });
    presenceMetrics.reserveDuration.record((performance.now() - started) / 1_000, { strategy });
    return { reservations };
  }

  /** PresenceService's unary handlers and PresenceReservationService's (routing's, over NATS). */
  handlers(): RpcHandlers<typeof unaryMethods> & RpcHandlers<presenceReservationV1.PresenceReservationServiceService> {
    return {
      upsertAgent: async (request) => {
        validateUpsert(request);
        const now = this.now();
        const { agent } = await this.store.mutate(request.tenantId, request.agentId, (current) =>
          current ? transitions.updateProfile(current, request) : transitions.newAgent(request, now),
        );
        return { agent };
      },
      setState: async (request) => {
        const now = this.now();
        const { agent } = await this.change(request.tenantId, request.agentId, (current) =>
          transitions.setState(current, request.state, now),
        );
        return { agent };
      },
      setHomeOffice: async (request) => {
        validateHomeOfficeNumber(request.homeOfficeNumber);
        const { agent } = await this.change(request.tenantId, request.agentId, (current) =>
          transitions.setHomeOffice(current, request.enabled, request.homeOfficeNumber),
        );
        return { agent };
      },
      getAgent: async (request) => {
        const stored = this.store.get(checkId('tenant_id', request.tenantId), checkId('agent_id', request.agentId));
        if (!stored) throw notFound(request.tenantId, request.agentId);
        return { agent: stored.agent };
      },
      listAgents: async (request) => {
        const agents = this.store
          .list(checkId('tenant_id', request.tenantId))
          .filter((agent) => !request.departmentId || isMember(agent, request.departmentId))
          .sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
        return { agents };
      },
      reserve: async (request) => {
        checkId('tenant_id', request.tenantId);
        checkId('department_id', request.departmentId);
        if (request.waitedSeconds !== undefined && request.waitedSeconds < 0) {
          throw new GrpcStatusError(
            grpc.status.INVALID_ARGUMENT,
            `waited_seconds must not be negative, not ${request.waitedSeconds}`,
          );
        }
        return this.serial.run(`${request.tenantId}.${request.departmentId}`, () => this.reserveAgents(request));
      },
      confirm: async (request) => {
        // Confirmed already (the answered leg's event came first): a reservation never goes back
        // to ringing, so nothing newer could make Confirm change anything — no check against the
        // bucket.
        const cached = this.store.get(checkId('tenant_id', request.tenantId), checkId('agent_id', request.agentId));
        if (cached && transitions.confirmed(cached.agent, request.reservationId)) {
          return { agent: cached.agent };
        }
        const now = this.now();
        const { agent } = await this.change(request.tenantId, request.agentId, (current) =>
          transitions.confirm(current, request.reservationId, now),
        );
        return { agent };
      },
      renew: async (request) => {
        const now = this.now();
        const leaseMs = this.leaseMs(request.leaseSeconds);
        const { agent } = await this.change(request.tenantId, request.agentId, (current) =>
          transitions.renew(current, request.reservationId, leaseMs, now),
        );
        return { leaseExpiresAt: agent.assignment?.leaseExpiresAt };
      },
      release: async (request) => {
        const busyMs = busyBackOffMs(request.busySeconds);
        const now = this.now();
        const { agent, changed } = await this.change(request.tenantId, request.agentId, (current) =>
          request.wrapUp
            ? transitions.release(current, request.reservationId, true, now)
            : transitions.phoneBusy(current, request.reservationId, busyMs, now),
        );
        return { released: changed, agent };
      },
    };
  }
}
