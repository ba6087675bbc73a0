import { z } from 'zod';

// The parts of ARI's JSON the adapter reads (names as Asterisk sends them, see the `Event` models of
// rest-api/api-docs/events.json). An event is checked for exactly these fields and stripped of the
// rest: a handled event missing one is refused with the reason instead of failing deep in a handler.

const channel = z.object({
  id: z.string().min(1),
  name: z.string(),
  state: z.string(),
  caller: z.object({ name: z.string(), number: z.string() }),
  // Read by reconciliation from `GET /channels` (which channel sits in our Stasis app), and for
  // the dialled number of a channel adopted without args.
  dialplan: z
    .object({ exten: z.string(), app_name: z.string().optional(), app_data: z.string().optional() })
    .optional(),
  creationtime: z.string(),
});

/**
 * `channelvars` comes only in `GET /channels` answers the adapter reads without this schema, and only
 * for the variables ari.conf lists (call-memory.ts); events are not checked for it.
 */
export type AriChannel = z.infer<typeof channel> & { channelvars?: Record<string, string> };

/** A bridge as `GET /bridges` lists it: the channels in it tell which legs talk together. */
export interface AriBridge {
  id: string;
  channels: string[];
}

const base = { timestamp: z.string() };
const onChannel = { ...base, channel };

const schemas = {
  // Asterisk sends a list; a string (comma-separated) is accepted as the dialplan writes it.
  StasisStart: z.object({ ...onChannel, args: z.union([z.array(z.string()), z.string()]) }),
  StasisEnd: z.object(onChannel),
  ChannelStateChange: z.object(onChannel),
  ChannelHangupRequest: z.object({ ...onChannel, cause: z.number().optional(), soft: z.boolean().optional() }),
  ChannelDestroyed: z.object({ ...onChannel, cause: z.number(), cause_txt: z.string() }),
  ChannelDtmfReceived: z.object({ ...onChannel, digit: z.string(), duration_ms: z.number() }),
  Dial: z.object({ ...base, dialstatus: z.string(), peer: channel }),
  PlaybackFinished: z.object({
    ...base,
    playback: z.object({ id: z.string(), media_uri: z.string(), target_uri: z.string(), state: z.string() }),
  }),
  RecordingStarted: z.object({ ...base, recording: recording() }),
  RecordingFinished: z.object({ ...base, recording: recording() }),
  RecordingFailed: z.object({ ...base, recording: recording() }),
  ApplicationReplaced: z.object({ ...base, application: z.string() }),
} as const;

/** `duration` and `talking_duration` in whole seconds; `cause` only on RecordingFailed. */
function recording() {
  return z.object({
    name: z.string().min(1),
    duration: z.number().optional(),
    talking_duration: z.number().optional(),
    cause: z.string().optional(),
  });
}

type Schemas = typeof schemas;
type AriEventType = keyof Schemas;
/** A handled event: its fields checked, `type` telling which. */
export type AriEvent = { [K in AriEventType]: z.infer<Schemas[K]> & { type: K } }[AriEventType];
export type AriEventOf<K extends AriEventType> = Extract<AriEvent, { type: K }>;

type StasisStartEvent = AriEventOf<'StasisStart'>;
export type RecordingEvent = AriEventOf<'RecordingStarted' | 'RecordingFinished' | 'RecordingFailed'>;

type DecodedMessage =
  | { kind: 'event'; event: AriEvent }
  /** A type the adapter does not act on (ChannelVarset, ChannelDialplan, Bridge…, …): nothing to do. */
  | { kind: 'skipped'; type: string }
  | { kind: 'malformed'; type: string | undefined; reason: string };

const isHandled = (type: string): type is AriEventType => Object.hasOwn(schemas, type);

/** Asterisk writes `type` first: most messages (three in four of a call's, ChannelVarset above all) are skipped unparsed. */
const LEADING_TYPE = /^\{\s*"type"\s*:\s*"([^"\\]+)"/;

/**
 * One WebSocket message of `/ari/events`: a handled event with the fields the adapter reads checked,
 * a skipped one, or why it is malformed (not JSON, no `type`, a handled type missing a field).
 */
export function decodeAriEvent(text: string): DecodedMessage {
  const leading = LEADING_TYPE.exec(text)?.[1];
  if (leading !== undefined && !isHandled(leading)) return { kind: 'skipped', type: leading };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'malformed', type: undefined, reason: `not JSON: ${(error as Error).message}` };
  }
  const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') return { kind: 'malformed', type: undefined, reason: 'no event type' };
  if (!isHandled(type)) return { kind: 'skipped', type };
  const parsed = schemas[type].safeParse(json);
  if (!parsed.success) return { kind: 'malformed', type, reason: z.prettifyError(parsed.error) };
  return { kind: 'event', event: { ...parsed.data, type } as AriEvent };
}

/** ARI times look like `2026-11-27T22:08:42.107+0000`; Date wants a colon in the offset. */
export function ariTime(timestamp: string | undefined): Date {
  if (!timestamp) return new Date();
  const parsed = new Date(timestamp.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(parsed.getTime()) ? new Date() : parsed;
}

export function stasisArgs(event: StasisStartEvent): string[] {
  return Array.isArray(event.args) ? event.args : event.args ? event.args.split(',') : [];
}
