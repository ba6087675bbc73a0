import { type CallRecord } from './records.js';
import { type MessageScript } from './recordings.js';

/** How a desk phone or an external number reacts when called. */
export interface EndpointBehavior {
  /** Answer this long after ringing starts. */
  answerAfterMs?: number;
  busy?: boolean;
  /** Ring until the dial timeout (or forever without one). */
  noAnswer?: boolean;
  /** Unregistered phone / unreachable number: CHANUNAVAIL. */
  unavailable?: boolean;
  /** After answering, hang up (a SIP BYE) this long later. */
  hangupAfterMs?: number;
}

export interface FaxScript {
  tiff: string;
  pages: number;
  stationId?: string;
  result?: 'SUCCESS' | 'FAILED';
  error?: string;
  /** Copy only the first N bytes, as a broken transmission would leave it. */
  truncateBytes?: number;
  /** How long the transmission takes; default 14 s per page (one G.711 page on a real Asterisk). */
  durationMs?: number;
}

/**
 * What a caller does, `atMs` after the call was placed — or, with `after: 'prompt'`, after the first
 * prompt started playing to them (a caller who waits to hear the menu before pressing its keys).
 */
export type ScriptStep = { atMs: number; dtmf: string; after?: 'placed' | 'prompt' } | { atMs: number; hangup: true };

export interface InboundCall {
  from: string;
  to: string;
  app?: string;
  callerName?: string;
  /** A call from one of the PBX's own devices (e.g. `kropp-101`): the channel is `PJSIP/<endpoint>-…`. */
  endpoint?: string;
  args?: string[];
  script?: ScriptStep[];
  fax?: FaxScript;
  /** What the caller says once a recording of the channel runs (a voicemail). */
  message?: MessageScript;
}

/** Where events go: the events WebSocket hub. */
export interface EventSink {
  send(app: string, message: Record<string, unknown>): void;
  isActive(app: string): boolean;
  knownApps(): string[];
}

export interface CallerId {
  name: string;
  number: string;
}

