import { z } from 'zod';
import type { Logger } from '@switchboard/service-kit';
import type { AriOps } from './ari-ops.js';
import type { AriChannel } from './ari-types.js';
import { callerLeg, type CallRecord, type LegRecord } from './calls.js';

// What a call needs beyond Asterisk's own channel and bridge lists, kept on its channels as channel
// variables so that a new adapter process (after a crash or restart) can take the call over with its
// tenant, times and routing's tags: the adapter keeps no state of its own outside its memory.

/** On every dialled and originated channel, set in the `variables` of the request that creates it. */
export const LEG_VARIABLE = 'SB_LEG';
/** On the caller's channel, written when the caller is answered, again when a dialled leg is, and before a fax hand-off. */
export const CALL_VARIABLE = 'SB_CALL';

/** A leg as call.ended reports it and rating bills it. */
const party = z.object({
  legId: z.string().min(1),
  kind: z.number().int(),
  endpoint: z.string(),
  from: z.string(),
  to: z.string(),
  createdAt: z.iso.datetime(),
  tags: z.record(z.string(), z.string()),
});

/** The call a dialled leg belongs to, so that its end can be reported should its caller be gone. */
const callSummary = z.object({
  direction: z.number().int(),
  dialedNumber: z.string(),
  callerName: z.string(),
  startedAt: z.iso.datetime(),
  caller: party.extend({ answeredAt: z.iso.datetime().optional() }),
});

const legMemory = party.extend({
  /** The call the leg belongs to (for an originated channel, its own id). */
  callId: z.string().min(1),
  tenantId: z.string().min(1),
  /** The ring-all the leg rang in: of its legs only one is ever bridged. */
  ring: z.string().optional(),
  /** The command that dialled it, so a repeat after a take-over does not dial again. */
  command: z.object({ key: z.string().min(1), method: z.enum(['dial', 'forward', 'dialAll']) }).optional(),
  /** Absent on an originated channel, which is its call's caller. */
  call: callSummary.optional(),
});

const callMemory = z.object({
  tenantId: z.string().min(1),
  direction: z.number().int(),
  dialedNumber: z.string(),
  callerName: z.string(),
  startedAt: z.iso.datetime(),
  /** Absent only when written for a fax hand-off before the caller was answered. */
  answeredAt: z.iso.datetime().optional(),
  /** The caller leg's tags (`fax` once handed to ReceiveFAX). */
  tags: z.record(z.string(), z.string()),
  /** Every dialled leg answered so far, also once its channel is gone. */
  legs: z.array(party.extend({ answeredAt: z.iso.datetime() })),
});

export type LegMemory = z.infer<typeof legMemory>;
export type CallMemory = z.infer<typeof callMemory>;
export type PartyMemory = z.infer<typeof party>;

function partyOf(leg: LegRecord): PartyMemory {
  return {
    legId: leg.legId,
    kind: leg.kind,
    endpoint: leg.endpoint,
    from: leg.from,
    to: leg.to,
    createdAt: leg.createdAt.toISOString(),
    tags: leg.tags,
  };
}

/** `SB_LEG` of a dialled leg about to be created: all a new process needs to report and bill it. */
export function legMemoryOf(call: CallRecord, leg: LegRecord): Record<string, string> {
  const caller = callerLeg(call);
  const memory: LegMemory = {
    ...partyOf(leg),
    callId: call.callId,
    tenantId: call.tenantId,
    ...(leg.ringGroup ? { ring: leg.ringGroup.id } : {}),
    ...(leg.command ? { command: leg.command } : {}),
    call: {
      direction: call.direction,
      dialedNumber: call.dialedNumber,
      callerName: call.callerName,
      startedAt: call.startedAt.toISOString(),
      caller: { ...partyOf(caller), ...(caller.answeredAt ? { answeredAt: caller.answeredAt.toISOString() } : {}) },
    },
  };
  return { [LEG_VARIABLE]: JSON.stringify(memory) };
}

/** `SB_LEG` of an originated channel (the caller of the call it becomes). */
export function originMemoryOf(tenantId: string, leg: LegRecord): Record<string, string> {
  const memory: LegMemory = { ...partyOf(leg), callId: leg.legId, tenantId };
  return { [LEG_VARIABLE]: JSON.stringify(memory) };
}

/** `SB_CALL`: the call's tenant, number, start, the caller's answer and tags, and its answered legs. */
export function callMemoryOf(call: CallRecord): string {
  const caller = callerLeg(call);
  const memory: CallMemory = {
    tenantId: call.tenantId,
    direction: call.direction,
    dialedNumber: call.dialedNumber,
    callerName: call.callerName,
    startedAt: call.startedAt.toISOString(),
    ...(caller.answeredAt ? { answeredAt: caller.answeredAt.toISOString() } : {}),
    tags: caller.tags,
    legs: [...call.legs.values()]
      .filter((leg) => leg !== caller && leg.answeredAt)
      .map((leg) => ({ ...partyOf(leg), answeredAt: leg.answeredAt!.toISOString() })),
  };
  return JSON.stringify(memory);
}

function decode<T>(schema: z.ZodType<T>, text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the adapter's variables of channels it is about to take over. From the channel snapshot when
 * ari.conf lists them in `channelvars` (Asterisk then puts them, `""` when unset, into every snapshot),
 * else with one `GET /channels/{id}/variable` each (404 when unset).
 */
export class CallMemoryReader {
  constructor(
    private readonly ari: AriOps,
    private readonly logger: Logger,
  ) {}

  async leg(channel: AriChannel): Promise<LegMemory | undefined> {
    return this.read(channel, LEG_VARIABLE, legMemory);
  }

  async call(channel: AriChannel): Promise<CallMemory | undefined> {
    return this.read(channel, CALL_VARIABLE, callMemory);
  }

  private async read<T>(channel: AriChannel, name: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const text = await this.variable(channel, name);
    const memory = decode(schema, text);
    if (text && !memory)
      this.logger.warn({ channelId: channel.id, variable: name, value: text.slice(0, 200) }, 'unreadable call memory');
    return memory;
  }

  private async variable(channel: AriChannel, name: string): Promise<string | undefined> {
    const listed = channel.channelvars;
    if (listed && Object.hasOwn(listed, name)) return listed[name] || undefined;
    try {
      return await this.ari.getVariable(channel.id, name);
    } catch (error) {
      // The channel may be gone meanwhile; the call is then taken over with what the list showed.
      this.logger.warn({ err: error, channelId: channel.id, variable: name }, 'could not read call memory');
      return undefined;
    }
  }
}
