import type { KV } from '@nats-io/kv';
import type { callV1 } from '@switchboard/proto';
import type { Logger } from '@switchboard/service-kit';
import {
  commandId,
  hasStatus,
  NOT_FOUND,
  type CallControlClient,
  type FlowClients,
  type TenantViews,
} from '../clients.js';
import {
  heldReservations,
  StateConflictError,
  type CallState,
  type CallStateStore,
  type Versioned,
} from '../call-state.js';
import type { RoutingConfig } from '../config.js';
import type { DepartmentQueues } from '../department-queue.js';
import { routingMetrics } from '../metrics.js';
import type { WaitEstimates } from '../wait-estimates.js';
import { announceAndHangUp, recordVoicemail } from './announce.js';
import { connect, entry } from './entry.js';
import { agentAnswerTime, answeredAgentIn, CallGone, Handover, TakenOver } from './call-end.js';
import { ivrStep } from './ivr.js';
import { CallMetrics } from './metrics.js';
import { waitInQueue, type Waiting } from './queue.js';

/** Why a flow ends before routing is done with its call. */
export type StopReason = 'hangup' | 'handover' | 'lost';

const STOPPED: Record<StopReason, () => Error> = {
  hangup: () => new CallGone('caller hung up'),
  handover: () => new Handover('replica stopping'),
  lost: () => new TakenOver('another replica took the call over'),
};

/** What a step leads to: the fields of the call's state that change. */
export type Change = Partial<CallState>;

export interface FlowDeps {
  replicaId: string;
  config: RoutingConfig;
  logger: Logger;
  states: CallStateStore;
  queues: DepartmentQueues;
  directory: TenantViews;
  clients: FlowClients;
  callbacks: KV;
  waits: WaitEstimates;
}

/**
 * The steps written to the call's state: created (`entry`, by the router), queued (with the
 * arrival), ringing (with the attempt and the reservations) and the ends. The IVR dialog and a
 * connect are replayed from the last of these: their command ids are deterministic, so the
 * adapter answers a repeated one with the first one's result instead of acting twice.
 */
const CHECKPOINTS: ReadonlySet<CallState['step']> = new Set<CallState['step']>([
  'queued',
  'ringing',
  'bridged',
  'handed-off',
  'announcing',
  'voicemail',
  'ended',
]);

/** The step that runs for each `CallState.step`; a step returns the change it leads to, if any. */
const STEPS: Partial<Record<CallState['step'], (call: CallFlow) => Promise<Change | void>>> = {
  entry,
  ivr: ivrStep,
  queued: waitInQueue,
  ringing: waitInQueue,
  connecting: connect,
  announcing: announceAndHangUp,
  voicemail: recordVoicemail,
};

/**
 * One call's way through routing: the driver owns the call's state, its compare-and-set saves,
 * the end of the local flow (hang-up or handover) and the step loop; the steps (entry, ivr,
 * queue, announce) act on the call and return the state change they lead to. Every step
 * boundary is written with compare-and-set, so a replica that picks the call up after a crash
 * resumes from the last step.
 */
export class CallFlow {
  /** The call's state as the steps change it; written at each checkpoint. */
  readonly state: CallState;
  private lastRevision: number;
  /** The state as last written: what a replica taking the call over would find. */
  private checkpoint: CallState;
  /** PlayAndCollect prompts of the IVR so far: their command ids are `<callId>:ivr-<n>`. */
  ivrVisits = 0;
  private readonly controller = new AbortController();
  private reason: StopReason | undefined;
  private readonly aborted: Promise<never>;
  /** The call.ended event that stopped the flow, if any (which agent answered). */
  endedEvent: callV1.CallEnded | undefined;
  readonly log: Logger;
  readonly metrics: CallMetrics;
  /** What the queue step remembers between its rounds on this replica. */
  readonly waiting: Waiting = {
    lastAnnouncement: 0,
    music: false,
    presenceFailed: false,
    callbackKey: '',
    callbackPressed: false,
    wake: new AbortController(),
  };

