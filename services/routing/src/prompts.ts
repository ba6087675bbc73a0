// Prompts routing plays (ARI media URIs; the files live in Asterisk's sounds/<lang>/switchboard/,
// generated from docker/asterisk/sounds/prompts.<lang>.yaml and numbered.yaml).

/**
 * The highest queue position with a recorded announcement (docker/asterisk/sounds/numbered.yaml
 * generates 1–50); a caller further back hears the music only, not a failed playback.
 */
export const LAST_ANNOUNCED_POSITION = 50;
/** The longest expected wait with a prompt (numbered.yaml: `wait-minutes-{n}`, 1–30). */
export const LAST_ANNOUNCED_WAIT_MINUTES = 30;

const WEEKDAY_PROMPTS = [
  'sound:switchboard/opens-mon',
  'sound:switchboard/opens-tue',
  'sound:switchboard/opens-wed',
  'sound:switchboard/opens-thu',
  'sound:switchboard/opens-fri',
  'sound:switchboard/opens-sat',
  'sound:switchboard/opens-sun',
] as const;

export const PROMPTS = {
  /** "You are caller number n": `sound:switchboard/queue-position-<n>` (n ≥ 1). */
  queuePosition: (position: number) => `sound:switchboard/queue-position-${position}`,
  /** "Your expected wait is about n minutes" (1 ≤ n ≤ LAST_ANNOUNCED_WAIT_MINUTES). */
  expectedWait: (minutes: number) => `sound:switchboard/wait-minutes-${minutes}`,
  /** "Press <key> to be called back without losing your place" for a department's callback key. */
  callbackOffer: (key: string) =>
    key === '*'
      ? 'sound:switchboard/callback-offer-star'
      : key === '#'
        ? 'sound:switchboard/callback-offer-hash'
        : key === '0'
          ? 'sound:switchboard/callback-offer-0'
          : `sound:switchboard/callback-offer-${key}`,
  /** The number or service cannot be reached right now (fallback without a fallback department). */
  serviceUnavailable: 'sound:switchboard/service-unavailable',
  /** Dialled extension does not exist (internal calls). */
  extensionUnknown: 'sound:switchboard/extension-unknown',
  /** The person or number called did not answer or is busy (instead of a busy tone). */
  partyUnavailable: 'sound:switchboard/party-unavailable',
  /** An outbound number the tenant's policy bars (premium, mass traffic, directory services). */
  numberBarred: 'sound:switchboard/number-barred',
  /** The recording failed (or the adapter cannot record): played instead, then hang-up. */
  voicemailUnavailable: 'sound:switchboard/voicemail-unavailable',
  /** Before the beep: leave your message with name and number, end with # or hang up. */
  voicemailGreeting: 'sound:switchboard/voicemail-greeting',
  /** After a recorded message: thanks, goodbye. */
  voicemailThanks: 'sound:switchboard/voicemail-thanks',
  /** Nothing (or only silence) was recorded: goodbye. */
  voicemailEmpty: 'sound:switchboard/voicemail-empty',
  /** A callback request was stored for the caller's number. */
  callbackRegistered: 'sound:switchboard/callback-registered',
  /** The department is outside its opening hours. */
  departmentClosed: 'sound:switchboard/department-closed',
  /** The department is closed today (public holiday or closing day). */
  departmentHoliday: 'sound:switchboard/department-holiday',
  /** "We are there for you again": followed by the day and the time. */
  nextOpening: 'sound:switchboard/next-opening',
  opensToday: 'sound:switchboard/opens-today',
  opensTomorrow: 'sound:switchboard/opens-tomorrow',
  /** 0 = Monday. */
  opensWeekday: (index: number) => WEEKDAY_PROMPTS[index]!,
  /** "on the n." (day of the month, 1–31), followed by the month. */
  opensDay: (day: number) => `sound:switchboard/opens-day-${day}`,
  /** The month's name, 1–12. */
  month: (month: number) => `sound:switchboard/month-${month}`,
  /** "at n o'clock", 1–23; midnight has its own prompt. */
  atHour: (hour: number) => `sound:switchboard/at-hour-${hour}`,
  atMidnight: 'sound:switchboard/at-midnight',
  /** The minutes after the hour, 1–59 ("at 8 o'clock" + "30"). */
  minutes: (minutes: number) => `sound:switchboard/minutes-${minutes}`,
  /** Closed without a target: call again then, goodbye. */
  callAgainGoodbye: 'sound:switchboard/call-again-goodbye',
} as const;
