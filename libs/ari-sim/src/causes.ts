/** Q.850 cause texts as Asterisk's `ast_cause2str` words them (ChannelDestroyed `cause_txt`). */
const causeTexts: Record<number, string> = {
  0: 'Not Defined',
  1: 'Unallocated (unassigned) number',
  3: 'No route to destination',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call Rejected',
  26: 'Answered elsewhere',
  28: 'Invalid number format',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  41: 'Temporary failure',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return causeTexts[cause] ?? 'Unknown';
}

/** `DELETE /channels/{id}?reason=` values and the causes Asterisk maps them to. */
export const hangupReasons: Record<string, number> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

/** The soft-hangup flag Asterisk reports as `cause` on an ARI-requested hangup (not Q.850). */
export const SOFTHANGUP_EXPLICIT = 32;
