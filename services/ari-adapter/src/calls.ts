import type { Span } from '@opentelemetry/api';
import { callV1 } from '@switchboard/proto';
import type { DigitCollector } from './digit-collector.js';

const { LegDisposition, LegState } = callV1;

export interface LegRecord {
  readonly legId: string;
  readonly channelId: string;
  readonly kind: callV1.LegKind;
  readonly endpoint: string;
  readonly from: string;
  readonly to: string;
  readonly createdAt: Date;
  readonly tags: Record<string, string>;
  /** Channels the adapter created get ChannelDestroyed; dialplan channels only StasisEnd. */
  readonly createdByAdapter: boolean;
  answeredAt?: Date;
  endedAt?: Date;
  state: callV1.LegState;
  disposition: callV1.LegDisposition;
  hangupCause: number;
  hangupCauseText: string;
  bridged: boolean;
  /** Q.850 cause from a hard ChannelHangupRequest, or the one the adapter asked for. */
  pendingCause?: number;
  /** Set when the adapter itself hung the leg up (so an unanswered end is a cancel). */
  hungUpByAdapter: boolean;
  /** Asterisk announced its hangup (ChannelHangupRequest): a playback failing now was cut off. */
  hangupRequested: boolean;
  /** True while the answered leg is being put with the caller (so it happens once). */
  bridging: boolean;
  /**
   * When Asterisk confirmed the channel exists (`performance.now()`): a channel list requested
   * before then cannot show it, so reconciliation leaves the leg alone.
   */
  confirmedAt?: number;
  /** The ring-all this leg rings in (DialAll): only one of its legs is ever bridged. */
  ringGroup?: RingGroup;
  /** The command that dialled it: a repeat of it after a take-over answers from this leg. */
  command?: LegCommand;
  /** Resolves when the leg is answered and bridged, or ends. */
  readonly outcome: Promise<callV1.LegDisposition>;
  settleOutcome(disposition: callV1.LegDisposition): void;
  /** Resolves true when the channel entered the Stasis app, false when the leg ended first. */
  readonly inStasis: Promise<boolean>;
  settleStasis(entered: boolean): void;
}

export interface LegCommand {
  /** `<tenant>:<command id>`, as the command log keys it. */
  key: string;
  method: 'dial' | 'forward' | 'dialAll';
}

/** Legs rung at once for one caller (ring-all): the first to answer wins, the others are hung up. */
export interface RingGroup {
  /** Kept with each leg on Asterisk (call-memory.ts), so a new process knows the legs ring together. */
  readonly id: string;
  readonly legs: LegRecord[];
  /** Set once, by the first answer the adapter hears of; no other leg of the group is bridged. */
  winner?: LegRecord;
}

/** Ringback played to the answered caller while dialled legs ring (ringback.ts). */
export interface Ringback {
  readonly playbackId: string;
  /** Its play request; a stop waits for it. */
  readonly started: Promise<void>;
  /** The legs it rings for: it stops when the last of them ended unanswered. */
  readonly legs: Set<LegRecord>;
}

export interface CallRecord {
  readonly callId: string;
  readonly tenantId: string;
  readonly direction: callV1.CallDirection;
  readonly dialedNumber: string;
  readonly callerName: string;
  readonly startedAt: Date;
  readonly legs: Map<string, LegRecord>;
  readonly callerLegId: string;
  bridgeId?: string;
  /** Playbacks started on the caller's channel and not yet finished. */
  readonly playbacks: Set<string>;
  mohPlaying: boolean;
  ringback?: Ringback;
  /** True while the caller's channel runs ReceiveFAX in the dialplan (its StasisEnd is not the end). */
  inFax: boolean;
  collector?: DigitCollector;
  /** Digits the caller pressed while nothing was collecting: callers who know the menu type ahead. */
  typeAhead: string;
  endedBy?: 'caller' | 'callee' | 'system';
  ended: boolean;
  /** Events of one call are published in order. */
  publishing: Promise<void>;
  /** Writes of the call's memory on Asterisk (call-memory.ts), in order: the last one is the latest. */
  remembering: Promise<void>;
  /** Spans the whole call, so everything any service does for it lands in one trace. */
  readonly span: Span;
  /** Resolves when the call has ended and its CallEnded was published. */
  readonly finished: Promise<void>;
  markFinished(): void;
}

export function newLeg(
  fields: Pick<
    LegRecord,
    'legId' | 'channelId' | 'kind' | 'endpoint' | 'from' | 'to' | 'createdAt' | 'tags' | 'createdByAdapter'
  > & { state: callV1.LegState },
): LegRecord {
  let settle!: (disposition: callV1.LegDisposition) => void;
  const outcome = new Promise<callV1.LegDisposition>((resolve) => (settle = resolve));
  let settleStasis!: (entered: boolean) => void;
  const inStasis = new Promise<boolean>((resolve) => (settleStasis = resolve));
  return {
    ...fields,
    disposition: LegDisposition.LEG_DISPOSITION_UNSPECIFIED,
    hangupCause: 0,
    hangupCauseText: '',
    bridged: false,
    hungUpByAdapter: false,
    hangupRequested: false,
    bridging: false,
    outcome,
    settleOutcome: settle,
    inStasis,
    settleStasis,
  };
}

