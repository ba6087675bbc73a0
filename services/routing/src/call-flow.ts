import type { KV } from '@nats-io/kv';
import { checkOutbound, classifyNumber, serviceNumber, type OutboundDecision } from '@switchboard/numbering';
import { closesAt, openState, type OpenAnswer } from '@switchboard/opening-hours';
import {
  callControlV1,
  callV1,
  type directoryServiceV1,
  directoryV1,
  ivrServiceV1,
  presenceV1,
} from '@switchboard/proto';
import { recordOutboundDenied, type Logger } from '@switchboard/service-kit';
import { commandId, hasStatus, isUnavailable, NOT_FOUND, type CallControlClient, type FlowClients } from './clients.js';
import {
  callKey,
  heldReservations,
  StateConflictError,
  type CallState,
  type CallStateStore,
  type ConnectTarget,
  type Versioned,
} from './call-state.js';
import type { RoutingConfig } from './config.js';
import type { CallbackRequest } from './callback-worker.js';
import { closedNotice } from './closed-notice.js';
import { queueKey, type DepartmentQueues } from './department-queue.js';
import { routingMetrics, timed, type FallbackReason } from './metrics.js';
import { LAST_ANNOUNCED_POSITION, LAST_ANNOUNCED_WAIT_MINUTES, PROMPTS } from './prompts.js';
import type { DepartmentSettings, StaffMember, TenantDirectory, TenantView } from './tenant-directory.js';
import type { WaitEstimates } from './wait-estimates.js';

const { LegDisposition, LegKind } = callV1;
const { ActionKind, StepInput, TargetKind } = ivrServiceV1;
const { EntryPointKind, NumberKind } = directoryV1;

/** The caller is gone (hung up, or the adapter no longer knows the call). */
export class CallGone extends Error {}
/** This replica is stopping: the call is checkpointed and handed to another replica. */
export class Handover extends Error {}

export interface FlowDeps {
  replicaId: string;
  config: RoutingConfig;
  logger: Logger;
  states: CallStateStore;
  queues: DepartmentQueues;
  directory: TenantDirectory;
  clients: FlowClients;
  callbacks: KV;
  waits: WaitEstimates;
}

const STRATEGIES: Record<DepartmentSettings['strategy'], presenceV1.Strategy> = {
  'longest-idle': presenceV1.Strategy.STRATEGY_LONGEST_IDLE,
  'round-robin': presenceV1.Strategy.STRATEGY_ROUND_ROBIN,
  'ring-all': presenceV1.Strategy.STRATEGY_RING_ALL,
  skills: presenceV1.Strategy.STRATEGY_SKILLS,
};

const INPUTS = {
  enter: StepInput.STEP_INPUT_ENTER,
  digits: StepInput.STEP_INPUT_DIGITS,
  timeout: StepInput.STEP_INPUT_TIMEOUT,
};
const COLLECT_TIMEOUT_MS = 300_000;
const CONNECT_RING_SECONDS = 30;
const MAX_OVERFLOWS = 3;
/** Greeting, the longest message (the adapter's default 120 s) and the fetch of the recording. */
const VOICEMAIL_TIMEOUT_MS = 300_000;

/**
 * One call's way through routing, as a state machine over the checkpointed `CallState`:
 * entry → IVR → department queue → reserve → dial → bridged, or connect (internal, outbound,
 * IVR targets), or an announcement. Every step boundary is written with compare-and-set, so a
 * replica that picks the call up after a crash resumes from the last step.
 */
export class CallFlow {
  private current: Versioned;
  private readonly controller = new AbortController();
  private reason: 'hangup' | 'handover' | undefined;
  private readonly aborted: Promise<never>;
  private holdsQueueMetric = false;
  private lastAnnouncement = 0;
  /** Music on hold runs on the caller's channel (the adapter stops it before it bridges a leg). */
  private music = false;
  private presenceFailed = false;
  private answeredCounted = false;
  /** The waiting department's callback key (empty: none) and whether the caller pressed it. */
  private callbackKey = '';
  private callbackPressed = false;
  /** Ends the current wait early (the caller pressed the callback key). */
  private wake = new AbortController();
  private endedEvent: callV1.CallEnded | undefined;
  private readonly log: Logger;

