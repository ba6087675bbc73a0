import type { PubAck } from '@nats-io/jetstream';
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { CallEvents, type EventPayload, type EventType } from '@switchboard/events';
import { callV1 } from '@switchboard/proto';
import { newEventMeta, type Logger } from '@switchboard/service-kit';
import { AriRequestError, type AriOps } from './ari-ops.js';
import {
  ariTime,
  stasisArgs,
  type AriBridge,
  type AriChannel,
  type AriEvent,
  type AriEventOf,
  type RecordingEvent,
} from './ari-types.js';
import {
  CALL_VARIABLE,
  CallMemoryReader,
  callMemoryOf,
  type CallMemory,
  type LegMemory,
  type PartyMemory,
} from './call-memory.js';
import {
  type CallRegistry,
  callerLeg,
  isLive,
  legFromMessage,
  legMessage,
  newCall,
  newLeg,
  type CallRecord,
  type LegRecord,
  type PendingOriginate,
  type RingGroup,
} from './calls.js';
import { CAUSE_TEXT, dispositionOfCause, dispositionOfDialStatus } from './dispositions.js';
import type { HandedOverCall } from './handover.js';
import { endpointOfChannelName, type TenantLookup, type TenantMatch } from './tenant-resolver.js';
import { failureReason, playbackOutcome } from './media.js';
import type { AdapterMetrics } from './metrics.js';
import { adoptRingback, stopRingback } from './ringback.js';

const { CallDirection, LegDisposition, LegKind, LegState, PlaybackOutcome } = callV1;

export interface TrackerDependencies {
  adapterId: string;
  registry: CallRegistry;
  ari: AriOps;
  resolver: TenantLookup;
  publish<T extends EventPayload>(type: EventType<T>, payload: T): Promise<PubAck>;
  /** Keeps shutdown waiting until a call has ended. */
  track(work: Promise<unknown>): void;
  /** Called when a channel re-enters Stasis after ReceiveFAX. */
  onFaxDone(call: CallRecord, args: string[]): Promise<void>;
  /** RecordingStarted, RecordingFinished and RecordingFailed, for the voicemail recorder. */
  onRecording(event: RecordingEvent): void;
  /** A call taken over from an earlier process, with its legs: repeats of their commands answer from them. */
  onTakenOver(call: CallRecord): void;
  metrics: AdapterMetrics;
  logger: Logger;
}

const PRODUCER = 'ari-adapter';
const tracer = trace.getTracer('@switchboard/ari-adapter');
const DIRECTION_NAMES: Record<number, string> = {
  [CallDirection.CALL_DIRECTION_INBOUND]: 'inbound',
  [CallDirection.CALL_DIRECTION_OUTBOUND]: 'outbound',
  [CallDirection.CALL_DIRECTION_INTERNAL]: 'internal',
};
const MAX_TYPE_AHEAD = 32;
const NORMAL_CLEARING = 16;
const ANSWERED_ELSEWHERE = 26;
const TEMPORARY_FAILURE = 41;

/** Short numbers are extensions: a device dialling one makes an internal call. */
const EXTENSION = /^\d{2,6}$/;

/** A channel sitting in the app, with the args it entered with. */
interface ListedChannel {
  channel: AriChannel;
  args: string[];
}

/** A dialled leg's channel in a take-over, with what it kept. */
type TakenLeg = ListedChannel & { memory?: LegMemory };

interface CallFields {
  callId: string;
  tenantId: string;
  direction: callV1.CallDirection;
  dialedNumber: string;
  callerName: string;
  leg: LegRecord;
  /** When the call started. */
  at: Date;
}

/**
 * The caller leg of an originated call: the dialled party, kind EXTERNAL, so rating bills the call
 * to that number. Also what the originate keeps on its channel (call-memory.ts).
 */
export function originatedLeg(
  channelId: string,
  origin: Pick<PendingOriginate, 'endpoint' | 'callerId' | 'number' | 'createdAt' | 'tags'>,
): LegRecord {
  return newLeg({
    legId: channelId,
    channelId,
    kind: LegKind.LEG_KIND_EXTERNAL,
    endpoint: origin.endpoint,
    from: origin.callerId,
    to: origin.number,
    createdAt: origin.createdAt,
    tags: { ...origin.tags },
    createdByAdapter: true,
    state: LegState.LEG_STATE_ANSWERED,
  });
}

const legStateOf = (channel: AriChannel): callV1.LegState =>
  channel.state === 'Up'
    ? LegState.LEG_STATE_ANSWERED
    : channel.state === 'Ringing'
      ? LegState.LEG_STATE_RINGING
      : LegState.LEG_STATE_DIALING;

/**
 * Turns ARI events into call state and Switchboard call events. Every call starts with the
 * caller's channel entering Stasis and ends when its last leg is gone; the adapter then
 * publishes CallEnded with every leg, the record rating bills from.
 */
export class CallTracker {
  /** Originated channels not answered yet, by channel id. */
  private readonly originating = new Map<string, PendingOriginate>();
  private readonly memory: CallMemoryReader;
  /** While above 0, events wait in `heldEvents` (a take-over is reading what its calls need). */
  private held = 0;
  private readonly heldEvents: AriEvent[] = [];

  constructor(private readonly deps: TrackerDependencies) {
    this.memory = new CallMemoryReader(deps.ari, deps.logger);
  }

