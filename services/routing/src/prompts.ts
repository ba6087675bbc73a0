// Prompts routing plays (ARI media URIs; the files live in Asterisk's sounds/<lang>/switchboard/).

/**
 * The highest queue position with a recorded announcement (docker/asterisk/sounds/numbered.yaml
 * generates 1–50); a caller further back hears the music only, not a failed playback.
 */
export const LAST_ANNOUNCED_POSITION = 50;

export const PROMPTS = {
  /** "You are caller number n": `sound:switchboard/queue-position-<n>` (n ≥ 1). */
  queuePosition: (position: number) => `sound:switchboard/queue-position-${position}`,
  /** The number or service cannot be reached right now (fallback without a fallback department). */
  serviceUnavailable: 'sound:switchboard/service-unavailable',
  /** Dialled extension does not exist (internal calls). */
  extensionUnknown: 'sound:switchboard/extension-unknown',
  /** The person or number called did not answer or is busy (instead of a busy tone). */
  partyUnavailable: 'sound:switchboard/party-unavailable',
  /** An outbound number the tenant's policy bars (premium, mass traffic, directory services). */
  numberBarred: 'sound:switchboard/number-barred',
  /** Voicemail is not available (the adapter cannot record); played instead, then hang-up. */
  voicemailUnavailable: 'sound:switchboard/voicemail-unavailable',
  /** A callback request was stored for the caller's number. */
  callbackRegistered: 'sound:switchboard/callback-registered',
} as const;
