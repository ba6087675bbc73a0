import { CallEvents } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { PoisonMessageError, type DeliveredMessage, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { agentAnsweredIn, agentAnswerTime, answeredAgentIn, Handover } from './flow/call-end.js';
import { CallFlow, type FlowDeps } from './flow/driver.js';
import { callKey, heldReservations, StateConflictError, type CallState, type Versioned } from './call-state.js';
import { FINISHED, type InFlightCalls } from './in-flight-calls.js';
import { routingMetrics } from './metrics.js';
import type { ReplicaLiveness } from './replica-leases.js';

const DIRECTIONS: Partial<Record<callV1.CallDirection, CallState['direction']>> = {
  [callV1.CallDirection.CALL_DIRECTION_INBOUND]: 'inbound',
  [callV1.CallDirection.CALL_DIRECTION_OUTBOUND]: 'outbound',
  [callV1.CallDirection.CALL_DIRECTION_INTERNAL]: 'internal',
};

export function initialState(event: callV1.CallStarted, owner: string): CallState {
  const direction = DIRECTIONS[event.direction];
  if (!direction || !event.callId || !event.adapterId) {
    throw new PoisonMessageError(`call.started ${event.callId || '(no id)'} lacks a direction, call id or adapter id`);
  }
  const tags = event.callerLeg?.tags ?? {};
  const callback = direction === 'outbound' && tags['callback'] === 'true' && !!tags['department_id'];
  if (callback) {
    // The citizen's leg is the caller; the queue key is the original call's arrival, so the citizen
    // waits ahead of those who called later.
    const answeredAt = (event.callerLeg?.answeredAt ?? event.meta!.occurredAt ?? new Date()).getTime();
    const arrivedAt = Number(tags['callback_arrived_at']);
    return {
      ...initialState({ ...event, callerLeg: { ...event.callerLeg!, tags: {} } }, owner),
      caller: event.callerLeg?.to ?? '',
      startedAt: Number.isFinite(arrivedAt) && arrivedAt > 0 ? arrivedAt : answeredAt,
      answered: true,
      callback: { departmentId: tags['department_id']!, answeredAt },
    };
  }
  return {
    tenantId: event.meta!.tenantId,
    callId: event.callId,
    adapterId: event.adapterId,
    direction,
    dialedNumber: event.dialedNumber,
    caller: event.callerLeg?.from ?? '',
    callerChannel: event.callerLeg?.endpoint ?? '',
    startedAt: (event.callerLeg?.createdAt ?? event.meta!.occurredAt ?? new Date()).getTime(),
    step: 'entry',
    owner,
    answered: false,
    siteId: '',
    overflows: 0,
    excluded: [],
    attempt: 0,
  };
}

/** What the router needs besides a flow's own dependencies. */
export interface RouterDeps extends FlowDeps {
  /** Which replicas are alive (their leases). */
  liveness: Pick<ReplicaLiveness, 'isLive' | 'isDead'>;
  /** The calls routing is not done with, followed from the bucket. */
  inFlight: Pick<InFlightCalls, 'entries' | 'get'>;
  /** Work shutdown waits for: a running flow (its handover write). */
  track<T>(work: Promise<T>): Promise<T>;
  now?: () => number;
}

/** A self-owned call whose flow failed here is resumed after this long, doubled per failure. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * Runs the flows of the calls this replica owns. A call becomes its own when it creates the
 * call's state from call.started (acked at once: no message is held for a flow's life), or
 * when it takes over — one compare-and-set on the revision it holds — a call whose owner died
 * (lease), handed it over (owner cleared on shutdown) or is this replica itself with no flow
 * running (the flow failed). Every replica tries; the one whose write lands runs the flow from
 * the checkpoint, the others drop it.
 */
export class CallRouter {
  private readonly flows = new Map<string, CallFlow>();
  /** Keys whose claim (create or takeover write) is in progress. */
  private readonly claiming = new Set<string>();
  /** Self-owned calls whose flow failed here: when they may be resumed, and how often they failed. */
  private readonly retries = new Map<string, { at: number; failures: number }>();
  private readonly capacityWaiters: Array<() => void> = [];
  private stopping = false;
  private readonly now: () => number;

  constructor(private readonly deps: RouterDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  get size(): number {
    return this.flows.size;
  }

  /**
   * The `routing-calls` handler: resolves (ack) once the call's state is created and its flow
   * started, or the call is found finished or owned by a live replica (a redelivery).
   */
  async onCallStarted(message: DeliveredMessage): Promise<void> {
    const event = message.decode(CallEvents.started);
    const fresh = initialState(event, this.deps.replicaId);
    while (this.flows.size >= this.deps.config.ROUTING_MAX_CALLS && !this.stopping) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
    if (this.stopping) throw new Error('replica is stopping; another replica takes the call');
    const key = callKey(fresh.tenantId, fresh.callId);
    if (this.claiming.has(key) || this.flows.has(key)) return;
    this.claiming.add(key);
    try {
      const owned = await this.claim(fresh);
      if (owned) this.run(key, owned);
    } finally {
      this.claiming.delete(key);
    }
  }

  /** Creates the call's state, or takes over a stored one whose owner is gone. */
  private async claim(fresh: CallState): Promise<Versioned | undefined> {
    // A callback's start is when the citizen answered; its startedAt is the original call's arrival.
    const started = fresh.callback?.answeredAt ?? fresh.startedAt;
    const stale = Date.now() - started > this.deps.config.ROUTING_MAX_START_AGE_MS;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (stale && !(await this.deps.states.get(fresh.tenantId, fresh.callId))) {
        this.deps.logger.warn(
          { callId: fresh.callId, startedAt: new Date(fresh.startedAt) },
          'old call.started never routed; skipped',
        );
        return undefined;
      }
      const created = await this.deps.states.create(fresh);
      if (created) return created;
      const stored = await this.deps.states.get(fresh.tenantId, fresh.callId);
      if (!stored) continue;
      if (FINISHED.has(stored.state.step)) return undefined;
      // A redelivery (its ack was lost, or the replica holding it died before it wrote): a live
      // owner keeps the call; a dead one's, or one handed over, is taken over here too.
      const { owner } = stored.state;
      if (owner && owner !== this.deps.replicaId && this.deps.liveness.isLive(owner)) return undefined;
      return this.takeOver(stored);
    }
    throw new Error(`could not take call ${fresh.callId}: its state kept changing`);
  }

  /** One compare-and-set (owner = this replica); undefined when another write came first. */
  private async takeOver(stored: Versioned): Promise<Versioned | undefined> {
    try {
      const taken = await this.deps.states.update({ ...stored.state, owner: this.deps.replicaId }, stored.revision);
      this.deps.logger.info(
        { callId: stored.state.callId, step: stored.state.step, previousOwner: stored.state.owner },
        'resuming a call another replica routed',
      );
      return taken;
    } catch (error) {
      if (error instanceof StateConflictError) return undefined;
      throw error;
    }
  }

  /**
   * The takeover pass (every half lease renewal): the calls in flight whose owner died, that
   * were handed over, or that are this replica's own without a flow (after a back-off).
   */
  takeOverOrphans(): void {
    if (this.stopping) return;
    const now = this.now();
    for (const [key, call] of this.deps.inFlight.entries()) {
      if (this.flows.has(key) || this.claiming.has(key)) continue;
      const { owner } = call.state;
      const orphaned =
        owner === ''
          ? true
          : owner === this.deps.replicaId
            ? now - call.seenAt >= (this.retries.get(key)?.at ?? this.deps.config.ROUTING_LEASE_MS)
            : this.deps.liveness.isDead(owner);
      if (orphaned) void this.resume(key, call);
    }
  }

  private async resume(key: string, call: Versioned): Promise<void> {
    this.claiming.add(key);
    try {
      const owned = await this.takeOver(call);
      if (owned && !this.stopping) this.run(key, owned);
    } catch (error) {
      this.deps.logger.warn({ err: error, callId: call.state.callId }, 'could not take the call over; trying again');
    } finally {
      this.claiming.delete(key);
    }
  }

  /**
   * A call's state changed in the bucket: a flow here whose call another replica wrote since
   * (took it over) stops acting at once rather than at its next checkpoint. An older revision
   * (the watch behind this flow's own writes) says nothing.
   */
  onStateChange(key: string, call: Versioned | undefined): void {
    const flow = this.flows.get(key);
    if (!flow || !call || call.revision <= flow.revision) return;
    if (call.state.owner !== this.deps.replicaId) flow.stop('lost');
  }

  /**
   * This replica's lease lapsed (it could not renew, or its event loop stood still): the others
   * may have taken calls over. Each flow's state is read; a flow whose call is now another's stops.
   */
  async verifyOwnership(): Promise<void> {
    for (const flow of [...this.flows.values()]) {
      const stored = await this.deps.states.get(flow.state.tenantId, flow.state.callId).catch(() => undefined);
      if (stored && stored.revision > flow.revision && stored.state.owner !== this.deps.replicaId) flow.stop('lost');
    }
  }

  /** Runs a flow this replica now owns, apart from any message; shutdown waits for it. */
  private run(key: string, owned: Versioned): void {
    const flow = new CallFlow(this.deps, owned);
    this.flows.set(key, flow);
    // Stopping began while the call was being claimed: hand it over like the others.
    if (this.stopping) flow.stop('handover');
    void this.deps.track(
      flow
        .run()
        .then(
          () => this.retries.delete(key),
          (error: unknown) => {
            if (error instanceof Handover) return;
            // Resumed from its checkpoint after a back-off, here or — should this replica die — elsewhere.
            const failures = (this.retries.get(key)?.failures ?? 0) + 1;
            const at = Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS);
            this.retries.set(key, { at, failures });
            flow.log.error({ err: error, failures, retryInMs: at }, 'call flow failed; resumed from its checkpoint');
          },
        )
        .finally(() => {
          this.flows.delete(key);
          if (!this.deps.inFlight.get(key)) this.retries.delete(key);
          this.capacityWaiters.shift()?.();
        }),
    );
  }

  /** Every replica hears every call.ended: the one routing the call stops its flow at once. */
  followCallEnds(nats: NatsHandle, logger: Logger): () => void {
    const subscription = nats.connection.subscribe('sb.*.call.ended', {
      callback: (error, message) => {
        if (error) return;
        try {
          const ended = CallEvents.ended.codec.decode(message.data);
          this.flows.get(callKey(ended.meta?.tenantId ?? '', ended.callId))?.stop('hangup', ended);
        } catch (decodeError) {
          logger.warn({ err: decodeError, subject: message.subject }, 'undecodable call.ended ignored here');
        }
      },
    });
    return () => subscription.unsubscribe();
  }

  /** Every replica hears every key a caller presses: the one routing the call acts on it. */
  followKeys(nats: NatsHandle, logger: Logger): () => void {
    const subscription = nats.connection.subscribe('sb.*.call.dtmf_received', {
      callback: (error, message) => {
        if (error) return;
        try {
          const key = CallEvents.dtmfReceived.codec.decode(message.data);
          this.flows.get(callKey(key.meta?.tenantId ?? '', key.callId))?.pressed(key.digit);
        } catch (decodeError) {
          logger.warn({ err: decodeError, subject: message.subject }, 'undecodable call.dtmf_received ignored here');
        }
      },
    });
    return () => subscription.unsubscribe();
  }

  /** Shutdown: checkpoint every call and hand it to another replica instead of cutting it off. */
  handOverAll(): void {
    this.stopping = true;
    for (const flow of this.flows.values()) flow.stop('handover');
    for (const waiter of this.capacityWaiters.splice(0)) waiter();
  }

  /**
   * The `routing-call-ended` handler: whatever replica (or none) routed the call, its queue entry,
   * reservation and state are cleaned up once. Counts the abandon when no live flow did.
   */
  async onCallEnded(message: DeliveredMessage): Promise<void> {
    const event = message.decode(CallEvents.ended);
    const tenantId = event.meta!.tenantId;
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.deps.states.get(tenantId, event.callId);
      if (!stored) {
        // Ended before routing saw call.started: a tombstone stops a late start from routing it.
        const tombstone: CallState = {
          ...initialStateless(tenantId, event.callId),
          step: 'ended',
          endedReason: 'ended before routing',
        };
        if (await this.deps.states.create(tombstone)) return;
        continue;
      }
      const { state } = stored;
      if (state.step === 'ended') return;
      const inQueue = state.step === 'queued' || state.step === 'ringing';
      // A caller whose agent answered did not abandon, even if routing had not yet written `bridged`.
      const answered = agentAnsweredIn(event);
      const wasWaiting = inQueue && !answered;
      if (inQueue && state.queueKey) await this.deps.queues.remove(state.queueKey);
      if (state.step === 'ringing') {
        // Everyone the call held except the agent who answered (a ring-all's others too).
        const answeredBy = answeredAgentIn(event);
        for (const held of heldReservations(state)) {
          if (held.agentId === answeredBy) continue;
          await this.deps.clients.presence
            .release({
              tenantId,
              agentId: held.agentId,
              reservationId: held.reservationId,
              wrapUp: false,
              busySeconds: 0,
            })
            .catch(() => undefined);
        }
      }
      try {
        await this.deps.states.update(
          {
            ...state,
            step: 'ended',
            endedReason: wasWaiting ? 'abandoned' : 'ended',
            // Answered before routing wrote `bridged`: the service level still counts the answer.
            ...(inQueue && answered ? { answeredAt: agentAnswerTime(event) } : {}),
          },
          stored.revision,
        );
      } catch (error) {
        if (error instanceof StateConflictError) continue;
        throw error;
      }
      if (wasWaiting && state.departmentId) {
        const attributes = { tenant: tenantId, department: state.departmentId };
        routingMetrics.abandoned.add(1, attributes);
        routingMetrics.wait.record((Date.now() - (state.enqueuedAt ?? Date.now())) / 1000, {
          ...attributes,
          outcome: 'abandoned',
        });
      }
      return;
    }
    throw new Error(`call ${event.callId}: state kept changing during cleanup; retrying`);
  }
}

function initialStateless(tenantId: string, callId: string): CallState {
  return {
    tenantId,
    callId,
    adapterId: '',
    direction: 'inbound',
    dialedNumber: '',
    caller: '',
    callerChannel: '',
    startedAt: Date.now(),
    step: 'ended',
    owner: '',
    answered: false,
    siteId: '',
    overflows: 0,
    excluded: [],
    attempt: 0,
  };
}