  /**
   * Runs `work` with events held back; they are applied afterwards, in order, to what it set up. A
   * take-over reads channel variables before its calls exist, and an event for them meanwhile (a
   * hangup) must find them rather than be dropped as unknown.
   */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    this.held += 1;
    try {
      return await work();
    } finally {
      this.held -= 1;
      while (this.held === 0 && this.heldEvents.length > 0) {
        const event = this.heldEvents.shift()!;
        try {
          this.apply(event);
        } catch (error) {
          this.deps.logger.error({ err: error, type: event.type }, 'ARI event handling failed');
        }
      }
    }
  }

  /** Registers an originate before it is sent, so none of its events can arrive unrecognised. */
  expectOriginate(channelId: string, pending: PendingOriginate): void {
    this.originating.set(channelId, pending);
  }

  /** The originate request itself failed: no channel will come. */
  originateFailed(channelId: string, disposition: callV1.LegDisposition): void {
    const pending = this.originating.get(channelId);
    if (!pending) return;
    this.originating.delete(channelId);
    pending.settleOutcome(disposition);
  }

  /** Applies one event; state changes happen in event order, ARI requests they cause run detached. */
  handle(event: AriEvent): void {
    if (this.held > 0) this.heldEvents.push(event);
    else this.apply(event);
  }

  private apply(event: AriEvent): void {
    switch (event.type) {
      case 'StasisStart':
        return this.onStasisStart(event);
      case 'StasisEnd':
        return this.onStasisEnd(event);
      case 'ChannelStateChange':
        return this.onStateChange(event);
      case 'ChannelHangupRequest':
        return this.onHangupRequest(event);
      case 'ChannelDestroyed':
        return this.onDestroyed(event);
      case 'ChannelDtmfReceived':
        return this.onDtmf(event);
      case 'Dial':
        return this.onDial(event);
      case 'PlaybackFinished':
        return this.onPlaybackFinished(event);
      case 'RecordingStarted':
      case 'RecordingFinished':
      case 'RecordingFailed':
        return this.deps.onRecording(event);
      case 'ApplicationReplaced':
        return;
    }
  }

  /**
   * A channel that entered our app and that no call of ours has: a new call (its StasisStart), or
   * one whose StasisStart was missed while the events connection was down. Nothing to read first:
   * this is every call's start, and it costs no request.
   */
  adopt(channel: AriChannel, args: string[], at: Date): CallRecord {
    const pending = this.originating.get(channel.id);
    if (pending) return this.adoptOriginated(channel, pending, at);
    const caller = this.callerOf(channel, args);
    const leg = newLeg({
      legId: channel.id,
      channelId: channel.id,
      kind: LegKind.LEG_KIND_CALLER,
      endpoint: channel.name,
      from: channel.caller.number,
      to: caller.dialedNumber,
      createdAt: ariTime(channel.creationtime),
      tags: {},
      createdByAdapter: false,
      state: channel.state === 'Up' ? LegState.LEG_STATE_ANSWERED : LegState.LEG_STATE_RINGING,
    });
    if (channel.state === 'Up') leg.answeredAt = at;
    return this.startCall({
      callId: channel.id,
      tenantId: this.claimed(caller.tenant(), caller.dialedNumber, channel),
      direction: caller.direction,
      dialedNumber: caller.dialedNumber,
      callerName: channel.caller.name,
      leg,
      at,
    });
  }

  /** What a caller's channel and its Stasis args tell about the call. */
  private callerOf(channel: AriChannel, args: string[]) {
    const role = args[0] ?? 'inbound';
    const dialedNumber = args[1] ?? channel.dialplan?.exten ?? '';
    const endpoint = endpointOfChannelName(channel.name);
    const direction =
      role === 'outbound'
        ? EXTENSION.test(dialedNumber)
          ? CallDirection.CALL_DIRECTION_INTERNAL
          : CallDirection.CALL_DIRECTION_OUTBOUND
        : CallDirection.CALL_DIRECTION_INBOUND;
    return {
      dialedNumber,
      direction,
      tenant: () => this.deps.resolver.resolve(dialedNumber, role === 'outbound' ? endpoint : undefined),
    };
  }

  private claimed(tenant: TenantMatch, dialedNumber: string, channel: AriChannel): string {
    if (!tenant.matched) {
      this.deps.logger.warn(
        { dialedNumber, channel: channel.name },
        'no tenant claims this call; it goes to the fallback tenant',
      );
      this.deps.metrics.unclaimedCalls.add(1);
    }
    return tenant.tenantId;
  }

  /**
   * An originated channel was answered and entered Stasis: a new outbound call whose caller leg is
   * the dialled party. Its kind is EXTERNAL, so rating bills it as the call to that number.
   */
  private adoptOriginated(channel: AriChannel, pending: PendingOriginate, at: Date): CallRecord {
    this.originating.delete(channel.id);
    const leg = originatedLeg(channel.id, pending);
    leg.answeredAt = at;
    const call = this.startCall({
      callId: channel.id,
      tenantId: pending.tenantId,
      direction: CallDirection.CALL_DIRECTION_OUTBOUND,
      dialedNumber: pending.number,
      callerName: '',
      leg,
      at,
    });
    pending.settleOutcome(LegDisposition.LEG_DISPOSITION_ANSWERED);
    return call;
  }

  /**
   * After a (re)connect, e.g. in a new process after the last one died: takes over the calls of the
   * channels in the app that this process does not know. Asterisk still has them, with what the
   * adapter kept on them (call-memory.ts) and the bridges that tell which legs talk together. A call
   * the memory shows was announced publishes no call.started again; the rest (a caller who entered the
   * app just before the last process died) start as new calls. Parties that left while no adapter was
   * listening (their channel is gone, the memory names them) end now, as reconciliation ends a leg
   * whose end was missed. `at` stands for times nothing kept.
   */
  async takeOver(
    listed: readonly ListedChannel[],
    bridges: readonly AriBridge[],
    listedAt: number,
    at: Date,
  ): Promise<Set<string>> {
    const unknown = listed.filter(({ channel }) => !this.deps.registry.byChannelId(channel.id));
    const [legs, callers] = await Promise.all([
      Promise.all(
        unknown
          .filter(({ args }) => args[0] === 'dialed')
          .map(async (entry): Promise<TakenLeg> => ({ ...entry, memory: await this.memory.leg(entry.channel) })),
      ),
      Promise.all(
        unknown
          .filter(({ args }) => args[0] !== 'dialed')
          .map(async (entry) => ({
            ...entry,
            call: await this.memory.call(entry.channel),
            origin: entry.args[0] === 'originated' ? await this.memory.leg(entry.channel) : undefined,
          })),
      ),
    ]);
    const legsOf = new Map<string, TakenLeg[]>();
    for (const leg of legs) {
      const callId = leg.memory?.callId ?? leg.args[1] ?? '';
      legsOf.set(callId, [...(legsOf.get(callId) ?? []), leg]);
    }
    // The calls found in Asterisk (some end at once, e.g. one whose caller left).
    const found = new Set([...callers.map((caller) => caller.channel.id), ...legsOf.keys()]);
    for (const caller of callers) {
      // Events are held, but a run's list may be older than a call this process started meanwhile.
      if (this.deps.registry.byChannelId(caller.channel.id)) continue;
      this.takeOverCall(caller, legsOf.get(caller.channel.id) ?? [], bridges, listedAt, at);
      legsOf.delete(caller.channel.id);
    }
    for (const [callId, orphans] of legsOf) this.takeOverWithoutCaller(callId, orphans, bridges, listedAt, at);
    return found;
  }

  private takeOverCall(
    caller: ListedChannel & { call?: CallMemory; origin?: LegMemory },
    legs: readonly TakenLeg[],
    bridges: readonly AriBridge[],
    listedAt: number,
    at: Date,
  ): void {
    const { channel, args, call: memory, origin } = caller;
    const announced = memory !== undefined || legs.some((leg) => leg.memory !== undefined);
    const up = channel.state === 'Up';
    let callerLegRecord: LegRecord;
    let fields: Omit<CallFields, 'leg' | 'at' | 'callId'>;
    if (args[0] === 'originated' && origin) {
      callerLegRecord = originatedLeg(channel.id, {
        ...origin,
        number: origin.to,
        callerId: origin.from,
        createdAt: new Date(origin.createdAt),
      });
      fields = {
        tenantId: origin.tenantId,
        direction: CallDirection.CALL_DIRECTION_OUTBOUND,
        dialedNumber: origin.to,
        callerName: '',
      };
    } else {
      const described = this.callerOf(channel, args);
      const dialedNumber = memory?.dialedNumber ?? described.dialedNumber;
      callerLegRecord = newLeg({
        legId: channel.id,
        channelId: channel.id,
        kind: LegKind.LEG_KIND_CALLER,
        endpoint: channel.name,
        from: channel.caller.number,
        to: dialedNumber,
        createdAt: ariTime(channel.creationtime),
        tags: { ...memory?.tags },
        createdByAdapter: false,
        // Kept before a fax hand-off without an answer, the caller's answer is nothing the adapter saw.
        state: up && (!memory || memory.answeredAt) ? LegState.LEG_STATE_ANSWERED : LegState.LEG_STATE_RINGING,
      });
      const tenantId =
        memory?.tenantId ??
        legs.find((leg) => leg.memory)?.memory?.tenantId ??
        this.claimed(described.tenant(), described.dialedNumber, channel);
      fields = {
        tenantId,
        direction: memory?.direction ?? described.direction,
        dialedNumber,
        callerName: memory?.callerName ?? channel.caller.name,
      };
    }
    if (up && memory?.answeredAt) callerLegRecord.answeredAt = new Date(memory.answeredAt);
    else if (up && !memory) callerLegRecord.answeredAt = this.unknownAnswer(announced, at);
    callerLegRecord.confirmedAt = listedAt;
    const startedAt = memory ? new Date(memory.startedAt) : at;
    if (!announced) {
      const call = this.startCall({ callId: channel.id, ...fields, leg: callerLegRecord, at: startedAt });
      this.deps.metrics.callsAdopted.add(1, { announced: 'false' });
      this.deps.logger.info({ callId: call.callId }, 'took over a call nothing was kept for; call.started published');
      if (args[0] === 'faxdone') this.detach(call, this.deps.onFaxDone(call, args), 'fax hand-back failed');
      return;
    }
    const call = this.openCall({ callId: channel.id, ...fields, leg: callerLegRecord, at: startedAt });
    const answeredAt = new Map(memory?.legs.map((leg) => [leg.legId, new Date(leg.answeredAt)]));
    this.addTakenLegs(call, legs, answeredAt, bridges, listedAt, at);
    // Answered legs whose channel went while nobody listened: their talk is over.
    const gone = (memory?.legs ?? []).filter((leg) => !call.legs.has(leg.legId));
    for (const party of gone) {
      const leg = this.partyLeg(party, LegState.LEG_STATE_ANSWERED, true);
      leg.answeredAt = new Date(party.answeredAt);
      this.deps.registry.addLeg(call, leg);
    }
    // Whether music plays is nowhere in ARI: stopping it before a bridge costs one harmless request.
    call.mohPlaying = up && !call.bridgeId;
    adoptRingback(this.deps.ari, call, this.deps.logger);
    this.deps.metrics.callsAdopted.add(1, { announced: 'true' });
    this.deps.logger.info(
      { callId: call.callId, legs: call.legs.size, gone: gone.length, bridge: call.bridgeId },
      'took over a live call from what Asterisk kept',
    );
    // Routing may wait for a reply from the process that died: it sends that command again now.
    this.publish(call, CallEvents.takenOver, { callId: call.callId, adapterId: this.deps.adapterId });
    this.deps.onTakenOver(call);
    for (const party of gone) this.lostLeg(call, call.legs.get(party.legId)!);
    if (!call.ended) this.resume(call);
    if (args[0] === 'faxdone') this.detach(call, this.deps.onFaxDone(call, args), 'fax hand-back failed');
  }

  /**
   * Dialled legs whose caller left while no adapter listened: the call is rebuilt from what each leg
   * kept of it, its caller ends now (as a leg whose end was missed) and the legs are hung up behind it,
   * so its end is published with every leg still known.
   */
  private takeOverWithoutCaller(
    callId: string,
    legs: readonly TakenLeg[],
    bridges: readonly AriBridge[],
    listedAt: number,
    at: Date,
  ): void {
    const memory = legs.find((leg) => leg.memory?.call)?.memory;
    if (!memory?.call) {
      for (const { channel } of legs) {
        this.deps.logger.warn(
          { callId, channelId: channel.id },
          'a dialled leg of an unknown call, nothing kept of it; hanging it up',
        );
        this.hangUpOrphan(channel.id);
      }
      return;
    }
    const summary = memory.call;
    const callerLegRecord = this.partyLeg(
      summary.caller,
      summary.caller.answeredAt ? LegState.LEG_STATE_ANSWERED : LegState.LEG_STATE_RINGING,
      summary.caller.kind !== LegKind.LEG_KIND_CALLER,
    );
    if (summary.caller.answeredAt) callerLegRecord.answeredAt = new Date(summary.caller.answeredAt);
    // Bridged with a leg, the caller had been answered; when is lost with its channel.
    else if (legs.some(({ channel }) => bridges.some((bridge) => bridge.channels.includes(channel.id))))
      callerLegRecord.answeredAt = this.unknownAnswer(true, at);
    const call = this.openCall({
      callId,
      tenantId: memory.tenantId,
      direction: summary.direction,
      dialedNumber: summary.dialedNumber,
      callerName: summary.callerName,
      leg: callerLegRecord,
      at: new Date(summary.startedAt),
    });
    this.addTakenLegs(call, legs, new Map(), bridges, listedAt, at);
    this.deps.metrics.callsAdopted.add(1, { announced: 'true' });
    this.deps.logger.info(
      { callId, legs: call.legs.size },
      'took over the legs of a call whose caller left meanwhile; ending it',
    );
    this.deps.onTakenOver(call);
    this.lostLeg(call, callerLegRecord);
  }

  /**
   * Calls a stopped process handed over (handover.ts) that were not taken over from Asterisk: every
   * channel of theirs went while no process listened. They end now, each live leg as one whose end was
   * missed (cause 16 if it talked, `Channel gone without a hangup event`), so their call.ended carries
   * every leg. Who left first is unknown: `ended_by` is `system`.
   */
  endHandedOver(calls: readonly HandedOverCall[], found: ReadonlySet<string>): void {
    for (const handed of calls) {
      const [caller, ...dialled] = handed.legs.map(legFromMessage);
      if (!caller || found.has(handed.callId) || this.deps.registry.call(handed.callId)) continue;
      const call = this.openCall({ ...handed, leg: caller, at: handed.startedAt });
      for (const leg of dialled) this.deps.registry.addLeg(call, leg);
      call.endedBy = 'system';
      this.deps.logger.info(
        { callId: call.callId, legs: call.legs.size },
        'a handed-over call ended while no adapter listened; ending it',
      );
      for (const leg of [...dialled.filter(isLive), ...(isLive(caller) ? [caller] : [])]) this.lostLeg(call, leg);
    }
  }

  /** Adds a call's listed dialled legs: answered ones at the time kept, those in the call's bridge bridged. */
  private addTakenLegs(
    call: CallRecord,
    legs: readonly TakenLeg[],
    answeredAt: ReadonlyMap<string, Date>,
    bridges: readonly AriBridge[],
    listedAt: number,
    at: Date,
  ): void {
    const members = new Set(call.legs.keys());
    const bridge = bridges.find((candidate) =>
      candidate.channels.some((id) => members.has(id) || legs.some(({ channel }) => channel.id === id)),
    );
    if (bridge) call.bridgeId = bridge.id;
    const rings = new Map<string, RingGroup>();
    for (const taken of legs) {
      const leg = this.takenLeg(taken);
      if (taken.channel.state === 'Up') leg.answeredAt = answeredAt.get(leg.legId) ?? this.unknownAnswer(true, at);
      leg.confirmedAt = listedAt;
      if (taken.memory?.ring) {
        const ring = rings.get(taken.memory.ring) ?? { id: taken.memory.ring, legs: [] };
        rings.set(ring.id, ring);
        ring.legs.push(leg);
        leg.ringGroup = ring;
      }
      if (bridge?.channels.includes(leg.channelId)) {
        leg.bridged = true;
        leg.disposition = LegDisposition.LEG_DISPOSITION_ANSWERED;
        leg.settleOutcome(leg.disposition);
        if (leg.ringGroup) leg.ringGroup.winner = leg;
      }
      this.deps.registry.addLeg(call, leg);
    }
  }

  /** A dialled leg of a call being taken over, from its channel and its memory. */
  private takenLeg(taken: TakenLeg): LegRecord {
    const { channel, memory } = taken;
    const device = endpointOfChannelName(channel.name);
    const leg = memory
      ? this.partyLeg(memory, legStateOf(channel), true)
      : newLeg({
          legId: channel.id,
          channelId: channel.id,
          kind: LegKind.LEG_KIND_INTERNAL,
          endpoint: device ? `PJSIP/${device}` : channel.name,
          from: channel.caller.number,
          to: device ?? '',
          createdAt: ariTime(channel.creationtime),
          tags: {},
          createdByAdapter: true,
          state: legStateOf(channel),
        });
    leg.command = memory?.command;
    // Listed in the app: it is past its StasisStart.
    leg.settleStasis(true);
    if (!memory)
      this.deps.logger.warn({ channelId: channel.id }, 'a dialled leg without its memory: kind and tags are unknown');
    return leg;
  }

  /** A leg as its memory describes it (its id is its channel's). */
  private partyLeg(party: PartyMemory, state: callV1.LegState, createdByAdapter: boolean): LegRecord {
    return newLeg({
      legId: party.legId,
      channelId: party.legId,
      kind: party.kind,
      endpoint: party.endpoint,
      from: party.from,
      to: party.to,
      createdAt: new Date(party.createdAt),
      tags: { ...party.tags },
      createdByAdapter,
      state,
    });
  }

  /** An answer nothing kept (the process died before writing it): `at` is the best there is. */
  private unknownAnswer(announced: boolean, at: Date): Date {
    if (announced) this.deps.metrics.unknownAnswerTimes.add(1);
    return at;
  }

  /**
   * Continues a call taken over where the last process left it: an answered leg not bridged yet is
   * bridged; a bridged call without an answered leg (one left unseen, nothing kept of it) is over for
   * the caller too.
   */
  private resume(call: CallRecord): void {
    const caller = callerLeg(call);
    const dialled = [...call.legs.values()].filter((leg) => leg.legId !== call.callerLegId);
    for (const leg of dialled)
      if (leg.answeredAt && !leg.bridged && isLive(leg) && this.claimAnswer(call, leg))
        this.detach(call, this.bridgeWithCaller(call, leg), 'bridging a leg taken over failed');
    if (call.bridgeId && isLive(caller) && caller.answeredAt && !dialled.some((leg) => leg.answeredAt)) {
      call.endedBy = 'callee';
      this.detach(call, this.hangupLeg(caller, NORMAL_CLEARING), 'hangup of a caller left alone failed');
    }
  }

  /** A new call of this process: announced with call.started. */
  private startCall(fields: CallFields): CallRecord {
    const call = this.openCall(fields);
    const { leg, at } = fields;
    this.deps.metrics.callsStarted.add(1);
    this.publish(
      call,
      CallEvents.started,
      {
        callId: call.callId,
        adapterId: this.deps.adapterId,
        callerLeg: legMessage(leg),
        direction: call.direction,
        dialedNumber: call.dialedNumber,
        callerName: call.callerName,
      },
      at,
      // One call.started per call: a repeat after a take-over (if the last process got it out) is
      // dropped by the stream's duplicate window.
      `${this.deps.adapterId}:${call.callId}:started`,
    );
    void this.remember(call);
    return call;
  }

  /** Registers a call with its caller leg, tracked until it ends. */
  private openCall(fields: CallFields): CallRecord {
    const { callId, tenantId, direction, dialedNumber, callerName, leg, at } = fields;
    // A root span per call: the events published for it carry its context, so routing, ivr, presence
    // and rating continue one trace instead of starting one per event.
    const span = tracer.startSpan(
      `call ${DIRECTION_NAMES[direction] ?? 'unknown'}`,
      {
        kind: SpanKind.SERVER,
        startTime: at,
        attributes: { 'switchboard.call_id': callId, 'switchboard.tenant': tenantId },
      },
      ROOT_CONTEXT,
    );
    const call = newCall({ span, callId, tenantId, direction, dialedNumber, callerName, startedAt: at }, leg);
    // The channel was in Stasis (or listed there) just now.
    leg.confirmedAt ??= performance.now();
    this.deps.registry.add(call);
    this.deps.track(call.finished);
    this.deps.metrics.callsInFlight.add(1);
    return call;
  }

  /** Adds a leg the adapter is about to create, so its StasisStart is recognised. */
  addDialledLeg(call: CallRecord, leg: LegRecord): void {
    this.deps.registry.addLeg(call, leg);
    this.publishLeg(call, leg);
  }

  /** A leg's ARI request failed before Asterisk had a channel for it. */
  failLeg(call: CallRecord, leg: LegRecord, disposition: callV1.LegDisposition, cause: number): void {
    leg.disposition = disposition;
    this.endLeg(call, leg, cause, CAUSE_TEXT[cause] ?? '', new Date());
  }

  /** Asterisk created the leg's channel: from now on a channel list must show it. */
  channelCreated(leg: LegRecord): void {
    leg.confirmedAt = performance.now();
  }

  /**
   * Waits for the leg's StasisStart: Asterisk answers `create` before the channel enters the app,
   * and refuses every command on it until then. True once it is in; false when the leg ended
   * first or `timeoutMs` passed.
   */
  async awaitStasis(leg: LegRecord, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([leg.inStasis, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A leg whose channel never entered the app: it fails now rather than wait for events that
   * may never come, and its channel is hung up behind it.
   */
  abandonLeg(call: CallRecord, leg: LegRecord): void {
    leg.hungUpByAdapter = true;
    this.failLeg(call, leg, LegDisposition.LEG_DISPOSITION_FAILED, TEMPORARY_FAILURE);
    this.detach(call, this.deps.ari.hangup(leg.channelId, TEMPORARY_FAILURE), 'could not hang up an abandoned leg');
  }

  /** Hangs a leg up from our side; its end arrives as events. */
  async hangupLeg(leg: LegRecord, cause: number): Promise<void> {
    if (!isLive(leg)) return;
    leg.hungUpByAdapter = true;
    leg.pendingCause ??= cause;
    await this.deps.ari.hangup(leg.channelId, cause);
  }

  /**
   * Brings what the adapter tracks in line with Asterisk's channel list, requested at `listedAt`
   * (`performance.now()`): legs whose channel is gone end, answers that were missed are applied,
   * hangups that did not take are asked for again, calls without a live leg end, and originates
   * whose channel vanished unanswered fail. What Asterisk confirmed only after the list was
   * requested is left alone: the list cannot show it.
   */
  reconcile(live: ReadonlyMap<string, AriChannel>, listedAt: number): void {
    const listed = (confirmedAt: number | undefined) => confirmedAt !== undefined && confirmedAt <= listedAt;
    for (const call of [...this.deps.registry.all()]) {
      for (const leg of [...call.legs.values()])
        if (isLive(leg) && listed(leg.confirmedAt)) this.reconcileLeg(call, leg, live.get(leg.channelId));
      if (![...call.legs.values()].some(isLive)) this.finishCall(call);
    }
    for (const [channelId, pending] of [...this.originating])
      if (listed(pending.confirmedAt) && !live.has(channelId))
        this.originateFailed(channelId, LegDisposition.LEG_DISPOSITION_FAILED);
  }

  private reconcileLeg(call: CallRecord, leg: LegRecord, channel: AriChannel | undefined): void {
    if (!channel) return this.lostLeg(call, leg);
    if (leg.hungUpByAdapter) {
      this.detach(
        call,
        this.deps.ari.hangup(leg.channelId, leg.pendingCause ?? NORMAL_CLEARING),
        'hangup retry failed',
      );
      return;
    }
    if (channel.state !== 'Up') return;
    if (!this.claimAnswer(call, leg)) return;
    this.answered(call, leg, new Date());
    if (leg.legId !== call.callerLegId && !leg.bridged)
      this.detach(call, this.bridgeWithCaller(call, leg), 'bridging after re-sync failed');
  }

  /** A leg whose channel is gone without its end reaching us (events lost, or missed while disconnected). */
  private lostLeg(call: CallRecord, leg: LegRecord): void {
    const talked = leg.answeredAt !== undefined || leg.legId === call.callerLegId;
    const cause = leg.pendingCause ?? (talked ? NORMAL_CLEARING : 0);
    this.deps.logger.warn({ callId: call.callId, legId: leg.legId }, 'channel gone without an event; ending its leg');
    this.deps.metrics.lostLegs.add(1);
    this.endLeg(call, leg, cause, 'Channel gone without a hangup event', new Date());
  }

  /**
   * Another connection took the app over: the calls' events go there now, and it takes their
   * channels on as calls when it connects (reconciliation adopts what is in the app). They leave
   * this adapter without a call.ended, which the new holder publishes. Returns how many.
   */
  handOverAll(): number {
    const calls = [...this.deps.registry.all()];
    for (const call of calls) {
      call.ended = true;
      this.deps.registry.remove(call);
      this.deps.metrics.callsHandedOver.add(1);
      this.deps.metrics.callsInFlight.add(-1);
      void call.publishing.then(() => {
        call.span.end();
        call.markFinished();
      });
    }
    return calls.length;
  }

  /**
   * Whether an answered leg may go on to be bridged. A leg of a ring-all wins only if no other leg
   * of it answered before (events arrive one at a time, so exactly one wins); the winner hangs up
   * the rest at once, and a leg answering after it is hung up too, never bridged. Both with cause
   * 26 (answered elsewhere), which phones show as such.
   */
  private claimAnswer(call: CallRecord, leg: LegRecord): boolean {
    const group = leg.ringGroup;
    if (!group || group.winner === leg) return true;
    if (group.winner) {
      this.loseRing(call, leg);
      return false;
    }
    group.winner = leg;
    for (const other of group.legs) if (other !== leg) this.loseRing(call, other);
    return true;
  }

  private loseRing(call: CallRecord, leg: LegRecord): void {
    if (!isLive(leg) || leg.hungUpByAdapter) return;
    // Never answered as far as the call is concerned: it ends CANCELLED with cause 26.
    if (leg.disposition === LegDisposition.LEG_DISPOSITION_UNSPECIFIED)
      leg.disposition = LegDisposition.LEG_DISPOSITION_CANCELLED;
    this.detach(call, this.hangupLeg(leg, ANSWERED_ELSEWHERE), 'could not hang up a leg answered elsewhere');
  }

  answered(call: CallRecord, leg: LegRecord, at: Date): void {
    if (leg.answeredAt || !isLive(leg)) return;
    leg.answeredAt = at;
    leg.state = LegState.LEG_STATE_ANSWERED;
    this.publishLeg(call, leg);
    void this.remember(call);
  }

  /**
   * Keeps the call's memory on the caller's channel, where a new process finds it (call-memory.ts):
   * written when the caller is answered and again when a dialled leg is (one request each, after the
   * answer, which it does not delay). A leg answered before its caller is in the caller's write.
   */
  remember(call: CallRecord, unanswered = false): Promise<void> {
    const caller = callerLeg(call);
    if ((!caller.answeredAt && !unanswered) || !isLive(caller)) return call.remembering;
    // In order, each with the state when its turn comes: the last write is the latest.
    const write = call.remembering.then(() =>
      this.deps.ari.setVariable(caller.channelId, CALL_VARIABLE, callMemoryOf(call)),
    );
    call.remembering = write.catch((error: unknown) => {
      // Gone already: nobody will need to take it over.
      if (error instanceof AriRequestError && error.failure === 'not-found') return;
      this.deps.logger.warn(
        { err: error, callId: call.callId },
        "could not keep the call's memory on its caller's channel; a take-over would not know its answers",
      );
    });
    this.deps.track(call.remembering);
    return call.remembering;
  }

  bridged(call: CallRecord, leg: LegRecord): void {
    leg.bridged = true;
    leg.disposition = LegDisposition.LEG_DISPOSITION_ANSWERED;
    this.publishLeg(call, leg);
    leg.settleOutcome(LegDisposition.LEG_DISPOSITION_ANSWERED);
  }

  private onStasisStart(event: AriEventOf<'StasisStart'>): void {
    const args = stasisArgs(event);
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (known) {
      const { call, leg } = known;
      if (args[0] === 'faxdone' && call.inFax) {
        call.inFax = false;
        this.detach(call, this.deps.onFaxDone(call, args), 'fax hand-back failed');
      } else if (isLive(leg)) {
        leg.settleStasis(true);
      } else if (leg.createdByAdapter) {
        // Its leg was given up before the channel got here: do not leave it in the app.
        this.hangUpOrphan(event.channel.id);
      }
      return;
    }
    if (this.originating.has(event.channel.id)) {
      this.adopt(event.channel, args, ariTime(event.timestamp));
      return;
    }
    if (args[0] === 'originated' || args[0] === 'faxdone') {
      // Originated by a process before this one (its callback answered only now), or back from a fax
      // hand-off that process began: what the call is, is on the channel.
      const { channel } = event;
      const at = ariTime(event.timestamp);
      this.deps.track(
        this.hold(() => this.takeOver([{ channel, args }], [], performance.now(), at)).catch((error: unknown) =>
          this.deps.logger.error({ err: error, channelId: channel.id }, 'could not take over an originated call'),
        ),
      );
      return;
    }
    if (args[0] === 'dialed') {
      // A leg created for a call we no longer track (it ended meanwhile): do not leave it ringing.
      this.hangUpOrphan(event.channel.id);
      return;
    }
    this.adopt(event.channel, args, ariTime(event.timestamp));
  }

  private hangUpOrphan(channelId: string): void {
    this.deps.track(
      this.deps.ari
        .hangup(channelId, NORMAL_CLEARING)
        .catch((error: unknown) =>
          this.deps.logger.warn({ err: error, channelId }, 'could not hang up an orphaned leg'),
        ),
    );
  }

  private onStasisEnd(event: AriEventOf<'StasisEnd'>): void {
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (!known) return;
    const { call, leg } = known;
    if (leg.legId === call.callerLegId && call.inFax) return;
    // Dialplan channels get no ChannelDestroyed after StasisEnd: this is their end.
    if (!leg.createdByAdapter)
      this.endLeg(call, leg, leg.pendingCause ?? NORMAL_CLEARING, '', ariTime(event.timestamp));
  }

  private onStateChange(event: AriEventOf<'ChannelStateChange'>): void {
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (!known) return;
    const { call, leg } = known;
    if (event.channel.state === 'Up') {
      if (this.claimAnswer(call, leg)) this.answered(call, leg, ariTime(event.timestamp));
    } else if (event.channel.state === 'Ringing' && leg.state === LegState.LEG_STATE_DIALING) {
      leg.state = LegState.LEG_STATE_RINGING;
      this.publishLeg(call, leg);
    }
  }

  private onHangupRequest(event: AriEventOf<'ChannelHangupRequest'>): void {
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (!known) return;
    const { call, leg } = known;
    leg.hangupRequested = true;
    // A soft hangup's cause (32) is a flag mask, not Q.850; a SIP BYE carries no cause at all.
    if (!event.soft && event.cause) leg.pendingCause = event.cause;
    if (!leg.hungUpByAdapter && !call.endedBy) {
      call.endedBy = leg.legId === call.callerLegId ? 'caller' : leg.answeredAt ? 'callee' : undefined;
    }
  }

  private onDestroyed(event: AriEventOf<'ChannelDestroyed'>): void {
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (!known) {
      const pending = this.originating.get(event.channel.id);
      if (pending) {
        // Never answered: no call existed, so no call events (and nothing to bill).
        this.originating.delete(event.channel.id);
        pending.settleOutcome(
          pending.disposition === LegDisposition.LEG_DISPOSITION_UNSPECIFIED
            ? dispositionOfCause(event.cause)
            : pending.disposition,
        );
      }
      return;
    }
    this.endLeg(known.call, known.leg, event.cause, event.cause_txt, ariTime(event.timestamp));
  }

  private onDtmf(event: AriEventOf<'ChannelDtmfReceived'>): void {
    const known = this.deps.registry.byChannelId(event.channel.id);
    if (!known) return;
    const { call, leg } = known;
    this.publish(
      call,
      CallEvents.dtmfReceived,
      { callId: call.callId, legId: leg.legId, digit: event.digit, durationMs: event.duration_ms },
      ariTime(event.timestamp),
    );
    if (leg.legId !== call.callerLegId) return;
    if (call.collector && !call.collector.finished) call.collector.digit(event.digit);
    else call.typeAhead = (call.typeAhead + event.digit).slice(-MAX_TYPE_AHEAD);
  }

  private onDial(event: AriEventOf<'Dial'>): void {
    const known = this.deps.registry.byChannelId(event.peer.id);
    if (!known) {
      const pending = this.originating.get(event.peer.id);
      const disposition = dispositionOfDialStatus(event.dialstatus);
      if (pending && disposition !== undefined && disposition !== LegDisposition.LEG_DISPOSITION_ANSWERED)
        pending.disposition = disposition;
      return;
    }
    const { call, leg } = known;
    if (event.dialstatus === 'RINGING' && leg.state === LegState.LEG_STATE_DIALING) {
      leg.state = LegState.LEG_STATE_RINGING;
      this.publishLeg(call, leg);
      return;
    }
    const disposition = dispositionOfDialStatus(event.dialstatus);
    if (disposition === undefined) return;
    if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED && !this.claimAnswer(call, leg)) return;
    leg.disposition = disposition;
    if (disposition !== LegDisposition.LEG_DISPOSITION_ANSWERED) return;
    this.answered(call, leg, ariTime(event.timestamp));
    this.detach(call, this.bridgeWithCaller(call, leg), 'bridging failed');
  }

  /** ARI work an event causes runs beside event handling; shutdown still waits for it. */
  private detach(call: CallRecord, work: Promise<void>, what: string): void {
    this.deps.track(work.catch((error: unknown) => this.deps.logger.error({ err: error, callId: call.callId }, what)));
  }

  private onPlaybackFinished(event: AriEventOf<'PlaybackFinished'>): void {
    const channelId = event.playback.target_uri.replace(/^channel:/, '');
    const known = this.deps.registry.byChannelId(channelId);
    if (!known || !known.call.playbacks.delete(event.playback.id)) return;
    const { call, leg } = known;
    const outcome = playbackOutcome(event.playback.state, leg.hangupRequested || !isLive(leg));
    if (outcome === PlaybackOutcome.PLAYBACK_OUTCOME_FAILED) {
      const reason = failureReason(event.playback.media_uri);
      this.deps.metrics.playbackFailures.add(1, { reason });
      this.deps.logger.error(
        { callId: call.callId, playbackId: event.playback.id, media: event.playback.media_uri, reason },
        'Asterisk could not play a prompt; the caller did not hear it',
      );
      call.collector?.promptFailed();
    }
    this.publish(
      call,
      CallEvents.playbackFinished,
      { callId: call.callId, playbackId: event.playback.id, outcome, mediaUri: event.playback.media_uri },
      ariTime(event.timestamp),
    );
    if (call.playbacks.size === 0) call.collector?.promptsFinished();
  }

  /** Puts an answered leg with the caller: prompts and music stop first (ARI queues behind them). */
  private async bridgeWithCaller(call: CallRecord, leg: LegRecord): Promise<void> {
    // The Dial ANSWER event and a reconciliation can both find the leg answered.
    if (leg.bridging || leg.bridged) return;
    const caller = callerLeg(call);
    if (!isLive(caller)) return this.hangupLeg(leg, NORMAL_CLEARING);
    leg.bridging = true;
    try {
      await stopRingback(this.deps.ari, call);
      await Promise.all([...call.playbacks].map((playbackId) => this.deps.ari.stopPlayback(playbackId)));
      call.playbacks.clear();
      if (call.mohPlaying) {
        await this.deps.ari.stopMoh(caller.channelId);
        call.mohPlaying = false;
      }
      if (!caller.answeredAt) {
        await this.deps.ari.answer(caller.channelId);
        this.answered(call, caller, new Date());
      }
      const bridgeId = `call-${call.callId}`;
      if (!call.bridgeId) {
        await this.deps.ari.createBridge(bridgeId);
        call.bridgeId = bridgeId;
        await this.deps.ari.addToBridge(bridgeId, [caller.channelId, leg.channelId]);
      } else {
        await this.deps.ari.addToBridge(bridgeId, [leg.channelId]);
      }
      this.bridged(call, leg);
    } catch (error) {
      this.deps.logger.error({ err: error, callId: call.callId, legId: leg.legId }, 'could not bridge an answered leg');
      await this.hangupLeg(leg, TEMPORARY_FAILURE);
    } finally {
      leg.bridging = false;
    }
  }

  private endLeg(call: CallRecord, leg: LegRecord, cause: number, causeText: string, at: Date): void {
    if (!isLive(leg)) return;
    leg.state = LegState.LEG_STATE_ENDED;
    leg.endedAt = at;
    leg.hangupCause = leg.pendingCause && cause === NORMAL_CLEARING ? leg.pendingCause : cause;
    leg.hangupCauseText = causeText || CAUSE_TEXT[leg.hangupCause] || '';
    if (leg.answeredAt) leg.disposition = LegDisposition.LEG_DISPOSITION_ANSWERED;
    else if (leg.disposition === LegDisposition.LEG_DISPOSITION_UNSPECIFIED) {
      leg.disposition =
        leg.hungUpByAdapter || leg.legId === call.callerLegId
          ? LegDisposition.LEG_DISPOSITION_CANCELLED
          : dispositionOfCause(leg.hangupCause);
    }
    leg.bridged = false;
    this.publishLeg(call, leg);
    leg.settleOutcome(leg.disposition);
    leg.settleStasis(false);
    this.afterLegEnded(call, leg);
  }

  private afterLegEnded(call: CallRecord, leg: LegRecord): void {
    const live = [...call.legs.values()].filter(isLive);
    const isCaller = leg.legId === call.callerLegId;
    if (isCaller) {
      call.collector?.hangup();
      call.endedBy ??= 'caller';
      for (const other of live)
        this.detach(call, this.hangupLeg(other, NORMAL_CLEARING), 'hangup of a remaining leg failed');
    } else if (leg.answeredAt) {
      // The person the caller talked to hung up: the conversation is over.
      call.endedBy ??= 'callee';
      const caller = callerLeg(call);
      if (isLive(caller)) this.detach(call, this.hangupLeg(caller, NORMAL_CLEARING), 'hangup of the caller failed');
    }
    if (live.length === 0) this.finishCall(call);
  }

  private finishCall(call: CallRecord): void {
    if (call.ended) return;
    call.ended = true;
    this.deps.registry.remove(call);
    if (call.bridgeId) this.detach(call, this.deps.ari.destroyBridge(call.bridgeId), 'could not destroy the bridge');
    const legs = [...call.legs.values()];
    const endedAt = legs.reduce(
      (latest, leg) => (leg.endedAt && leg.endedAt > latest ? leg.endedAt : latest),
      call.startedAt,
    );
    this.deps.metrics.callsEnded.add(1, { ended_by: call.endedBy ?? 'system' });
    this.deps.metrics.callsInFlight.add(-1);
    this.publish(
      call,
      CallEvents.ended,
      {
        callId: call.callId,
        direction: call.direction,
        startedAt: call.startedAt,
        endedAt,
        legs: legs.map(legMessage),
        endedBy: call.endedBy ?? 'system',
      },
      endedAt,
      `${this.deps.adapterId}:${call.callId}:ended`,
    );
    void call.publishing.then(() => {
      call.span.end(endedAt);
      call.markFinished();
    });
  }

  private publishLeg(call: CallRecord, leg: LegRecord): void {
    this.publish(call, CallEvents.legUpdated, { callId: call.callId, leg: legMessage(leg), bridged: leg.bridged });
  }

  /**
   * Publishes in call order; a failure is logged and counted, and later events still go out. The
   * envelope (`meta`) is made when the event's turn comes, inside the call's span: its trace
   * context is written once, where it names the call's trace (rated legs link to it).
   */
  publish<T extends EventPayload>(
    call: CallRecord,
    type: EventType<T>,
    payload: Omit<T, 'meta'>,
    occurredAt: Date = new Date(),
    eventId?: string,
  ): void {
    this.publishConfirmed(call, type, payload, occurredAt, eventId).catch(() => undefined);
  }

  /**
   * As `publish`, and resolves once JetStream has stored the event (rejects when it could not):
   * for what may only be cleaned up after it was handed on, such as a voicemail's file in Asterisk.
   */
  publishConfirmed<T extends EventPayload>(
    call: CallRecord,
    type: EventType<T>,
    payload: Omit<T, 'meta'>,
    occurredAt: Date = new Date(),
    eventId?: string,
  ): Promise<void> {
    const sent = call.publishing.then(() =>
      context.with(trace.setSpan(ROOT_CONTEXT, call.span), async () => {
        const meta = newEventMeta(call.tenantId, PRODUCER, occurredAt);
        await this.deps.publish(type, { ...payload, meta: eventId ? { ...meta, eventId } : meta } as T);
      }),
    );
    call.publishing = sent.catch((error: unknown) => {
      this.deps.metrics.publishFailures.add(1, { event: `${type.domain}.${type.event}` });
      this.deps.logger.error({ err: error, callId: call.callId, event: type.event }, 'could not publish a call event');
    });
    return sent;
  }
}
