// The parts of ARI's JSON the adapter reads (names as Asterisk sends them).

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller: { name: string; number: string };
  connected?: { name: string; number: string };
  dialplan?: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
  creationtime: string;
}

export interface AriEvent {
  type: string;
  timestamp: string;
  application?: string;
}

export interface StasisStartEvent extends AriEvent {
  args: string[] | string;
  channel: AriChannel;
}
export interface ChannelEvent extends AriEvent {
  channel: AriChannel;
}
export interface ChannelHangupRequestEvent extends ChannelEvent {
  cause?: number;
  soft?: boolean;
}
export interface ChannelDestroyedEvent extends ChannelEvent {
  cause: number;
  cause_txt: string;
}
export interface ChannelDtmfReceivedEvent extends ChannelEvent {
  digit: string;
  duration_ms: number;
}
export interface DialEvent extends AriEvent {
  dialstatus: string;
  peer: AriChannel;
}
export interface PlaybackEvent extends AriEvent {
  playback: { id: string; media_uri: string; target_uri: string; state: string };
}

/** RecordingStarted, RecordingFinished, RecordingFailed: `duration` and `talking_duration` in whole seconds. */
export interface RecordingEvent extends AriEvent {
  recording: {
    name: string;
    format: string;
    state: string;
    target_uri: string;
    duration?: number;
    talking_duration?: number;
    silence_duration?: number;
    cause?: string;
  };
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
