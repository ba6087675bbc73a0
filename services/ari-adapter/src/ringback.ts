import type { Logger } from '@switchboard/service-kit';
import type { AriOps } from './ari-ops.js';
import { callerLeg, isLive, type CallRecord, type LegRecord, type Ringback } from './calls.js';

/**
 * What an answered caller hears while a dialled leg rings: Asterisk's `ring` indication as a
 * playback. Without a `tonezone` Asterisk takes indications.conf's `country` (de: 425 Hz, 1 s on,
 * 4 s off). POST …/ring would not do: on an answered channel it only sends a signalling indication,
 * no audio.
 */
const RINGBACK_MEDIA = 'tone:ring';

/**
 * The ringback's playback id, from the leg (or ring-all) it was started for: an adapter that takes
 * the call over after a restart can stop it without having seen it start (ARI lists no playbacks).
 */
function ringbackId(leg: LegRecord): string {
  return `ringback-${leg.ringGroup?.id ?? leg.legId}`;
}

/**
 * Starts ringback for `legs` (the legs of one Dial, Forward or DialAll), unless the caller is not
 * answered (the phone network rings for them), hears music on hold (a caller who waited in a queue
 * keeps the music rather than have it switch to ringing and back on every attempt) or already hears
 * ringback (the new legs join it: one playback request per call at most while legs ring). Not
 * awaited by the dial: the play request goes beside the leg's create, no round trip before the phone
 * rings. It stops when the last of its legs ends unanswered; an answered one stops it before bridging.
 */
export function startRingback(ari: AriOps, call: CallRecord, legs: readonly LegRecord[], logger: Logger): void {
  const caller = callerLeg(call);
  if (!isLive(caller) || !caller.answeredAt || call.mohPlaying || call.bridgeId || legs.length === 0) return;
  const playbackId = ringbackId(legs[0]!);
  call.ringback ??= {
    playbackId,
    started: ari.play(caller.channelId, playbackId, [RINGBACK_MEDIA], undefined).catch((error: unknown) => {
      // The caller hears silence, as before ringback existed; the dial goes on regardless.
      logger.warn({ err: error, callId: call.callId }, 'could not start ringback for the caller');
    }),
    legs: new Set(),
  };
  follow(ari, call, call.ringback, legs, logger);
}

/**
 * A call taken over after a restart, answered and not bridged, whose dialled legs still ring: the
 * process before may have played ringback for them. Stopping it when the last ends or before a
 * bridge costs one request (a 404 if none played), as music on hold does.
 */
export function adoptRingback(ari: AriOps, call: CallRecord, logger: Logger): void {
  const caller = callerLeg(call);
  const ringing = [...call.legs.values()].filter(
    (leg) => leg.legId !== call.callerLegId && isLive(leg) && !leg.answeredAt,
  );
  if (!isLive(caller) || !caller.answeredAt || call.bridgeId || ringing.length === 0) return;
  call.ringback = { playbackId: ringbackId(ringing[0]!), started: Promise.resolve(), legs: new Set() };
  follow(ari, call, call.ringback, ringing, logger);
}

function follow(ari: AriOps, call: CallRecord, ringback: Ringback, legs: readonly LegRecord[], logger: Logger): void {
  for (const leg of legs) {
    ringback.legs.add(leg);
    void leg.outcome.then(() => {
      ringback.legs.delete(leg);
      if (ringback.legs.size === 0 && call.ringback === ringback)
        stopRingback(ari, call).catch((error: unknown) =>
          logger.warn({ err: error, callId: call.callId }, 'could not stop ringback after the dial ended'),
        );
    });
  }
}

/**
 * Stops the caller's ringback, if any: before the caller is bridged and before anything else is
 * played to them (ARI queues a channel's commands and playbacks behind a running tone, which never
 * ends). Waits for its play request first, so the stop never overtakes the start.
 */
export async function stopRingback(ari: AriOps, call: CallRecord): Promise<void> {
  const ringback = call.ringback;
  if (!ringback) return;
  call.ringback = undefined;
  await ringback.started;
  if (isLive(callerLeg(call))) await ari.stopPlayback(ringback.playbackId);
}