export interface Dialplan {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface Target {
  resource: string;
  dialstring: string;
  behavior: EndpointBehavior;
  trunk: boolean;
}

export interface Channel {
  id: string;
  name: string;
  state: string;
  protocolId: string;
  caller: CallerId;
  connected: CallerId;
  dialplan: Dialplan;
  creationtime: string;
  language: string;
  vars: Map<string, string>;
  /** Channels that entered Stasis from the dialplan get no ChannelDestroyed (Asterisk 22). */
  origin: 'dialplan' | 'ari';
  subscribedApp?: string;
  stasisApp?: string;
  lastApp?: string;
  bridge?: Bridge;
  playbacks: Playback[];
  idleWaiters: (() => void)[];
  timers: Set<NodeJS.Timeout>;
  target?: Target;
  dialed: boolean;
  /** While a dialled phone rings: it answers (Dial ANSWER). */
  pickUp?: () => void;
  fax?: FaxScript;
  message?: MessageScript;
  /** The recording running on the channel (res_stasis_recording's command holds the channel). */
  recording?: LiveRecording;
  /** From `create` until the channel enters Stasis; a hangup meanwhile waits for that entry. */
  entry?: { app: string; args: string[]; hangupCause?: number };
  /** Ringing from the dialplan while the call waited for the Stasis app: it lasts until the answer. */
  heldRinging?: boolean;
  /** The caller's answers to the prompts (script steps `after: 'prompt'`); see World.promptStarted. */
  answers?: PromptAnswers;
  record: CallRecord;
  gone: boolean;
}

/** Keys a caller presses in answer to what they hear, timed from the first prompt. */
export interface PromptAnswers {
  keys: { atMs: number; dtmf: string }[];
  /** Wall-clock ms when the first prompt started; undefined until then. */
  firstPromptAt?: number;
  /** Each prompt heard (media URI) and when it first started (wall-clock ms). */
  heard: Map<string, number>;
  /** Key presses scheduled and not yet made. */
  pending: Set<NodeJS.Timeout>;
}

export interface Bridge {
  id: string;
  name: string;
  type: 'mixing' | 'holding';
  members: Channel[];
  apps: Set<string>;
  creationtime: string;
  playbacks: Playback[];
  mohClass?: string;
}

export interface Playback {
  id: string;
  media: string[];
  index: number;
  language: string;
  state: 'queued' | 'playing' | 'continuing' | 'done' | 'failed';
  target: { channel: Channel } | { bridge: Bridge };
  timer?: NodeJS.Timeout;
}

/** `POST /channels/{id}/record` from queued to done, failed or canceled. */
export interface LiveRecording {
  name: string;
  format: string;
  channel: Channel;
  state: 'queued' | 'recording' | 'done' | 'failed' | 'canceled';
  maxDurationMs: number;
  maxSilenceMs: number;
  /** The keys that end it (`terminateOn`): none, one of `#`/`*`, or any. */
  acceptDtmf: string;
  beep: boolean;
  /** `performance.now()` when it started recording. */
  startedAt?: number;
  /** Set when the scripted caller ends it, so the length is the script's, not a measurement. */
  endAtMs?: number;
  timer?: NodeJS.Timeout;
  /** Cancelled through ARI: its file is deleted. */
  discard?: boolean;
  duration?: number;
  talkingDuration?: number;
  cause?: string;
}

export function recordingSnapshot(rec: LiveRecording) {
  return {
    name: rec.name,
    format: rec.format,
    state: rec.state,
    target_uri: `channel:${rec.channel.id}`,
    ...(rec.duration !== undefined ? { duration: rec.duration } : {}),
    ...(rec.talkingDuration !== undefined && rec.duration !== undefined
      ? { talking_duration: rec.talkingDuration, silence_duration: rec.duration - rec.talkingDuration }
      : {}),
    ...(rec.cause !== undefined ? { cause: rec.cause } : {}),
  };
}

export type HangupRequest = { cause?: number; soft?: boolean };

/**
 * A channel as ARI shows it (events and responses). `channelvars` only with ari.conf `channelvars`
 * set: each listed variable read as `read` does (a dialplan function evaluated, as Asterisk does), `""`
 * when unset.
 */
export function channelSnapshot(ch: Channel, channelVars: string[], read: (name: string) => string | undefined) {
  return {
    id: ch.id,
    name: ch.name,
    state: ch.state,
    protocol_id: ch.protocolId,
    caller: { ...ch.caller },
    connected: { ...ch.connected },
    accountcode: '',
    dialplan: { ...ch.dialplan },
    creationtime: ch.creationtime,
    language: ch.language,
    ...(channelVars.length ? { channelvars: Object.fromEntries(channelVars.map((v) => [v, read(v) ?? ''])) } : {}),
  };
}

export function bridgeSnapshot(br: Bridge) {
  return {
    id: br.id,
    technology: br.type === 'holding' ? 'holding_bridge' : 'simple_bridge',
    bridge_type: br.type,
    bridge_class: 'stasis',
    creator: 'Stasis',
    name: br.name,
    channels: br.members.map((m) => m.id),
    creationtime: br.creationtime,
    video_mode: 'talker',
  };
}

export function playbackSnapshot(pb: Playback) {
  const next = pb.media[pb.index + 1];
  return {
    id: pb.id,
    media_uri: pb.media[pb.index] ?? '',
    ...(next !== undefined ? { next_media_uri: next } : {}),
    target_uri: 'channel' in pb.target ? `channel:${pb.target.channel.id}` : `bridge:${pb.target.bridge.id}`,
    language: pb.language,
    state: pb.state,
  };
}

/** `"Name" <number>`, `Name <number>` or a bare number, as Asterisk's callerid parser reads them. */
export function parseCallerId(value: string): CallerId {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(value);
  if (m) return { name: (m[1] ?? '').trim(), number: (m[2] ?? '').trim() };
  return { name: '', number: value.trim() };
}
