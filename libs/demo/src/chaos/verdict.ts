import { callV1 } from '@switchboard/proto';
import type { Outcome } from '../summary.js';

const { CallDirection, LegKind } = callV1;

/**
 * How one simulated caller fared. `refused`: ari-sim could not hand the call to the Stasis app (no
 * adapter connected: the caller hears congestion); `lost`: placed, but no `call.started` ever came;
 * `stuck`: started, but no `call.ended` by the end of the run.
 */
export type CallClass =
  'answered' | 'answered-elsewhere' | 'abandoned' | 'busy' | 'other' | 'refused' | 'lost' | 'stuck';

export interface CallFacts {
  /** The department the caller chose in the IVR. */
  chosen: string;
  refused?: string;
  started: boolean;
  /** `call.ended` events seen for the call (more than one: ended twice). */
  endedEvents: number;
  /** From the tracker, once the call ended. */
  outcome?: Outcome;
  /** The department whose agent answered (routing's `department_id` leg tag). */
  department?: string;
}

export function classify(facts: CallFacts): CallClass {
  if (facts.refused !== undefined) return 'refused';
  if (facts.endedEvents === 0) return facts.started ? 'stuck' : 'lost';
  switch (facts.outcome) {
    case 'answered':
      return facts.department === facts.chosen ? 'answered' : 'answered-elsewhere';
    case 'busy':
    case 'abandoned':
      return facts.outcome;
    default:
      return 'other';
  }
}

/** `<call id>/<leg id>`: one rated leg (of the current rating version) per key. */
export const legKey = (callId: string, legId: string) => `${callId}/${legId}`;

/**
 * The legs rating must rate from a call's end, as its rules say: every leg of an inbound call
 * (the caller's, a fax leg, the agents' — answered or not); of an outbound or internal call every
 * leg but the caller's (the tenant's own phone, whose cost is on the dialled leg).
 */
export function billableLegs(ended: callV1.CallEnded): string[] {
  const inbound = ended.direction === CallDirection.CALL_DIRECTION_INBOUND;
  return ended.legs
    .filter((leg) => inbound || leg.kind !== LegKind.LEG_KIND_CALLER)
    .map((leg) => legKey(ended.callId, leg.legId));
}

export interface LegComparison {
  billable: number;
  /** Distinct billable legs found rated. */
  rated: number;
  /** Billable legs not rated. */
  missing: string[];
  /** Legs rated more than once (each named once). */
  duplicated: string[];
  /** Rated legs no call's end names (rated from an event this run did not see). */
  unexpected: string[];
}

/** Billable legs against rated ones (`rated` may repeat a key: that is a doubled leg). */
export function compareLegs(billable: readonly string[], rated: readonly string[]): LegComparison {
  const wanted = new Set(billable);
  const counts = new Map<string, number>();
  for (const key of rated) counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    billable: wanted.size,
    rated: [...wanted].filter((key) => counts.has(key)).length,
    missing: [...wanted].filter((key) => !counts.has(key)),
    duplicated: [...counts].filter(([, count]) => count > 1).map(([key]) => key),
    unexpected: [...counts.keys()].filter((key) => !wanted.has(key)),
  };
}

export interface RunFigures {
  classes: Record<CallClass, number>;
  /** Calls with more than one `call.ended`. */
  endedTwice: number;
  /** Billing's stored legs against the adapter's call ends. */
  legs: LegComparison;
  /** Agents reserved, ringing or on a call that no live call explains, after the run. */
  leakedAgents: string[];
  /** Queue entries left in routing's queues after the run. */
  leftoverEntries: string[];
  /** Faults that could not be injected or whose work was lost (billing's invoice, the fax). */
  faultFailures: string[];
}

/** Every loss of the run, one line each; empty when nothing was lost. */
export function lossReasons(figures: RunFigures): string[] {
  const reasons: string[] = [];
  const { classes } = figures;
  const count = (n: number, what: string) => {
    if (n > 0) reasons.push(`${n} ${what}`);
  };
  count(classes.lost, 'call(s) lost: placed, but Switchboard never started them');
  count(classes.refused, 'call(s) refused: no adapter took them (the caller hears congestion)');
  count(classes.stuck, 'call(s) stuck: no call.ended by the end of the run');
  count(classes['answered-elsewhere'], 'caller(s) answered in another department than they chose');
  count(classes.busy, 'caller(s) heard busy');
  count(classes.abandoned, 'caller(s) gave up waiting (patience is set so that nobody does without a fault)');
  count(classes.other, 'call(s) ended without an agent (voicemail, announcement, overflow)');
  count(figures.endedTwice, 'call(s) ended twice');
  count(figures.legs.missing.length, `billable leg(s) not rated (e.g. ${figures.legs.missing.slice(0, 3).join(', ')})`);
  count(figures.legs.duplicated.length, `leg(s) rated twice (e.g. ${figures.legs.duplicated.slice(0, 3).join(', ')})`);
  count(figures.leakedAgents.length, `agent(s) left reserved or on a call: ${figures.leakedAgents.join(', ')}`);
  count(figures.leftoverEntries.length, `queue entr(y/ies) left: ${figures.leftoverEntries.join(', ')}`);
  for (const failure of figures.faultFailures) reasons.push(failure);
  return reasons;
}
