import { type RecordingEnd } from './recordings.js';
/** What happened to one channel, kept for test assertions (`GET /sim/calls/<channelId>`). */
export interface CallRecord {
  channelId: string;
  name: string;
  direction: 'inbound' | 'outbound';
  /** Caller number for inbound calls; the dialled endpoint for outbound legs. */
  from: string;
  to: string;
  createdAt: string;
  answered: boolean;
  answeredAt?: string;
  endedAt?: string;
  hangupCause?: number;
  hangupCauseText?: string;
  /** Final `dialstatus` of an ARI dial/originate on this leg. */
  dialStatus?: string;
  /** Media URIs this channel heard, own playbacks and its bridge's, in order of start. */
  playbacks: string[];
  /** Media URIs Asterisk could not play to it (a sound that does not exist, an unknown scheme). */
  playbackFailures: string[];
  /** Digits the simulated caller pressed (from its script). */
  dtmfPressed: string;
  /** Digits the application sent to the channel (`POST /channels/{id}/dtmf`). */
  dtmfSent: string;
  /** Ids of the channels it shared a bridge with. */
  bridgedWith: string[];
  /**
   * Music-on-hold classes it heard, started on it or on its bridge, in order: the class asked for,
   * or `default` when that one is not configured (or none was given).
   */
  moh: string[];
  /**
   * Classes asked for that are not configured, as Asterisk's "not found" warnings; when `default`
   * is among them, that request played nothing: silence, though ARI answered 204.
   */
  mohMissing: string[];
  ringingIndicated: boolean;
  held: boolean;
  muted: boolean;
  redirectedTo?: string;
  fax?: { file: string; status: string; pages: number };
  /** Recordings made of it: name, the duration ARI reported, and what ended it. */
  recordings: Array<{ name: string; duration: number; end: RecordingEnd }>;
}

export function newRecord(
  init: Pick<CallRecord, 'channelId' | 'name' | 'direction' | 'from' | 'to' | 'createdAt'>,
): CallRecord {
  return {
    ...init,
    answered: false,
    playbacks: [],
    playbackFailures: [],
    dtmfPressed: '',
    dtmfSent: '',
    bridgedWith: [],
    moh: [],
    mohMissing: [],
    ringingIndicated: false,
    held: false,
    muted: false,
    recordings: [],
  };
}
