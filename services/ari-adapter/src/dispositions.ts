import { callV1 } from '@switchboard/proto';

const { LegDisposition } = callV1;
type LegDisposition = callV1.LegDisposition;

/** Asterisk's `Dial` event status → how the leg ended (empty and RINGING are not final). */
export function dispositionOfDialStatus(dialstatus: string): LegDisposition | undefined {
  switch (dialstatus) {
    case 'ANSWER':
      return LegDisposition.LEG_DISPOSITION_ANSWERED;
    case 'BUSY':
      return LegDisposition.LEG_DISPOSITION_BUSY;
    case 'NOANSWER':
      return LegDisposition.LEG_DISPOSITION_NO_ANSWER;
    case 'CHANUNAVAIL':
    case 'CONGESTION':
      return LegDisposition.LEG_DISPOSITION_UNAVAILABLE;
    case 'CANCEL':
      return LegDisposition.LEG_DISPOSITION_CANCELLED;
    default:
      return undefined;
  }
}

/**
 * Q.850 cause of an unanswered leg → disposition. Real Asterisk sends no final Dial event on a
 * ring timeout, so cause 19 on ChannelDestroyed is the only sign of "no answer".
 */
export function dispositionOfCause(cause: number): LegDisposition {
  switch (cause) {
    case 17: // user busy
    case 21: // call rejected
      return LegDisposition.LEG_DISPOSITION_BUSY;
    case 18: // no user responding
    case 19: // no answer
      return LegDisposition.LEG_DISPOSITION_NO_ANSWER;
    case 1: // unallocated number
    case 3: // no route to destination
    case 20: // subscriber absent (unregistered)
    case 27: // destination out of order
    case 34: // no circuit available
    case 38: // network out of order
      return LegDisposition.LEG_DISPOSITION_UNAVAILABLE;
    default:
      return LegDisposition.LEG_DISPOSITION_FAILED;
  }
}

/** Q.850 texts as Asterisk words them, for causes the adapter sets itself. */
export const CAUSE_TEXT: Readonly<Record<number, string>> = {
  0: 'Unknown',
  16: 'Normal Clearing',
  17: 'User busy',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  41: 'Temporary failure',
};