export function newCall(
  fields: Pick<CallRecord, 'callId' | 'tenantId' | 'direction' | 'dialedNumber' | 'callerName' | 'startedAt' | 'span'>,
  callerLeg: LegRecord,
): CallRecord {
  let markFinished!: () => void;
  const finished = new Promise<void>((resolve) => (markFinished = resolve));
  return {
    ...fields,
    legs: new Map([[callerLeg.legId, callerLeg]]),
    callerLegId: callerLeg.legId,
    playbacks: new Set(),
    mohPlaying: false,
    inFax: false,
    typeAhead: '',
    ended: false,
    publishing: Promise.resolve(),
    remembering: Promise.resolve(),
    finished,
    markFinished,
  };
}

export function callerLeg(call: CallRecord): LegRecord {
  return call.legs.get(call.callerLegId)!;
}

export function isLive(leg: LegRecord): boolean {
  return leg.state !== LegState.LEG_STATE_ENDED;
}

export function legMessage(leg: LegRecord): callV1.Leg {
  return {
    legId: leg.legId,
    channelId: leg.channelId,
    kind: leg.kind,
    endpoint: leg.endpoint,
    from: leg.from,
    to: leg.to,
    createdAt: leg.createdAt,
    answeredAt: leg.answeredAt,
    endedAt: leg.endedAt,
    disposition: leg.disposition,
    hangupCause: leg.hangupCause,
    hangupCauseText: leg.hangupCauseText,
    tags: { ...leg.tags },
    state: leg.state,
  };
}

/** A leg as `legMessage` described it (a call handed over by a stopped process: handover.ts). */
export function legFromMessage(message: callV1.Leg): LegRecord {
  const leg = newLeg({
    legId: message.legId,
    channelId: message.channelId,
    kind: message.kind,
    endpoint: message.endpoint,
    from: message.from,
    to: message.to,
    createdAt: message.createdAt ?? new Date(0),
    tags: { ...message.tags },
    createdByAdapter: message.kind !== callV1.LegKind.LEG_KIND_CALLER,
    state: message.state,
  });
  leg.answeredAt = message.answeredAt;
  leg.endedAt = message.endedAt;
  leg.disposition = message.disposition;
  leg.hangupCause = message.hangupCause;
  leg.hangupCauseText = message.hangupCauseText;
  return leg;
}

/** All calls of this adapter, by call id and by channel id. */
export class CallRegistry {
  private readonly calls = new Map<string, CallRecord>();
  private readonly byChannel = new Map<string, { call: CallRecord; leg: LegRecord }>();

  add(call: CallRecord): void {
    this.calls.set(call.callId, call);
    for (const leg of call.legs.values()) this.byChannel.set(leg.channelId, { call, leg });
  }

  addLeg(call: CallRecord, leg: LegRecord): void {
    call.legs.set(leg.legId, leg);
    this.byChannel.set(leg.channelId, { call, leg });
  }

  remove(call: CallRecord): void {
    this.calls.delete(call.callId);
    for (const leg of call.legs.values()) this.byChannel.delete(leg.channelId);
  }

  call(callId: string): CallRecord | undefined {
    return this.calls.get(callId);
  }

  byChannelId(channelId: string): { call: CallRecord; leg: LegRecord } | undefined {
    return this.byChannel.get(channelId);
  }

  all(): IterableIterator<CallRecord> {
    return this.calls.values();
  }

  get size(): number {
    return this.calls.size;
  }
}

/** An outbound call the adapter originated and that has not been answered yet: no call exists for it. */
export interface PendingOriginate {
  readonly tenantId: string;
  readonly endpoint: string;
  /** The dialled number; it becomes the new call's dialled party. */
  readonly number: string;
  readonly callerId: string;
  readonly tags: Record<string, string>;
  readonly createdAt: Date;
  /** A final Dial status seen before the channel went away (busy, unavailable). */
  disposition: callV1.LegDisposition;
  /** When Asterisk accepted the originate (`performance.now()`); see LegRecord.confirmedAt. */
  confirmedAt?: number;
  /** Resolves with ANSWERED once call.started is queued, or with why the attempt failed. */
  readonly outcome: Promise<callV1.LegDisposition>;
  settleOutcome(disposition: callV1.LegDisposition): void;
}

export function newPendingOriginate(
  fields: Pick<PendingOriginate, 'tenantId' | 'endpoint' | 'number' | 'callerId' | 'tags' | 'createdAt'>,
): PendingOriginate {
  let settle!: (disposition: callV1.LegDisposition) => void;
  const outcome = new Promise<callV1.LegDisposition>((resolve) => (settle = resolve));
  return { ...fields, disposition: LegDisposition.LEG_DISPOSITION_UNSPECIFIED, outcome, settleOutcome: settle };
}