  constructor(
    private readonly deps: FlowDeps,
    initial: Versioned,
  ) {
    this.current = initial;
    this.log = deps.logger.child({ callId: initial.state.callId, tenantId: initial.state.tenantId });
    this.aborted = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () =>
        reject(this.reason === 'handover' ? new Handover('replica stopping') : new CallGone('caller hung up')),
      );
    });
    this.aborted.catch(() => undefined);
  }

  get state(): CallState {
    return this.current.state;
  }

  /** A key the caller pressed (call.dtmf_received): the callback key leaves the queue for a callback. */
  pressed(digit: string): void {
    if (this.state.step !== 'queued' || !this.callbackKey || digit !== this.callbackKey) return;
    this.callbackPressed = true;
    this.wake.abort();
  }

  /** Ends the local flow now: the caller hung up, or the replica hands the call over. */
  stop(reason: 'hangup' | 'handover', ended?: callV1.CallEnded): void {
    this.reason ??= reason;
    this.endedEvent ??= ended;
    this.controller.abort();
  }

  async run(): Promise<void> {
    const attributes = { tenant: this.state.tenantId };
    routingMetrics.active.add(1, attributes);
    try {
      for (;;) {
        switch (this.state.step) {
          case 'entry':
            await this.entry();
            break;
          case 'ivr':
            await this.ivrStep();
            break;
          case 'queued':
          case 'ringing':
            await this.waitInQueue();
            break;
          case 'connecting':
            await this.connect();
            break;
          case 'announcing':
            await this.announceAndHangUp();
            break;
          case 'voicemail':
            await this.recordVoicemail();
            break;
          default:
            return;
        }
      }
    } catch (error) {
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
      this.leaveQueueMetric();
      routingMetrics.active.add(-1, attributes);
    }
  }

  // ---- steps ----------------------------------------------------------------------------------

  private async entry(): Promise<void> {
    const { state } = this;
    if (state.callback) return this.enqueue(state.callback.departmentId);
    if (state.direction === 'internal') return this.internalCall();
    if (state.direction === 'outbound') return this.outboundCall();
    let resolved: directoryServiceV1.ResolveNumberResponse;
    let view: TenantView;
    try {
      [resolved, view] = await timed('entry', () =>
        this.guard(
          Promise.all([
            this.deps.clients.directory.resolveNumber({ tenantId: state.tenantId, number: state.dialedNumber }),
            this.deps.directory.get(state.tenantId),
          ]),
        ),
      );
    } catch (error) {
      if (error instanceof Handover || error instanceof CallGone) throw error;
      return this.fallback(hasStatus(error, NOT_FOUND) ? 'unknown_number' : 'service_unavailable', error);
    }
    state.siteId = resolved.siteId;
    if (resolved.kind === NumberKind.NUMBER_KIND_FAX) {
      // The adapter runs the fax reception and publishes fax.received; routing is done with it.
      await this.answer();
      await this.guard(this.control().receiveFax(this.command('fax')));
      return this.save({ step: 'handed-off' });
    }
    if (resolved.staffId) return this.connectStaff(view.staffById(resolved.staffId), state.caller);
    const target = resolved.entryPoint?.target ?? '';
    switch (resolved.entryPoint?.kind) {
      case EntryPointKind.ENTRY_POINT_KIND_IVR_MENU:
        await this.answer();
        return this.save({
          step: 'ivr',
          ivr: { menuId: target, retryCount: 0, input: 'enter', digits: '', openState: await this.openState() },
        });
      case EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT:
        return this.enqueue(target);
      case EntryPointKind.ENTRY_POINT_KIND_EXTENSION:
        return this.connectStaff(view.staffByExtension(target), state.caller);
      default:
        return this.fallback('unknown_number', new Error(`entry point ${String(resolved.entryPoint?.kind)}`));
    }
  }

  /**
   * A device dialled a short number. The adapter calls every 2–6 digit number internal, so
   * emergency and service numbers (110, 112, 115, 116xxx, 118xy: the list directory refuses as
   * extensions) are taken out first and follow the outbound policy, even if someone still had
   * that extension from before the rule.
   */
  private async internalCall(): Promise<void> {
    if (serviceNumber(this.state.dialedNumber)) return this.outboundCall();
    const view = await this.tenantOrFallback();
    if (!view) return;
    const staff = view.staffByExtension(this.state.dialedNumber);
    if (staff) return this.connectStaff(staff, this.state.caller);
    if (classifyNumber(this.state.dialedNumber).destinationClass === 'invalid') {
      return this.announce(PROMPTS.extensionUnknown);
    }
    return this.outboundCall();
  }

  private async outboundCall(): Promise<void> {
    const { state } = this;
    // 110/112 go out whatever the policy says, so they must not wait for the directory: caller id
    // is best effort. Every other number needs the tenant's policy: without the directory, the
    // caller hears that the service is unavailable rather than a call the policy might bar.
    const emergency = checkOutbound(state.dialedNumber, undefined);
    const isEmergency = emergency.allowed && emergency.emergency;
    const view = isEmergency
      ? await this.deps.directory.get(state.tenantId).catch(() => undefined)
      : await this.tenantOrFallback();
    if (!view && !isEmergency) return;
    const caller = view?.caller(state.callerChannel, state.caller);
    const siteId = caller?.siteId ?? '';
    const decision = isEmergency ? emergency : view!.checkOutbound(state.dialedNumber, siteId);
    routingMetrics.outbound.add(1, {
      tenant: state.tenantId,
      result: !decision.allowed ? 'barred' : decision.emergency ? 'emergency' : 'allowed',
    });
    if (!decision.allowed) {
      this.denied(decision, 'routing');
      return this.announce(PROMPTS.numberBarred);
    }
    const callerId = view?.callerIdFor(siteId) || state.caller;
    const tags: Record<string, string> = siteId ? { site_id: siteId } : {};
    const target = this.outsideTarget(decision.number, callerId, tags);
    return this.save({ step: 'connecting', target, siteId });
  }

  /**
   * The refusal when the policy bars a home-office number, else undefined. The adapter refuses
   * such a forward too; asking first lets routing skip the colleague instead of failing the call.
   * Without the directory the adapter's check alone decides.
   */
  private async barredHomeOffice(
    number: string,
    siteId: string,
  ): Promise<Extract<OutboundDecision, { allowed: false }> | undefined> {
    const view = await this.deps.directory.get(this.state.tenantId).catch(() => undefined);
    const decision = view?.checkOutbound(number, siteId);
    if (!decision || decision.allowed) return undefined;
    this.denied(decision, 'routing');
    return decision;
  }

  /**
   * An allowed outside number: E.164 is forwarded; a short code (110, 112, 115, 116xxx, 118xy) is
   * dialled on the trunk as dialled, since Forward takes E.164 only.
   */
  private outsideTarget(number: string, callerId: string, tags: Record<string, string>): ConnectTarget {
    if (number.startsWith('+')) return { via: 'forward', endpoint: number, callerId, homeOffice: false, tags };
    const endpoint = this.deps.config.ROUTING_TRUNK_ENDPOINT.replace('{number}', number);
    return { via: 'dial', endpoint, callerId, homeOffice: false, tags };
  }

  /** Logs and counts a call the outbound policy refused (a number that is none is not counted). */
  private denied(decision: Extract<OutboundDecision, { allowed: false }>, path: 'routing'): void {
    this.log.info(
      { dialed: decision.number, category: decision.category, reason: decision.reason },
      'outbound call barred by policy',
    );
    if (decision.category !== 'invalid') recordOutboundDenied(decision.category, path);
  }

  private async connectStaff(staff: StaffMember | undefined, callerId: string): Promise<void> {
    if (!staff) return this.fallback('unknown_number', new Error('no staff member with that extension'));
    const tags = { staff_id: staff.staffId, ...(staff.siteId ? { site_id: staff.siteId } : {}) };
    let target: ConnectTarget;
    if (staff.homeOffice && staff.homeOfficeNumber) {
      // The forward to home is an outside call of the colleague's site.
      const barred = await this.barredHomeOffice(staff.homeOfficeNumber, staff.siteId);
      if (barred) return this.announce(PROMPTS.partyUnavailable);
      target = { via: 'forward', endpoint: staff.homeOfficeNumber, callerId, homeOffice: true, tags };
    } else if (staff.devices[0]) {
      target = { via: 'dial', endpoint: dialString(staff.devices[0]), callerId, homeOffice: false, tags };
    } else {
      return this.announce(PROMPTS.partyUnavailable);
    }
    return this.save({ step: 'connecting', target });
  }

  private async connect(): Promise<void> {
    const { state } = this;
    const target = state.target!;
    const control = this.control(CONNECT_RING_SECONDS * 1000 + this.deps.config.ROUTING_RPC_TIMEOUT_MS);
    const common = {
      ...this.command(`connect-${state.attempt}`),
      callerId: target.callerId,
      timeoutSeconds: CONNECT_RING_SECONDS,
      tags: target.tags,
    };
    const { disposition } = await this.guard(
      target.via === 'dial'
        ? control.dial({
            ...common,
            endpoint: target.endpoint,
            kind: target.endpoint.includes('@') ? LegKind.LEG_KIND_EXTERNAL : LegKind.LEG_KIND_INTERNAL,
            waitForOutcome: true,
          })
        : control.forward({ ...common, number: target.endpoint, homeOffice: target.homeOffice }),
    );
    if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED) return this.save({ step: 'bridged' });
    if (disposition === LegDisposition.LEG_DISPOSITION_CANCELLED) throw new CallGone('caller hung up while ringing');
    return this.announce(PROMPTS.partyUnavailable);
  }

  private async ivrStep(): Promise<void> {
    const { state } = this;
    const step = state.ivr!;
    let answer: ivrServiceV1.EvaluateStepResponse;
    try {
      answer = await timed('ivr', () =>
        this.guard(
          this.deps.clients.ivr.evaluateStep({
            tenantId: state.tenantId,
            callId: state.callId,
            menuId: step.menuId,
            input: INPUTS[step.input],
            digits: step.digits,
            retryCount: step.retryCount,
            openState: step.openState,
          }),
        ),
      );
    } catch (error) {
      if (error instanceof Handover || error instanceof CallGone) throw error;
      return this.fallback(isUnavailable(error) ? 'service_unavailable' : 'ivr_error', error);
    }
    if (answer.action === ActionKind.ACTION_KIND_PLAY_AND_COLLECT && answer.collect) {
      // A replica that resumes here plays this menu again.
      await this.save({
        ivr: { ...step, menuId: answer.menuId, retryCount: answer.retryCount, input: 'enter', digits: '' },
      });
      const collect = answer.collect;
      const result = await this.guard(
        this.control(COLLECT_TIMEOUT_MS).playAndCollect({
          ...this.command(),
          media: collect.prompts,
          language: collect.language,
          maxDigits: collect.maxDigits || 1,
          terminator: '',
          firstDigitTimeoutMs: collect.timeoutMs,
          interDigitTimeoutMs: collect.interDigitTimeoutMs,
          bargeIn: collect.bargeIn,
        }),
      );
      if (result.endedBy === callControlV1.CollectEnd.COLLECT_END_HANGUP)
        throw new CallGone('caller hung up in the menu');
      state.ivr = {
        ...step,
        menuId: answer.menuId,
        retryCount: answer.retryCount,
        input: result.digits ? 'digits' : 'timeout',
        digits: result.digits,
      };
      return;
    }
    const target = answer.target;
    switch (target?.kind) {
      case TargetKind.TARGET_KIND_DEPARTMENT:
        return this.enqueue(target.ref);
      case TargetKind.TARGET_KIND_SUBMENU:
      case TargetKind.TARGET_KIND_REPEAT:
        state.ivr = {
          ...step,
          menuId: target.kind === TargetKind.TARGET_KIND_SUBMENU ? target.ref : answer.menuId,
          retryCount: 0,
          input: 'enter',
          digits: '',
        };
        return;
      case TargetKind.TARGET_KIND_EXTENSION: {
        const view = await this.tenantOrFallback();
        if (!view) return;
        return this.connectStaff(view.staffByExtension(target.ref), state.caller);
      }
      case TargetKind.TARGET_KIND_EXTERNAL: {
        const view = await this.tenantOrFallback();
        if (!view) return;
        // A menu's outside number follows the policy of the site whose number was dialled.
        const decision = view.checkOutbound(target.ref, state.siteId);
        if (!decision.allowed) {
          this.denied(decision, 'routing');
          return this.fallback('ivr_error', new Error(`the menu's outside number is refused: ${decision.reason}`));
        }
        return this.save({
          step: 'connecting',
          target: this.outsideTarget(
            decision.number,
            view.callerIdFor(state.siteId) || state.caller,
            state.siteId ? { site_id: state.siteId } : {},
          ),
        });
      }
      case TargetKind.TARGET_KIND_VOICEMAIL:
        return this.toVoicemail(target.ref, []);
      default:
        return this.fallback('ivr_error', new Error(`IVR answered without a usable target (${answer.reason})`));
    }
  }

  private async enqueue(departmentId: string): Promise<void> {
    const { state } = this;
    const view = await this.tenantOrFallback();
    if (!view) return;
    const department = view.department(departmentId);
    if (!department) return this.fallback('no_department', new Error(`no department "${departmentId}"`));
    const open = openState(view.schedule(department), new Date());
    if (open.state !== 'open') return this.closed(view, department, open);
    // Not answered yet: a caller whose agent is free at once hears ringing until the agent
    // answers (the adapter answers the caller when it bridges); music needs the answer first.
    const key = queueKey(state.tenantId, department.departmentId, state.startedAt, state.callId);
    const enqueuedAt = Date.now();
    // Before the queue entry exists: a key pressed as soon as the caller waits counts.
    this.callbackKey = this.callbackAllowed(view, department) ? department.callbackKey : '';
    await Promise.all([
      this.save({
        step: 'queued',
        departmentId: department.departmentId,
        enqueuedAt,
        queueKey: key,
        excluded: [],
        agentId: undefined,
        reservationId: undefined,
      }),
      this.deps.queues.put(state.tenantId, department.departmentId, {
        key,
        callId: state.callId,
        enqueuedAt,
        ringing: false,
      }),
    ]);
    routingMetrics.offered.add(1, { tenant: state.tenantId, department: department.departmentId });
    this.enterQueueMetric();
  }

  private async waitInQueue(): Promise<void> {
    const { state } = this;
    const view = await this.tenantOrFallback();
    if (!view) return;
    const department = view.department(state.departmentId ?? '');
    const key = state.queueKey!;
    if (!department) {
      // The department was deleted while the caller waited in it.
      await this.deps.queues.remove(key);
      this.leaveQueueMetric();
      return this.fallback('no_department', new Error(`no department "${state.departmentId}"`));
    }
    if (!this.holdsQueueMetric) {
      // Resumed on this replica: back into the queue at the original position.
      this.enterQueueMetric();
      await this.deps.queues.put(state.tenantId, department.departmentId, {
        key,
        callId: state.callId,
        enqueuedAt: state.enqueuedAt!,
        ringing: state.step === 'ringing',
      });
    }
    if (state.step === 'ringing' && state.agentId && state.reservationId) {
      const answered = await this.ring(
        department,
        { agentId: state.agentId, reservationId: state.reservationId },
        true,
      );
      if (answered) return;
    }
    if (state.step === 'ringing' && state.ringGroup?.length) {
      if (await this.ringAll(department, [], true)) return;
    }
    // Computed once per copy of the directory: a changed copy (hours, closing days) starts over.
    const schedule = view.schedule(department);
    const now = new Date();
    const closes = openState(schedule, now).state === 'open' ? (closesAt(schedule, now)?.getTime() ?? Infinity) : 0;
    this.callbackKey = this.callbackAllowed(view, department) ? department.callbackKey : '';
    for (;;) {
      // A key pressed from here on ends this round's wait at once.
      this.wake = new AbortController();
      if (Date.now() >= closes) return this.closedWhileWaiting(view, department);
      if (this.callbackPressed) return this.callbackKeepingPlace(department);
      if ((await this.deps.directory.get(state.tenantId).catch(() => view)) !== view) return;
      if (this.overflowDue(department)) return this.overflow(department);
      const position = this.deps.queues.position(state.tenantId, department.departmentId, key);
      if (!position) {
        const stored = await this.deps.states.get(state.tenantId, state.callId);
        if (!stored || stored.state.step === 'ended') throw new CallGone('the call ended meanwhile');
        await this.deps.queues.put(state.tenantId, department.departmentId, {
          key,
          callId: state.callId,
          enqueuedAt: state.enqueuedAt!,
          ringing: false,
        });
        continue;
      }
      if (position.mayReserve) {
        const reserved = await this.dialable(department, await this.reserve(department));
        if (reserved.length > 0) {
          const answered =
            reserved.length > 1
              ? await this.ringAll(department, reserved, false)
              : await this.ring(department, reserved[0]!, false);
          if (answered) return;
          continue;
        }
      }
      // Music only once nobody could be reserved at once: a caller who gets an agent hears no blip.
      if (!this.music) await this.holdMusic();
      await this.announceWait(position.position, this.callbackKey);
      const untilOverflow =
        department.overflow.kind === 'none' || department.maxWaitSeconds === 0
          ? Infinity
          : state.enqueuedAt! + department.maxWaitSeconds * 1000 - Date.now();
      await this.guard(
        this.deps.queues.waitForChange(
          state.tenantId,
          department.departmentId,
          Math.max(Math.min(this.deps.config.ROUTING_QUEUE_RETRY_MS, untilOverflow, closes - Date.now()), 10),
          AbortSignal.any([this.controller.signal, this.wake.signal]),
        ),
      );
    }
  }

  /**
   * Agents whose home-office number the policy bars (for the department's site, which their legs
   * are tagged with) go back at once and are skipped for this call, as an agent who did not answer.
   */
  private async dialable(department: DepartmentSettings, reserved: Reserved[]): Promise<Reserved[]> {
    const result: Reserved[] = [];
    for (const agent of reserved) {
      const number = agent.target?.externalNumber;
      const barred = number ? await this.barredHomeOffice(number, department.siteId) : undefined;
      if (!barred) {
        result.push(agent);
        continue;
      }
      this.log.warn({ agentId: agent.agentId, reason: barred.reason }, "agent's home-office number is barred; skipped");
      this.state.excluded = [...this.state.excluded, agent.agentId];
      await this.release(agent.agentId, agent.reservationId);
    }
    return result;
  }

  /** Reserves the next agent (ring-all: every free member presence hands out); empty when nobody is free. */
  private async reserve(department: DepartmentSettings): Promise<Reserved[]> {
    const { state } = this;
    let reservations: presenceV1.Reservation[];
    try {
      ({ reservations } = await timed('reserve', () =>
        this.guard(
          this.deps.clients.presence.reserve({
            tenantId: state.tenantId,
            departmentId: department.departmentId,
            strategy: STRATEGIES[department.strategy],
            requiredSkills: department.requiredSkills,
            leaseSeconds: department.ringTimeoutSeconds + 15,
            callId: state.callId,
            excludeAgentIds: state.excluded,
            // Presence opens higher priority tiers only after the department's tier delay.
            waitedSeconds: Math.floor((Date.now() - (state.enqueuedAt ?? Date.now())) / 1000),
          }),
        ),
      ));
    } catch (error) {
      if (error instanceof Handover || error instanceof CallGone) throw error;
      // The caller keeps waiting with music (any fallback department needs presence too); the
      // next retry asks again. Counted once per call.
      this.log.warn({ err: error }, 'presence did not answer Reserve; the caller keeps waiting');
      if (!this.presenceFailed) {
        this.presenceFailed = true;
        routingMetrics.fallback.add(1, { tenant: state.tenantId, reason: 'service_unavailable' });
      }
      return [];
    }
    if (reservations.length === 0) {
      // Everyone free was tried without answer: start over with all members at the next chance.
      state.excluded = [];
      return [];
    }
    // Only ring-all rings several agents for one caller; any other strategy's extras go back.
    const ringing = department.strategy === 'ring-all' ? reservations : reservations.slice(0, 1);
    for (const other of reservations.slice(ringing.length)) await this.release(other.agentId, other.reservationId);
    return ringing.map(({ agentId, reservationId, target }) => ({ agentId, reservationId, target }));
  }

  /**
   * Ring-all: every reserved agent's phone (desk device, or home-office number through the trunk)
   * rings at once in one DialAll; the adapter bridges the first to answer and hangs up the rest.
   * The winner is confirmed, everyone else released; true when the caller is bridged.
   */
  private async ringAll(department: DepartmentSettings, reserved: Reserved[], resumed: boolean): Promise<boolean> {
    const { state } = this;
    const started = performance.now();
    if (!resumed) {
      const ringGroup = reserved.map(({ agentId, reservationId, target }) => ({
        agentId,
        reservationId,
        target: dialTargetOf(target, state.caller, {
          agent_id: agentId,
          department_id: department.departmentId,
          ...(department.siteId ? { site_id: department.siteId } : {}),
        }),
      }));
      await Promise.all([
        this.save({
          step: 'ringing',
          ringGroup,
          agentId: undefined,
          reservationId: undefined,
          target: undefined,
          attempt: state.attempt + 1,
        }),
        this.deps.queues.put(state.tenantId, department.departmentId, {
          key: state.queueKey!,
          callId: state.callId,
          enqueuedAt: state.enqueuedAt!,
          ringing: true,
        }),
      ]);
    }
    this.music = false;
    const group = state.ringGroup!;
    const control = this.control(department.ringTimeoutSeconds * 1000 + this.deps.config.ROUTING_RPC_TIMEOUT_MS * 2);
    routingMetrics.decision.record((performance.now() - started) / 1000, { step: 'dial' });
    let response: callControlV1.DialAllResponse;
    try {
      response = await this.guard(
        control.dialAll({
          ...this.command(`dial-${state.attempt}`),
          targets: group.map(({ target }) =>
            target.via === 'dial'
              ? { endpoint: target.endpoint, kind: LegKind.LEG_KIND_INTERNAL, tags: target.tags }
              : {
                  endpoint: this.deps.config.ROUTING_TRUNK_ENDPOINT.replace('{number}', target.endpoint),
                  kind: LegKind.LEG_KIND_FORWARDED_HOME_OFFICE,
                  tags: target.tags,
                },
          ),
          callerId: state.caller,
          timeoutSeconds: department.ringTimeoutSeconds,
          waitForOutcome: true,
        }),
      );
    } catch (error) {
      if (error instanceof Handover) throw error;
      if (error instanceof CallGone || hasStatus(error, NOT_FOUND)) {
        await Promise.all(group.map((member) => this.release(member.agentId, member.reservationId)));
        throw new CallGone('caller hung up while the agents rang');
      }
      this.log.warn({ err: error, agents: group.map((member) => member.agentId) }, 'ringing the agents failed');
      response = { legIds: [], answeredLegId: '', disposition: LegDisposition.LEG_DISPOSITION_FAILED };
    }
    const winner = response.answeredLegId ? group[response.legIds.indexOf(response.answeredLegId)] : undefined;
    if (winner) {
      this.countAnswered(department.departmentId);
      this.log.info(
        { agentId: winner.agentId, department: department.departmentId, rang: group.length },
        'call answered',
      );
      await Promise.all([
        this.deps.clients.presence
          .confirm({ tenantId: state.tenantId, agentId: winner.agentId, reservationId: winner.reservationId })
          .catch((error: unknown) =>
            this.log.warn({ err: error }, 'presence did not confirm; leg events will put the agent on call'),
          ),
        ...group
          .filter((member) => member !== winner)
          .map((member) => this.release(member.agentId, member.reservationId)),
        this.deps.queues.remove(state.queueKey!),
      ]);
      await this.save({
        step: 'bridged',
        agentId: winner.agentId,
        reservationId: winner.reservationId,
        target: winner.target,
        ringGroup: undefined,
      });
      return true;
    }
    // The whole ring's outcome: BUSY only when every phone answered busy.
    const busy = response.disposition === LegDisposition.LEG_DISPOSITION_BUSY;
    await Promise.all(group.map((member) => this.release(member.agentId, member.reservationId, busy)));
    if (response.disposition === LegDisposition.LEG_DISPOSITION_CANCELLED)
      throw new CallGone('caller hung up while the agents rang');
    this.log.info(
      { agents: group.map((member) => member.agentId), disposition: response.disposition },
      'nobody answered the ring-all; trying again',
    );
    await this.save({
      step: 'queued',
      excluded: [...state.excluded, ...group.map((member) => member.agentId)],
      ringGroup: undefined,
    });
    await this.deps.queues.put(state.tenantId, department.departmentId, {
      key: state.queueKey!,
      callId: state.callId,
      enqueuedAt: state.enqueuedAt!,
      ringing: false,
    });
    return false;
  }

  /** Dials a reserved agent; true when the agent answered and is bridged with the caller. */
  private async ring(department: DepartmentSettings, reservation: Reserved, resumed: boolean): Promise<boolean> {
    const { state } = this;
    const started = performance.now();
    if (!resumed) {
      const ringing = this.save({
        step: 'ringing',
        agentId: reservation.agentId,
        reservationId: reservation.reservationId,
        attempt: state.attempt + 1,
        target: dialTargetOf(reservation.target, state.caller, {
          agent_id: reservation.agentId,
          department_id: department.departmentId,
          ...(department.siteId ? { site_id: department.siteId } : {}),
        }),
      });
      await Promise.all([
        ringing,
        this.deps.queues.put(state.tenantId, department.departmentId, {
          key: state.queueKey!,
          callId: state.callId,
          enqueuedAt: state.enqueuedAt!,
          ringing: true,
        }),
      ]);
    }
    this.music = false;
    const target = state.target!;
    const control = this.control(department.ringTimeoutSeconds * 1000 + this.deps.config.ROUTING_RPC_TIMEOUT_MS * 2);
    const common = {
      ...this.command(`dial-${state.attempt}`),
      callerId: target.callerId,
      timeoutSeconds: department.ringTimeoutSeconds,
      tags: target.tags,
    };
    routingMetrics.decision.record((performance.now() - started) / 1000, { step: 'dial' });
    let disposition: callV1.LegDisposition;
    try {
      ({ disposition } = await this.guard(
        target.via === 'dial'
          ? control.dial({
              ...common,
              endpoint: target.endpoint,
              kind: LegKind.LEG_KIND_INTERNAL,
              waitForOutcome: true,
            })
          : control.forward({ ...common, number: target.endpoint, homeOffice: target.homeOffice }),
      ));
    } catch (error) {
      if (error instanceof Handover) throw error;
      if (error instanceof CallGone || hasStatus(error, NOT_FOUND)) {
        await this.release(reservation.agentId, reservation.reservationId);
        throw new CallGone('caller hung up while an agent rang');
      }
      this.log.warn({ err: error, agentId: reservation.agentId }, 'dialling the agent failed');
      disposition = LegDisposition.LEG_DISPOSITION_FAILED;
    }
    if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED) {
      // Counted first: a short call may end (and abort this flow) before the writes below.
      this.countAnswered(department.departmentId);
      this.log.info({ agentId: reservation.agentId, department: department.departmentId }, 'call answered');
      await Promise.all([
        this.deps.clients.presence
          .confirm({ tenantId: state.tenantId, agentId: reservation.agentId, reservationId: reservation.reservationId })
          .catch((error: unknown) =>
            this.log.warn({ err: error }, 'presence did not confirm; leg events will put the agent on call'),
          ),
        this.deps.queues.remove(state.queueKey!),
      ]);
      await this.save({ step: 'bridged' });
      return true;
    }
    const busy = disposition === LegDisposition.LEG_DISPOSITION_BUSY;
    await this.release(reservation.agentId, reservation.reservationId, busy);
    if (disposition === LegDisposition.LEG_DISPOSITION_CANCELLED)
      throw new CallGone('caller hung up while an agent rang');
    this.log.info({ agentId: reservation.agentId, disposition }, 'agent did not answer; trying the next');
    await this.save({
      step: 'queued',
      excluded: [...state.excluded, reservation.agentId],
      agentId: undefined,
      reservationId: undefined,
      target: undefined,
    });
    await this.deps.queues.put(state.tenantId, department.departmentId, {
      key: state.queueKey!,
      callId: state.callId,
      enqueuedAt: state.enqueuedAt!,
      ringing: false,
    });
    return false;
  }

  private overflowDue(department: DepartmentSettings): boolean {
    if (department.overflow.kind === 'none' || department.maxWaitSeconds === 0) return false;
    // A citizen who was called back waits at the front by the original arrival; no second overflow.
    if (this.state.callback) return false;
    if (this.state.overflows >= MAX_OVERFLOWS) return false;
    return Date.now() - this.state.enqueuedAt! >= department.maxWaitSeconds * 1000;
  }

  private async overflow(department: DepartmentSettings): Promise<void> {
    const { state } = this;
    const { kind, target } = department.overflow;
    const attributes = { tenant: state.tenantId, department: department.departmentId };
    routingMetrics.overflowed.add(1, { ...attributes, target: kind });
    routingMetrics.wait.record((Date.now() - state.enqueuedAt!) / 1000, { ...attributes, outcome: 'overflowed' });
    await this.deps.queues.remove(state.queueKey!);
    this.leaveQueueMetric();
    state.overflows += 1;
    this.log.info({ department: department.departmentId, kind, target }, 'max wait passed: overflow');
    if (kind === 'department') return this.enqueue(target);
    if (kind === 'callback') {
      const view = await this.deps.directory.get(state.tenantId).catch(() => undefined);
      if (!this.callbackAllowed(view, department)) return this.toVoicemail(department.departmentId, []);
      await this.storeCallback(department.departmentId);
      return this.announce(PROMPTS.callbackRegistered);
    }
    return this.toVoicemail(target, []);
  }

  /**
   * The department is closed (outside its hours, a public holiday or a closing day): the caller
   * hears so and when it opens again, then goes where the department sends callers meanwhile.
   */
  private async closed(view: TenantView, department: DepartmentSettings, open: OpenAnswer): Promise<void> {
    const { state } = this;
    const notice = closedNotice(view.schedule(department), open.state, new Date());
    const { kind, target } = department.closedTarget;
    this.log.info(
      { department: department.departmentId, state: open.state, reason: open.reason, kind, target },
      'department closed: its closed handling',
    );
    switch (kind) {
      case 'voicemail':
        return this.toVoicemail(target, notice);
      case 'callback':
        if (!this.callbackAllowed(view, department)) return this.toVoicemail(department.departmentId, notice);
        // The callback worker dials it once the department is open again.
        await this.storeCallback(department.departmentId);
        return this.announce(PROMPTS.callbackRegistered, notice);
      case 'department':
        // Departments that send closed callers to each other end with the goodbye, not a loop.
        if (state.overflows < MAX_OVERFLOWS && target !== department.departmentId) {
          state.overflows += 1;
          await this.playToEnd(notice, `closed-${state.overflows}`);
          return this.enqueue(target);
        }
        break;
      case 'none':
        break;
    }
    // "Call again then" needs a time to refer to; without hours the general goodbye.
    return this.announce(notice.length > 1 ? PROMPTS.callAgainGoodbye : PROMPTS.serviceUnavailable, notice);
  }

  /** The department's hours ended (or a closing day began) while the caller waited. */
  private async closedWhileWaiting(view: TenantView, department: DepartmentSettings): Promise<void> {
    const { state } = this;
    await this.deps.queues.remove(state.queueKey!);
    this.leaveQueueMetric();
    routingMetrics.wait.record((Date.now() - state.enqueuedAt!) / 1000, {
      tenant: state.tenantId,
      department: department.departmentId,
      outcome: 'closed',
    });
    return this.closed(view, department, openState(view.schedule(department), new Date()));
  }

  /**
   * The caller pressed the department's callback key: they leave the queue, and the callback
   * worker calls them back once every caller who arrived before them is served (their place),
   * putting them in the queue by their original arrival.
   */
  private async callbackKeepingPlace(department: DepartmentSettings): Promise<void> {
    const { state } = this;
    await this.deps.queues.remove(state.queueKey!);
    this.leaveQueueMetric();
    routingMetrics.wait.record((Date.now() - state.enqueuedAt!) / 1000, {
      tenant: state.tenantId,
      department: department.departmentId,
      outcome: 'callback',
    });
    this.log.info(
      { department: department.departmentId },
      'caller pressed the callback key: callback keeping the place',
    );
    await this.storeCallback(department.departmentId, true);
    return this.announce(PROMPTS.callbackRegistered);
  }

  /**
   * Whether the caller can be promised a callback: the outbound policy of the department's site
   * must allow their number (a withheld one never can). Such a caller is offered no callback key
   * and leaves a message in the department's voicemail box instead. Without the directory the
   * request is stored, and the callback worker checks before it dials.
   */
  private callbackAllowed(view: TenantView | undefined, department: DepartmentSettings): boolean {
    const decision = view?.checkOutbound(this.state.caller, department.siteId);
    if (!decision || decision.allowed) return true;
    this.log.info(
      { department: department.departmentId, reason: decision.reason },
      "no callback: the outbound policy does not allow the caller's number",
    );
    return false;
  }

  private async storeCallback(departmentId: string, keepsPlace = false): Promise<void> {
    const { state } = this;
    const request: CallbackRequest = {
      tenantId: state.tenantId,
      callId: state.callId,
      number: state.caller,
      departmentId,
      requestedAt: new Date().toISOString(),
      adapterId: state.adapterId,
      arrivedAt: state.startedAt,
      attempts: 0,
      ...(keepsPlace ? { keepsPlace } : {}),
    };
    await this.deps.callbacks.put(callKey(state.tenantId, state.callId), JSON.stringify(request));
  }

  private async toVoicemail(departmentId: string, notice: string[]): Promise<void> {
    return this.save({
      step: 'voicemail',
      voicemail: { departmentId, greeting: [...notice, PROMPTS.voicemailGreeting] },
    });
  }

  /**
   * Greeting, beep, the caller's message into the department's voicemail box (the adapter
   * records, stores and announces it), then thanks and goodbye. A message too short or silent
   * is discarded by the adapter; a failed recording is logged and the caller told so — the call
   * always ends with an announcement.
   */
  private async recordVoicemail(): Promise<void> {
    const { state } = this;
    const box = state.voicemail!;
    await this.answer();
    let response: callControlV1.RecordVoicemailResponse;
    try {
      response = await this.guard(
        this.control(VOICEMAIL_TIMEOUT_MS).recordVoicemail({
          ...this.command('voicemail'),
          greeting: box.greeting,
          language: '',
          departmentId: box.departmentId,
          maxDurationSeconds: 0,
          maxSilenceSeconds: 0,
          beep: true,
          terminateOn: '',
        }),
      );
    } catch (error) {
      if (error instanceof Handover || error instanceof CallGone || hasStatus(error, NOT_FOUND)) throw error;
      this.log.warn({ err: error, voicemailBox: box.departmentId }, 'voicemail could not be recorded');
      return this.announce(PROMPTS.voicemailUnavailable);
    }
    const { VoicemailOutcome } = callControlV1;
    const details = { voicemailBox: box.departmentId, seconds: response.durationSeconds, reason: response.reason };
    switch (response.outcome) {
      case VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED:
        this.log.info(details, 'voicemail recorded');
        return this.announce(PROMPTS.voicemailThanks);
      case VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED:
        this.log.info(details, 'voicemail discarded (too short or silent)');
        return this.announce(PROMPTS.voicemailEmpty);
      default:
        this.log.warn({ ...details, outcome: response.outcome }, 'voicemail recording failed');
        return this.announce(PROMPTS.voicemailUnavailable);
    }
  }

  private async fallback(reason: FallbackReason, cause: unknown): Promise<void> {
    const { state } = this;
    routingMetrics.fallback.add(1, { tenant: state.tenantId, reason });
    this.log.warn({ reason, err: cause, dialed: state.dialedNumber }, 'call takes the fallback path');
    const view = await this.deps.directory.get(state.tenantId).catch(() => undefined);
    const department = view?.fallbackDepartment(this.deps.config.ROUTING_FALLBACK_DEPARTMENTS);
    if (department && state.departmentId !== department.departmentId) return this.enqueue(department.departmentId);
    return this.announce(PROMPTS.serviceUnavailable);
  }

  private async announce(prompt: string, notice: string[] = []): Promise<void> {
    return this.save({ step: 'announcing', announcement: prompt, notice });
  }

  /** Plays the announcement to its end (a collect that wants no digit), then hangs up. Never silence. */
  private async announceAndHangUp(): Promise<void> {
    const { state } = this;
    await this.playToEnd([...(state.notice ?? []), state.announcement ?? PROMPTS.serviceUnavailable], 'announcement');
    await this.guard(this.control().hangup({ ...this.command('hangup'), cause: 16 }));
    await this.save({ step: 'ended', endedReason: 'announcement' });
  }

  /** Plays prompts to their end (a collect that wants no digit); answers the caller first. */
  private async playToEnd(media: string[], name: string): Promise<void> {
    await this.answer();
    await this.guard(
      this.control(COLLECT_TIMEOUT_MS).playAndCollect({
        ...this.command(name),
        media,
        language: '',
        maxDigits: 1,
        terminator: '',
        firstDigitTimeoutMs: 1,
        interDigitTimeoutMs: 1,
        bargeIn: false,
      }),
    );
  }

  // ---- endings --------------------------------------------------------------------------------

  private async finishAbandoned(): Promise<void> {
    const { state } = this;
    const wasWaiting = state.step === 'queued' || state.step === 'ringing';
    // An agent may have answered just before the call ended, before the Dial reply came.
    const agentAnswered = agentAnsweredIn(this.endedEvent);
    if (agentAnswered && wasWaiting && state.departmentId) this.countAnswered(state.departmentId);
    if (state.queueKey && wasWaiting) await this.deps.queues.remove(state.queueKey).catch(() => undefined);
    if (state.step === 'ringing') {
      const answeredBy = answeredAgentIn(this.endedEvent);
      for (const held of heldReservations(state)) {
        if (held.agentId !== answeredBy) await this.release(held.agentId, held.reservationId);
      }
    }
    const abandoned = wasWaiting && !this.answeredCounted;
    let ended = false;
    try {
      await this.save({ step: 'ended', endedReason: abandoned ? 'abandoned' : 'ended' });
      ended = true;
    } catch (error) {
      // Someone else (the call-ended cleanup) ended it first and counted it.
      if (!(error instanceof CallGone)) this.log.warn({ err: error }, 'could not mark the call ended');
    }
    if (ended && abandoned && state.departmentId) {
      const attributes = { tenant: state.tenantId, department: state.departmentId };
      routingMetrics.abandoned.add(1, attributes);
      routingMetrics.wait.record((Date.now() - (state.enqueuedAt ?? Date.now())) / 1000, {
        ...attributes,
        outcome: 'abandoned',
      });
    }
    this.log.info({ step: state.step }, 'caller gone');
  }

  private countAnswered(departmentId: string): void {
    if (this.answeredCounted) return;
    this.answeredCounted = true;
    const attributes = { tenant: this.state.tenantId, department: departmentId };
    routingMetrics.answered.add(1, attributes);
    if (this.state.enqueuedAt)
      this.deps.waits.record(this.state.tenantId, departmentId, Date.now() - this.state.enqueuedAt);
    routingMetrics.wait.record((Date.now() - (this.state.enqueuedAt ?? Date.now())) / 1000, {
      ...attributes,
      outcome: 'answered',
    });
    this.leaveQueueMetric();
  }

  private async handOver(): Promise<void> {
    await this.save({ owner: '' }).catch((error: unknown) =>
      this.log.warn({ err: error }, 'could not checkpoint the call for handover'),
    );
    this.log.info({ step: this.state.step }, 'call handed over to another replica');
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Writes the state (compare-and-set). A call ended meanwhile is CallGone; a lost call too. */
  private async save(patch: Partial<CallState>): Promise<void> {
    // In place: the flow's methods hold `this.state` across saves.
    const next: CallState = Object.assign(this.current.state, patch, { owner: patch.owner ?? this.deps.replicaId });
    try {
      this.current = await this.deps.states.update(next, this.current.revision);
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      const fresh = await this.deps.states.get(next.tenantId, next.callId);
      if (!fresh || fresh.state.step === 'ended') throw new CallGone('the call ended meanwhile');
      if (fresh.state.owner && fresh.state.owner !== this.deps.replicaId) {
        throw new CallGone(`call taken over by ${fresh.state.owner}`);
      }
      this.current = await this.deps.states.update(next, fresh.revision);
    }
  }

  private guard<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.aborted]);
  }

  private control(timeoutMs = this.deps.config.ROUTING_RPC_TIMEOUT_MS): CallControlClient {
    return this.deps.clients.control(this.state.adapterId, timeoutMs);
  }

  private command(name?: string) {
    return { tenantId: this.state.tenantId, callId: this.state.callId, commandId: commandId(this.state.callId, name) };
  }

  private async answer(): Promise<void> {
    if (this.state.answered) return;
    await this.guard(this.control().answer(this.command('answer')));
    this.state.answered = true;
  }

  private async holdMusic(): Promise<void> {
    await this.answer();
    await this.guard(this.control().startMusicOnHold({ ...this.command(), mohClass: '' }));
    this.music = true;
  }

  /**
   * On entering the queue and every announce interval: the caller's position and, when the
   * department's recent answers allow an estimate, the expected rest of the wait in minutes.
   */
  private async announceWait(position: number, callbackKey: string): Promise<void> {
    const { state } = this;
    const now = Date.now();
    if (now - this.lastAnnouncement < this.deps.config.ROUTING_ANNOUNCE_INTERVAL_MS) return;
    const media = position <= LAST_ANNOUNCED_POSITION ? [PROMPTS.queuePosition(position)] : [];
    const remaining = this.deps.waits.remainingMs(state.tenantId, state.departmentId!, now - state.enqueuedAt!, now);
    if (remaining !== undefined) {
      // "About one minute" at least: a caller still waiting is not told zero.
      const minutes = Math.max(1, Math.ceil(remaining / 60_000));
      if (minutes <= LAST_ANNOUNCED_WAIT_MINUTES) media.push(PROMPTS.expectedWait(minutes));
    }
    if (media.length === 0) return;
    if (callbackKey) media.push(PROMPTS.callbackOffer(callbackKey));
    this.lastAnnouncement = now;
    await this.guard(this.control().play({ ...this.command(), media, language: '' }));
  }

  private async openState(): Promise<number> {
    if (!this.state.siteId) return 0;
    try {
      const { state } = await this.deps.clients.directory.isOpen({
        tenantId: this.state.tenantId,
        siteId: this.state.siteId,
        departmentId: '',
        at: undefined,
      });
      return state;
    } catch (error) {
      // Unspecified counts as open in the IVR: a directory outage never locks callers out.
      this.log.warn({ err: error }, 'IsOpen failed; the menu treats the site as open');
      return 0;
    }
  }

  private async tenantOrFallback(): Promise<TenantView | undefined> {
    try {
      return await this.deps.directory.get(this.state.tenantId);
    } catch (error) {
      routingMetrics.fallback.add(1, { tenant: this.state.tenantId, reason: 'service_unavailable' });
      this.log.warn({ err: error }, 'directory unreachable: announcement instead of routing');
      await this.announce(PROMPTS.serviceUnavailable);
      return undefined;
    }
  }

  /** Ends a reservation; an agent whose phone answered busy is held out of offers for the back-off. */
  private async release(agentId: string, reservationId: string, phoneBusy = false): Promise<void> {
    const busySeconds = phoneBusy ? this.deps.config.ROUTING_BUSY_BACKOFF_SECONDS : 0;
    await this.deps.clients.presence
      .release({ tenantId: this.state.tenantId, agentId, reservationId, wrapUp: false, busySeconds })
      .catch((error: unknown) => this.log.warn({ err: error, agentId }, 'release failed; the lease returns the agent'));
  }

  private enterQueueMetric(): void {
    if (this.holdsQueueMetric) return;
    this.holdsQueueMetric = true;
    routingMetrics.queued.add(1, { tenant: this.state.tenantId, department: this.state.departmentId ?? '' });
  }

  private leaveQueueMetric(): void {
    if (!this.holdsQueueMetric) return;
    this.holdsQueueMetric = false;
    routingMetrics.queued.add(-1, { tenant: this.state.tenantId, department: this.state.departmentId ?? '' });
  }
}

