import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { type callControlV1, callV1 } from '@switchboard/proto';
import { GrpcStatusError, type Logger, type RpcHandlers } from '@switchboard/service-kit';
import { AriRequestError, type AriOps } from './ari-ops.js';
import {
  type CallRegistry,
  callerLeg,
  isLive,
  newLeg,
  newPendingOriginate,
  type CallRecord,
  type LegCommand,
  type LegRecord,
  type RingGroup,
} from './calls.js';
import { legMemoryOf, originMemoryOf } from './call-memory.js';
import { originatedLeg, type CallTracker } from './call-tracker.js';
import type { CommandLog } from './command-log.js';
import { DigitCollector } from './digit-collector.js';
import type { FaxHandoff } from './fax-handoff.js';
import type { OutboundGuard, OutboundParty } from './outbound-guard.js';
import { unplayableMedium } from './media.js';
import type { AdapterMetrics } from './metrics.js';
import { startRingback, stopRingback } from './ringback.js';
import { endpointOfChannelName } from './tenant-resolver.js';
import type { VoicemailRecorder } from './voicemail.js';

const { LegDisposition, LegKind, LegState } = callV1;
type Definition = typeof callControlV1.CallControlServiceService;

const E164 = /^\+[1-9]\d{1,14}$/;
const DIAL_STRING = /^[A-Za-z]+\/\S+$/;
const DEFAULT_RING_SECONDS = 30;
const DEFAULT_VOICEMAIL_SECONDS = 120;
const DEFAULT_VOICEMAIL_SILENCE_SECONDS = 5;
const TERMINATE_ON = ['#', '*', 'any', 'none'];
const NORMAL_CLEARING = 16;
const TEMPORARY_FAILURE = 41;

export interface CallControlDependencies {
  app: string;
  trunkEndpoint: string;
  registry: CallRegistry;
  tracker: CallTracker;
  ari: AriOps;
  commands: CommandLog;
  fax: FaxHandoff;
  voicemail: VoicemailRecorder;
  /** The tenant's outbound barring, applied to every command that dials outside. */
  outbound: OutboundGuard;
  /** How long a created leg may take to enter Stasis before it is given up. */
  stasisStartTimeoutMs: number;
  metrics: AdapterMetrics;
  logger: Logger;
}

function invalid(details: string): GrpcStatusError {
  return new GrpcStatusError(grpc.status.INVALID_ARGUMENT, details);
}

/** ARI failures as the gRPC statuses callers act on. */
function toStatus(error: unknown): unknown {
  if (!(error instanceof AriRequestError)) return error;
  switch (error.failure) {
    case 'not-found':
      return new GrpcStatusError(grpc.status.NOT_FOUND, `${error.operation}: the channel or bridge is gone`);
    case 'invalid-state':
    case 'not-in-stasis':
      return new GrpcStatusError(grpc.status.FAILED_PRECONDITION, error.message);
    default:
      return new GrpcStatusError(grpc.status.UNAVAILABLE, error.message);
  }
}

/** Refuses media Asterisk would start and never finish: a menu waiting for it would wait forever. */
function checkPlayable(media: readonly string[]): void {
  const medium = unplayableMedium(media);
  if (medium !== undefined)
    throw invalid(
      `media "${medium}" is not a sound:, tone:, digits:, characters: or number: URI Asterisk can play to its end`,
    );
}

/**
 * How a ring-all ended: ANSWERED as soon as its winner is bridged; otherwise, once every leg
 * ended, CANCELLED when the caller left first, NO_ANSWER when a leg rang out, BUSY when every
 * target was busy, UNAVAILABLE when one could not be reached, else FAILED.
 */
async function ringOutcome(group: RingGroup): Promise<callV1.LegDisposition> {
  const answered = new Promise<callV1.LegDisposition>((resolve) => {
    for (const leg of group.legs)
      void leg.outcome.then((disposition) => {
        if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED && leg.bridged) resolve(disposition);
      });
  });
  const all = Promise.all(group.legs.map((leg) => leg.outcome)).then((dispositions) => {
    const any = (d: callV1.LegDisposition) => dispositions.includes(d);
    if (group.winner?.bridged || any(LegDisposition.LEG_DISPOSITION_ANSWERED))
      return LegDisposition.LEG_DISPOSITION_ANSWERED;
    if (any(LegDisposition.LEG_DISPOSITION_CANCELLED)) return LegDisposition.LEG_DISPOSITION_CANCELLED;
    if (any(LegDisposition.LEG_DISPOSITION_NO_ANSWER)) return LegDisposition.LEG_DISPOSITION_NO_ANSWER;
    if (dispositions.every((d) => d === LegDisposition.LEG_DISPOSITION_BUSY))
      return LegDisposition.LEG_DISPOSITION_BUSY;
    if (any(LegDisposition.LEG_DISPOSITION_UNAVAILABLE)) return LegDisposition.LEG_DISPOSITION_UNAVAILABLE;
    if (any(LegDisposition.LEG_DISPOSITION_BUSY)) return LegDisposition.LEG_DISPOSITION_BUSY;
    return LegDisposition.LEG_DISPOSITION_FAILED;
  });
  return Promise.race([answered, all]);
}

