import { CallEvents } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { PoisonMessageError, type DeliveredMessage, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { agentAnsweredIn, answeredAgentIn } from './flow/call-end.js';
import { CallFlow, type FlowDeps } from './flow/driver.js';
import { callKey, heldReservations, StateConflictError, type CallState, type Versioned } from './call-state.js';
import { routingMetrics } from './metrics.js';

const DIRECTIONS: Partial<Record<callV1.CallDirection, CallState['direction']>> = {
  [callV1.CallDirection.CALL_DIRECTION_INBOUND]: 'inbound',
  [callV1.CallDirection.CALL_DIRECTION_OUTBOUND]: 'outbound',
  [callV1.CallDirection.CALL_DIRECTION_INTERNAL]: 'internal',
};

const FINISHED: ReadonlySet<CallState['step']> = new Set(['bridged', 'handed-off', 'ended']);

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

/**
 * Runs the flows of the calls this replica took from the `routing-calls` work queue, and ends
 * them early when their call ends (a plain subscription on call.ended on every replica).
 */
export class CallRouter {
  private readonly flows = new Map<string, CallFlow>();
  private stopping = false;

  constructor(private readonly deps: FlowDeps) {}

  get size(): number {
    return this.flows.size;
  }

  /** The `routing-calls` handler: resolves when routing is done with the call (ack). */
  async onCallStarted(message: DeliveredMessage): Promise<void> {
    const event = message.decode(CallEvents.started);
    const fresh = initialState(event, this.deps.replicaId);
    const key = callKey(fresh.tenantId, fresh.callId);
    const owned = await this.takeOwnership(fresh);
    if (!owned) return;
    if (this.stopping) throw new Error('replica is stopping; another replica takes the call');
    const flow = new CallFlow(this.deps, owned);
    this.flows.set(key, flow);
    try {
      await flow.run();
    } finally {
      this.flows.delete(key);
    }
  }

  /** Creates the call's state, or takes over a stored one (a redelivery after a crash or handover). */
  private async takeOwnership(fresh: CallState): Promise<Versioned | undefined> {
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
      this.deps.logger.info(
        { callId: fresh.callId, step: stored.state.step, previousOwner: stored.state.owner },
        'resuming a call another replica routed',
      );
      try {
        return await this.deps.states.update({ ...stored.state, owner: this.deps.replicaId }, stored.revision);
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
      }
    }
    throw new Error(`could not take call ${fresh.callId}: its state kept changing`);
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
          { ...state, step: 'ended', endedReason: wasWaiting ? 'abandoned' : 'ended' },
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
