import { callV1 } from '@switchboard/proto';

const { PlaybackOutcome } = callV1;

/**
 * Media Asterisk plays and finishes with a PlaybackFinished (`tone:` plays until stopped).
 * res_stasis_playback skips any other scheme, a `recording:` it cannot find and a `number:` that
 * is none without a final event: a prompt like that would never end (seen on 22.10.1).
 */
const PLAYABLE = /^(?:(?:sound|tone|digits|characters):.|number:\s*[+-]?\d)/;

/** The first medium Asterisk would start and never finish, if any. */
export function unplayableMedium(media: readonly string[]): string | undefined {
  return media.find((medium) => !PLAYABLE.test(medium));
}

/** Why Asterisk could not play a medium: the `reason` of `playback.failures`. */
export type PlaybackFailureReason = 'not_found' | 'unplayable';

export function failureReason(mediaUri: string): PlaybackFailureReason {
  // The usual cause: a prompt that was never generated or installed on this Asterisk.
  return mediaUri.startsWith('sound:') ? 'not_found' : 'unplayable';
}

/**
 * What a PlaybackFinished means. Asterisk says `failed` both when it could not play the last
 * medium (a sound file that does not exist) and when the channel hung up meanwhile; only the
 * first is a failure the caller suffered.
 */
export function playbackOutcome(state: string, channelHungUp: boolean): callV1.PlaybackOutcome {
  if (state !== 'failed') return PlaybackOutcome.PLAYBACK_OUTCOME_DONE;
  return channelHungUp ? PlaybackOutcome.PLAYBACK_OUTCOME_HANGUP : PlaybackOutcome.PLAYBACK_OUTCOME_FAILED;
}