/** The agent whose leg (tagged by routing) was answered in the ended call, if any. */
export function answeredAgentIn(ended: callV1.CallEnded | undefined): string | undefined {
  return ended?.legs.find((leg) => leg.tags['agent_id'] && leg.answeredAt)?.tags['agent_id'];
}

/** Whether an agent's leg (tagged by routing) was answered in the ended call. */
export function agentAnsweredIn(ended: callV1.CallEnded | undefined): boolean {
  return answeredAgentIn(ended) !== undefined;
}

/** A reserved agent and where presence says to dial them. */
interface Reserved {
  agentId: string;
  reservationId: string;
  target?: presenceV1.DialTarget;
}

/** `kropp-1001` and `PJSIP/kropp-1001` both dial the PJSIP endpoint. */
export function dialString(device: string): string {
  return device.includes('/') ? device : `PJSIP/${device}`;
}

function dialTargetOf(
  target: presenceV1.DialTarget | undefined,
  callerId: string,
  tags: Record<string, string>,
): ConnectTarget {
  if (target?.externalNumber) {
    return { via: 'forward', endpoint: target.externalNumber, callerId, homeOffice: true, tags };
  }
  return { via: 'dial', endpoint: dialString(target?.endpoint ?? ''), callerId, homeOffice: false, tags };
}