  constructor(
    readonly deps: FlowDeps,
    initial: Versioned,
  ) {
    this.state = initial.state;
    this.lastRevision = initial.revision;
    this.checkpoint = { ...initial.state };
    this.log = deps.logger.child({ callId: initial.state.callId, tenantId: initial.state.tenantId });
    this.metrics = new CallMetrics(this, deps.waits);
    this.aborted = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () => reject(STOPPED[this.reason ?? 'hangup']()));
    });
    this.aborted.catch(() => undefined);
  }

  /** Aborted when the local flow ends (hang-up or handover). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A key the caller pressed (call.dtmf_received): the callback key leaves the queue for a callback. */
  pressed(digit: string): void {
    const { waiting } = this;
    if (this.state.step !== 'queued' || !waiting.callbackKey || digit !== waiting.callbackKey) return;
    waiting.callbackPressed = true;
    waiting.wake.abort();
  }

  /** The revision of the call's state this flow wrote last (or took the call over with). */
  get revision(): number {
    return this.lastRevision;
  }

  /** Ends the local flow now: the caller hung up, the replica hands the call over, or another replica took it. */
  stop(reason: StopReason, ended?: callV1.CallEnded): void {
    this.reason ??= reason;
    this.endedEvent ??= ended;
    this.controller.abort();
    this.waiting.wake.abort();
  }

  async run(): Promise<void> {
    const attributes = { tenant: this.state.tenantId };
    routingMetrics.active.add(1, attributes);
    try {
      for (;;) {
        const step = STEPS[this.state.step];
        if (!step) return;
        const change = await step(this);
        if (change) await this.save(change);
      }
    } catch (error) {
      if (error instanceof TakenOver) {
        this.log.info(
          { step: this.state.step, reason: error.message },
          'call taken over by another replica; stopped here',
        );
        throw error;
      }
      if (error instanceof Handover) {
        await this.handOver();
        throw error;
      }
      if (error instanceof CallGone || hasStatus(error, NOT_FOUND)) {
        await this.finishAbandoned();
        return;
      }
      throw error;
    } finally {
      this.metrics.leaveQueue();
      routingMetrics.active.add(-1, attributes);
    }
  }

  /**
   * Applies a step's change. Written (compare-and-set) only when the call reaches a step a replica
   * that takes it over resumes from (CHECKPOINTS); any other step stays in memory and is replayed
   * from the last checkpoint. A call ended meanwhile is CallGone; a call taken over too.
   */
  async save(change: Change): Promise<void> {
    // In place: the steps hold `call.state` across saves.
    Object.assign(this.state, change, { owner: this.deps.replicaId });
    if (CHECKPOINTS.has(this.state.step)) await this.write({ ...this.state });
  }

  private async write(next: CallState): Promise<void> {
    try {
      this.lastRevision = (await this.deps.states.update(next, this.lastRevision)).revision;
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      const fresh = await this.deps.states.get(next.tenantId, next.callId);
      if (!fresh || fresh.state.step === 'ended') throw new CallGone('the call ended meanwhile');
      // Someone else's write (a takeover, also one handed over again since): never overwritten
      // with this replica's older view. Only an own write whose reply was lost is written over.
      if (fresh.state.owner !== this.deps.replicaId) {
        throw new TakenOver(`call taken over by ${fresh.state.owner || 'a replica that handed it over'}`);
      }
      this.lastRevision = (await this.deps.states.update(next, fresh.revision)).revision;
    }
    this.checkpoint = next;
  }

  /** Races `work` against the end of the local flow (CallGone or Handover). */
  guard<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.aborted]);
  }

  control(timeoutMs = this.deps.config.ROUTING_RPC_TIMEOUT_MS): CallControlClient {
    return this.deps.clients.control(this.state.adapterId, timeoutMs);
  }

  command(name?: string) {
    return { tenantId: this.state.tenantId, callId: this.state.callId, commandId: commandId(this.state.callId, name) };
  }

  async answer(): Promise<void> {
    if (this.state.answered) return;
    await this.guard(this.control().answer(this.command('answer')));
    this.state.answered = true;
  }

  /** Ends a reservation; an agent whose phone answered busy is held out of offers for the back-off. */
  async release(agentId: string, reservationId: string, phoneBusy = false): Promise<void> {
    const busySeconds = phoneBusy ? this.deps.config.ROUTING_BUSY_BACKOFF_SECONDS : 0;
    await this.deps.clients.presence
      .release({ tenantId: this.state.tenantId, agentId, reservationId, wrapUp: false, busySeconds })
      .catch((error: unknown) => this.log.warn({ err: error, agentId }, 'release failed; the lease returns the agent'));
  }

  /** The caller is gone: their queue entry and held agents go back, the state ends, an abandon is counted. */
  private async finishAbandoned(): Promise<void> {
    const { state } = this;
    const wasWaiting = state.step === 'queued' || state.step === 'ringing';
    // An agent may have answered just before the call ended, before the Dial reply came.
    const answeredBy = answeredAgentIn(this.endedEvent);
    if (answeredBy !== undefined && wasWaiting && state.departmentId) this.metrics.countAnswered(state.departmentId);
    if (state.queueKey && wasWaiting) await this.deps.queues.remove(state.queueKey).catch(() => undefined);
    if (state.step === 'ringing') {
      for (const held of heldReservations(state)) {
        if (held.agentId !== answeredBy) await this.release(held.agentId, held.reservationId);
      }
    }
    const abandoned = wasWaiting && !this.metrics.answered;
    let ended = false;
    try {
      await this.save({
        step: 'ended',
        endedReason: abandoned ? 'abandoned' : 'ended',
        // Answered before the Dial reply came: the service level still counts the answer.
        ...(wasWaiting && answeredBy !== undefined ? { answeredAt: agentAnswerTime(this.endedEvent) } : {}),
      });
      ended = true;
    } catch (error) {
      // Someone else (the call-ended cleanup) ended it first and counted it.
      if (!(error instanceof CallGone)) this.log.warn({ err: error }, 'could not mark the call ended');
    }
    if (ended && abandoned && state.departmentId) this.metrics.countAbandoned(state.departmentId);
    this.log.info({ step: state.step }, 'caller gone');
  }

  /** The last checkpoint, ownerless: the replica that takes the call resumes (or replays) from it. */
  private async handOver(): Promise<void> {
    await this.write({ ...this.checkpoint, owner: '' }).catch((error: unknown) =>
      this.log.warn({ err: error }, 'could not checkpoint the call for handover'),
    );
    this.log.info({ step: this.state.step }, 'call handed over to another replica');
  }
}