/** The resource part of a dial string: `PJSIP/agent1` → `agent1`, `PJSIP/+49…@trunk` → `+49…`. */
function dialledParty(endpoint: string): string {
  return endpoint.replace(/^[^/]+\//, '').replace(/@.*$/, '');
}

/** How the command log keys a command (ids are the caller's, so per tenant). */
const commandKey = (request: { tenantId: string; commandId: string }) => `${request.tenantId}:${request.commandId}`;

/** Whose outside call a leg of `call` is: its `site_id` tag, else the site of the phone calling. */
function outboundParty(call: CallRecord, tags: Record<string, string>): OutboundParty {
  return { siteId: tags['site_id'], device: endpointOfChannelName(callerLeg(call).endpoint) };
}

/**
 * Call-control commands for the calls this adapter owns. Every command names its call and
 * tenant and carries an id: the first successful execution's result answers any repeat of that
 * id; after a failure a repeat executes again.
 */
export class CallControl {
  /** Legs of calls taken over from an earlier process, by the key of the command that dialled them. */
  private readonly resumed = new Map<string, LegRecord[]>();

  constructor(private readonly deps: CallControlDependencies) {}

  handlers(): RpcHandlers<Definition> {
    return {
      answer: (request) =>
        this.command('answer', request, async (call) => {
          await this.deps.ari.answer(this.liveCaller(call).channelId);
          return {};
        }),
      play: (request) =>
        this.command('play', request, async (call) => {
          if (request.media.length === 0) throw invalid('media must name at least one sound, tone or digits URI');
          checkPlayable(request.media);
          await stopRingback(this.deps.ari, call);
          return { playbackId: await this.play(call, request.media, request.language) };
        }),
      stopPlayback: (request) =>
        this.command('stopPlayback', request, async (call) => {
          call.playbacks.delete(request.playbackId);
          await this.deps.ari.stopPlayback(request.playbackId);
          return {};
        }),
      playAndCollect: (request) =>
        this.command('playAndCollect', request, (call) => this.playAndCollect(call, request)),
      startMusicOnHold: (request) =>
        this.command('startMusicOnHold', request, async (call) => {
          await stopRingback(this.deps.ari, call);
          await this.deps.ari.startMoh(this.liveCaller(call).channelId, request.mohClass || undefined);
          call.mohPlaying = true;
          return {};
        }),
      stopMusicOnHold: (request) =>
        this.command('stopMusicOnHold', request, async (call) => {
          await this.deps.ari.stopMoh(this.liveCaller(call).channelId);
          call.mohPlaying = false;
          return {};
        }),
      dialAll: (request) => this.command('dialAll', request, (call) => this.dialAll(call, request)),
      recordVoicemail: (request) =>
        this.command('recordVoicemail', request, (call) => this.recordVoicemail(call, request)),
      dial: (request) =>
        this.command('dial', request, async (call) => {
          if (!DIAL_STRING.test(request.endpoint))
            throw invalid(`endpoint "${request.endpoint}" is not a dial string like PJSIP/agent1`);
          this.deps.outbound.checkEndpoint(call.tenantId, request.endpoint, 'dial', outboundParty(call, request.tags));
          const kind = request.kind === LegKind.LEG_KIND_UNSPECIFIED ? LegKind.LEG_KIND_INTERNAL : request.kind;
          const leg =
            this.takenOverLegs(request, 'dial')?.[0] ??
            (await this.dialLeg(call, request.endpoint, kind, request.callerId, request.timeoutSeconds, request.tags, {
              key: commandKey(request),
              method: 'dial',
            }));
          const disposition = request.waitForOutcome ? await leg.outcome : LegDisposition.LEG_DISPOSITION_UNSPECIFIED;
          return { legId: leg.legId, disposition };
        }),
      forward: (request) =>
        this.command('forward', request, async (call) => {
          if (!E164.test(request.number))
            throw invalid(`number "${request.number}" is not in E.164 form like +4940123456`);
          this.deps.outbound.check(call.tenantId, request.number, 'forward', outboundParty(call, request.tags));
          const endpoint = this.deps.trunkEndpoint.replace('{number}', request.number);
          const kind = request.homeOffice ? LegKind.LEG_KIND_FORWARDED_HOME_OFFICE : LegKind.LEG_KIND_EXTERNAL;
          const leg =
            this.takenOverLegs(request, 'forward')?.[0] ??
            (await this.dialLeg(call, endpoint, kind, request.callerId, request.timeoutSeconds, request.tags, {
              key: commandKey(request),
              method: 'forward',
            }));
          return { legId: leg.legId, disposition: await leg.outcome };
        }),
      hangupLeg: (request) =>
        this.command('hangupLeg', request, async (call) => {
          const leg = call.legs.get(request.legId);
          if (!leg || leg.legId === call.callerLegId)
            throw new GrpcStatusError(grpc.status.NOT_FOUND, `call ${call.callId} has no dialled leg ${request.legId}`);
          await this.deps.tracker.hangupLeg(leg, NORMAL_CLEARING);
          return {};
        }),
      receiveFax: (request) =>
        this.command('receiveFax', request, async (call) => {
          this.liveCaller(call);
          await stopRingback(this.deps.ari, call);
          await this.deps.fax.begin(call);
          return {};
        }),
      hangup: (request) =>
        this.command('hangup', request, async (call) => {
          call.endedBy ??= 'system';
          const cause = request.cause || NORMAL_CLEARING;
          await Promise.all(
            [...call.legs.values()].filter(isLive).map((leg) => this.deps.tracker.hangupLeg(leg, cause)),
          );
          return {};
        }),
      originate: (request) =>
        this.timed('originate', request, async () => {
          try {
            return await this.originate(request);
          } catch (error) {
            throw toStatus(error);
          }
        }),
    };
  }

  /**
   * A call a new process took over: the Dial, Forward or DialAll that dialled its legs may come
   * again (routing retries a command whose answer the dead process never sent, under the same id).
   * Such a repeat answers from those legs instead of ringing the phones a second time.
   */
  resume(call: CallRecord): void {
    const keys: string[] = [];
    for (const leg of call.legs.values()) {
      if (!leg.command) continue;
      const known = this.resumed.get(leg.command.key);
      if (known) known.push(leg);
      else {
        this.resumed.set(leg.command.key, [leg]);
        keys.push(leg.command.key);
      }
    }
    // Afterwards a repeat finds no call (NOT_FOUND), as it would have in the first process.
    void call.finished.then(() => {
      for (const key of keys) this.resumed.delete(key);
    });
  }

  /** The legs a taken-over command `method` under this request's id dialled, if any. */
  private takenOverLegs(
    request: { tenantId: string; commandId: string },
    method: LegCommand['method'],
  ): LegRecord[] | undefined {
    const legs = this.resumed.get(commandKey(request));
    return legs?.[0]?.command?.method === method ? legs : undefined;
  }

  /**
   * A new outbound call: it becomes a call of this adapter (and call.started goes out) only when
   * the number answers; until then only the response learns what happens.
   */
  private async originate(request: callControlV1.OriginateRequest): Promise<callControlV1.OriginateResponse> {
    if (!E164.test(request.number)) throw invalid(`number "${request.number}" is not in E.164 form like +4940123456`);
    if (request.ringTimeoutSeconds < 0) throw invalid('ring_timeout_seconds must not be negative');
    // No call, no calling phone: the site is the one the callback is tagged (and billed) with.
    this.deps.outbound.check(request.tenantId, request.number, 'originate', { siteId: request.tags['site_id'] });
    const endpoint = this.deps.trunkEndpoint.replace('{number}', request.number);
    const callId = randomUUID();
    const pending = newPendingOriginate({
      tenantId: request.tenantId,
      endpoint,
      number: request.number,
      callerId: request.callerId,
      tags: { ...request.tags },
      createdAt: new Date(),
    });
    this.deps.tracker.expectOriginate(callId, pending);
    try {
      await this.deps.ari.originate({
        channelId: callId,
        endpoint,
        app: this.deps.app,
        appArgs: 'originated',
        callerId: request.callerId,
        timeoutSeconds: request.ringTimeoutSeconds || DEFAULT_RING_SECONDS,
        // Answered after an adapter restart, the call is still this tenant's callback with its tags.
        variables: originMemoryOf(request.tenantId, originatedLeg(callId, pending)),
      });
      pending.confirmedAt = performance.now();
    } catch (error) {
      const unavailable = error instanceof AriRequestError && error.failure === 'allocation-failed';
      this.deps.tracker.originateFailed(
        callId,
        unavailable ? LegDisposition.LEG_DISPOSITION_UNAVAILABLE : LegDisposition.LEG_DISPOSITION_FAILED,
      );
      if (!unavailable) throw error;
    }
    const disposition = request.waitForOutcome ? await pending.outcome : LegDisposition.LEG_DISPOSITION_UNSPECIFIED;
    return { callId, disposition };
  }

  private async command<R>(
    method: string,
    request: { tenantId: string; callId: string; commandId: string },
    execute: (call: CallRecord) => Promise<R>,
  ): Promise<R> {
    return this.timed(method, request, async () => {
      const call = this.deps.registry.call(request.callId);
      // Another tenant's call is reported as missing, not as forbidden: its existence is not theirs to know.
      if (!call || call.tenantId !== request.tenantId) {
        throw new GrpcStatusError(grpc.status.NOT_FOUND, `call ${request.callId} is not active on this adapter`);
      }
      try {
        return await execute(call);
      } catch (error) {
        throw toStatus(error);
      }
    });
  }

  /** Runs a command once per command id (until it succeeds), counted and timed. */
  private async timed<R>(
    method: string,
    request: { tenantId: string; commandId: string },
    execute: () => Promise<R>,
  ): Promise<R> {
    if (!request.commandId) throw invalid('command_id is required so that a repeated command runs once');
    const started = performance.now();
    const result = this.deps.commands.run(commandKey(request), execute);
    try {
      const response = await result;
      this.deps.metrics.commands.add(1, { method, outcome: 'ok' });
      return response;
    } catch (error) {
      this.deps.metrics.commands.add(1, {
        method,
        outcome: error instanceof GrpcStatusError ? grpc.status[error.code] : 'INTERNAL',
      });
      throw error;
    } finally {
      this.deps.metrics.commandDuration.record((performance.now() - started) / 1000, { method });
    }
  }

  private liveCaller(call: CallRecord): LegRecord {
    const caller = callerLeg(call);
    if (!isLive(caller))
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `the caller of call ${call.callId} has hung up`);
    return caller;
  }

  private async play(call: CallRecord, media: readonly string[], language: string): Promise<string> {
    const playbackId = randomUUID();
    call.playbacks.add(playbackId);
    try {
      await this.deps.ari.play(this.liveCaller(call).channelId, playbackId, media, language || undefined);
    } catch (error) {
      call.playbacks.delete(playbackId);
      throw error;
    }
    return playbackId;
  }

  /**
   * The caller's message: prompts and music stop, the channel is answered, the greeting is played
   * and the recording queued behind it (Asterisk starts it when the greeting ends).
   */
  private async recordVoicemail(
    call: CallRecord,
    request: callControlV1.RecordVoicemailRequest,
  ): Promise<callControlV1.RecordVoicemailResponse> {
    const terminateOn = request.terminateOn || '#';
    if (!TERMINATE_ON.includes(terminateOn))
      throw invalid(`terminate_on "${request.terminateOn}" is not one of ${TERMINATE_ON.join(', ')}`);
    if (request.maxDurationSeconds < 0 || request.maxSilenceSeconds < 0)
      throw invalid('max_duration_seconds and max_silence_seconds must not be negative');
    checkPlayable(request.greeting);
    // A tone never ends, so the recording queued behind it would never start.
    const tone = request.greeting.find((medium) => medium.startsWith('tone:'));
    if (tone) throw invalid(`greeting "${tone}" is a tone, which plays until stopped: the recording would never start`);
    const caller = this.liveCaller(call);
    await stopRingback(this.deps.ari, call);
    await Promise.all([...call.playbacks].map((playbackId) => this.deps.ari.stopPlayback(playbackId)));
    call.playbacks.clear();
    if (call.mohPlaying) {
      await this.deps.ari.stopMoh(caller.channelId);
      call.mohPlaying = false;
    }
    if (!caller.answeredAt) {
      await this.deps.ari.answer(caller.channelId);
      this.deps.tracker.answered(call, caller, new Date());
    }
    if (request.greeting.length > 0) await this.play(call, request.greeting, request.language);
    return this.deps.voicemail.record(call, caller, {
      departmentId: request.departmentId,
      maxDurationSeconds: request.maxDurationSeconds || DEFAULT_VOICEMAIL_SECONDS,
      maxSilenceSeconds: request.maxSilenceSeconds || DEFAULT_VOICEMAIL_SILENCE_SECONDS,
      beep: request.beep,
      terminateOn,
    });
  }

  private async playAndCollect(
    call: CallRecord,
    request: callControlV1.PlayAndCollectRequest,
  ): Promise<callControlV1.PlayAndCollectResponse> {
    if (request.maxDigits < 1 || request.maxDigits > 32) throw invalid('max_digits must be between 1 and 32');
    if (request.terminator.length > 1) throw invalid('terminator must be a single key');
    checkPlayable(request.media);
    this.liveCaller(call);
    // Digits typed ahead answer the menu at once when the caller may interrupt it.
    const typedAhead = request.bargeIn ? call.typeAhead : '';
    call.typeAhead = '';
    const playPrompts = request.media.length > 0 && typedAhead === '';
    const collector = new DigitCollector(
      {
        maxDigits: request.maxDigits,
        terminator: request.terminator,
        firstDigitTimeoutMs: request.firstDigitTimeoutMs || 5_000,
        interDigitTimeoutMs: request.interDigitTimeoutMs || 3_000,
        bargeIn: request.bargeIn,
      },
      playPrompts,
      () => {
        for (const playbackId of call.playbacks) void this.deps.ari.stopPlayback(playbackId).catch(() => undefined);
      },
    );
    call.collector?.hangup();
    call.collector = collector;
    for (const [index, digit] of [...typedAhead].entries()) {
      if (collector.finished) {
        call.typeAhead = typedAhead.slice(index);
        break;
      }
      collector.digit(digit);
    }
    if (playPrompts) {
      await stopRingback(this.deps.ari, call);
      await this.play(call, request.media, request.language);
    }
    const result = await collector.result;
    if (call.collector === collector) call.collector = undefined;
    return result;
  }

  private async dialLeg(
    call: CallRecord,
    endpoint: string,
    kind: callV1.LegKind,
    callerId: string,
    timeoutSeconds: number,
    tags: Record<string, string>,
    command: LegCommand,
  ): Promise<LegRecord> {
    const leg = this.prepareLeg(call, endpoint, kind, callerId, tags, command);
    startRingback(this.deps.ari, call, [leg], this.deps.logger);
    await this.startLeg(call, leg, callerId, timeoutSeconds);
    return leg;
  }

  /** A new leg of the call, known (and published as DIALING) before Asterisk hears of it. */
  private prepareLeg(
    call: CallRecord,
    endpoint: string,
    kind: callV1.LegKind,
    callerId: string,
    tags: Record<string, string>,
    command: LegCommand,
    ringGroup?: RingGroup,
  ): LegRecord {
    const caller = this.liveCaller(call);
    const legId = randomUUID();
    const leg = newLeg({
      legId,
      channelId: legId,
      kind,
      endpoint,
      from: callerId || caller.from,
      to: dialledParty(endpoint),
      createdAt: new Date(),
      tags: { ...tags },
      createdByAdapter: true,
      state: LegState.LEG_STATE_DIALING,
    });
    leg.command = command;
    if (ringGroup) {
      leg.ringGroup = ringGroup;
      ringGroup.legs.push(leg);
    }
    this.deps.tracker.addDialledLeg(call, leg);
    return leg;
  }

  /**
   * Creates the leg's channel, waits for its StasisStart and dials it. Resolves once dialled (or
   * once the leg ended first: its outcome says how); rejects when Asterisk failed the leg.
   */
  private async startLeg(call: CallRecord, leg: LegRecord, callerId: string, timeoutSeconds: number): Promise<void> {
    const { legId, endpoint } = leg;
    try {
      // Set at creation: until its StasisStart Asterisk refuses every command on the channel. The
      // leg's memory rides along, so a new adapter process can take the call over (no request more).
      const variables: Record<string, string> = {
        ...(callerId ? { 'CALLERID(num)': callerId } : {}),
        ...legMemoryOf(call, leg),
      };
      await this.deps.ari.create(legId, endpoint, this.deps.app, `dialed,${call.callId}`, variables);
    } catch (error) {
      const unavailable = error instanceof AriRequestError && error.failure === 'allocation-failed';
      this.deps.tracker.failLeg(
        call,
        leg,
        unavailable ? LegDisposition.LEG_DISPOSITION_UNAVAILABLE : LegDisposition.LEG_DISPOSITION_FAILED,
        unavailable ? 20 : TEMPORARY_FAILURE,
      );
      if (unavailable) return;
      throw error;
    }
    this.deps.tracker.channelCreated(leg);
    const entered = await this.deps.tracker.awaitStasis(leg, this.deps.stasisStartTimeoutMs);
    if (!isLive(leg)) return;
    if (leg.hungUpByAdapter) {
      // Given up while Asterisk was still creating it (the caller left, another leg won): the
      // hangup then found no channel, so it is asked for again now that there is one (and by
      // reconciliation, should this attempt fail too).
      await this.deps.ari
        .hangup(legId, leg.pendingCause ?? NORMAL_CLEARING)
        .catch((error: unknown) => this.deps.logger.warn({ err: error, legId }, 'could not hang up a given-up leg'));
      return;
    }
    if (!entered) {
      this.deps.tracker.abandonLeg(call, leg);
      throw new GrpcStatusError(
        grpc.status.UNAVAILABLE,
        `leg ${legId} to ${endpoint} did not enter Stasis within ${this.deps.stasisStartTimeoutMs} ms`,
      );
    }
    try {
      await this.deps.ari.dial(legId, callerLeg(call).channelId, timeoutSeconds || DEFAULT_RING_SECONDS);
    } catch (error) {
      // If this hangup fails too, reconciliation asks again.
      await this.deps.tracker
        .hangupLeg(leg, TEMPORARY_FAILURE)
        .catch((hangupError: unknown) =>
          this.deps.logger.warn({ err: hangupError, legId }, 'could not hang up a leg whose dial failed'),
        );
      throw error;
    }
  }

  /**
   * Ring-all: one leg per target, all created and dialled at once. The tracker lets the first
   * answer win (bridged) and hangs up the rest with cause 26; without a winner the ring's outcome
   * follows from how its legs ended.
   */
  private async dialAll(
    call: CallRecord,
    request: callControlV1.DialAllRequest,
  ): Promise<callControlV1.DialAllResponse> {
    if (request.targets.length === 0) throw invalid('targets must name at least one endpoint');
    for (const target of request.targets)
      if (!DIAL_STRING.test(target.endpoint))
        throw invalid(`endpoint "${target.endpoint}" is not a dial string like PJSIP/agent1`);
    if (request.timeoutSeconds < 0) throw invalid('timeout_seconds must not be negative');
    // All or nothing: one refused target fails the command before any phone rings.
    for (const target of request.targets)
      this.deps.outbound.checkEndpoint(call.tenantId, target.endpoint, 'dial_all', outboundParty(call, target.tags));
    const taken = this.takenOverLegs(request, 'dialAll');
    if (taken) return this.ringResponse(taken[0]!.ringGroup ?? { id: randomUUID(), legs: taken }, request);
    const group: RingGroup = { id: randomUUID(), legs: [] };
    const command: LegCommand = { key: commandKey(request), method: 'dialAll' };
    const legs = request.targets.map((target) =>
      this.prepareLeg(
        call,
        target.endpoint,
        target.kind === LegKind.LEG_KIND_UNSPECIFIED ? LegKind.LEG_KIND_INTERNAL : target.kind,
        request.callerId,
        target.tags,
        command,
        group,
      ),
    );
    startRingback(this.deps.ari, call, legs, this.deps.logger);
    const started = await Promise.allSettled(
      legs.map((leg) => this.startLeg(call, leg, request.callerId, request.timeoutSeconds)),
    );
    const failures = started.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    for (const failure of failures)
      this.deps.logger.warn({ err: failure.reason, callId: call.callId }, 'a leg of a ring-all could not be dialled');
    // Asterisk failed every leg (not a disposition such as busy): a retry of the command may succeed.
    if (failures.length === legs.length) throw failures[0]!.reason;
    return this.ringResponse(group, request);
  }

  private async ringResponse(
    group: RingGroup,
    request: callControlV1.DialAllRequest,
  ): Promise<callControlV1.DialAllResponse> {
    const legs = group.legs;
    const disposition = request.waitForOutcome ? await ringOutcome(group) : LegDisposition.LEG_DISPOSITION_UNSPECIFIED;
    const winner = group.winner;
    return {
      legIds: legs.map((leg) => leg.legId),
      answeredLegId:
        winner && (winner.bridged || disposition === LegDisposition.LEG_DISPOSITION_ANSWERED) ? winner.legId : '',
      disposition,
    };
  }
}
