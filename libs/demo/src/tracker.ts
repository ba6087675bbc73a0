import { callV1 } from '@switchboard/proto';
import { summarize, type FinishedCall, type Outcome, type Summary } from './summary.js';

const { CallDirection, LegDisposition, LegKind, LegState } = callV1;

/** Q.850 causes a caller hears as busy or congestion: 17 user busy, 34 no circuit, 42 congestion. */
const BUSY_CAUSES = new Set([17, 34, 42]);
const NO_DEPARTMENT = '(none)';

interface TrackedCall {
  callId: string;
  channelId: string;
  startedAt: number;
  department?: string;
  digits: number;
  answeredAt?: number;
}

export interface LiveView {
  offered: number;
  inProgress: number;
  /** Callers still choosing in the IVR. */
  inIvr: number;
  /** Callers past the IVR, not yet talking to anyone, per department. */
  waiting: Record<string, number>;
  talking: number;
  answered: number;
  abandoned: number;
  busy: number;
  other: number;
  waitAvgMs: number;
  waitP95Ms: number;
}

/** A call as the tracker counted it when it ended. */
export type EndedCall = FinishedCall & { channelId: string; callId: string };

export interface CallPlan {
  department: string;
  /** Keys the caller presses before reaching the department. */
  digits: number;
}

/**
 * Turns the adapter's call events into the demo's figures. Only inbound calls count; the
 * department comes from routing's leg tags, or else from what the caller chose (the plan the
 * simulation registered for the channel). Wait = caller's StasisStart (the caller leg's creation)
 * → the first agent leg answered.
 */
export class CallTracker {
  private readonly live = new Map<string, TrackedCall>();
  private readonly finished: FinishedCall[] = [];
  private readonly plans = new Map<string, CallPlan>();
  private maxConcurrent = 0;
  private listeners: Array<(call: EndedCall) => void> = [];

  /** What the simulation's caller on `channelId` will do. */
  plan(channelId: string, plan: CallPlan): void {
    this.plans.set(channelId, plan);
  }

  onEnd(listener: (call: EndedCall) => void): void {
    this.listeners.push(listener);
  }

  /** The call id of a caller's channel while the call is live. */
  callOf(channelId: string): TrackedCall | undefined {
    return [...this.live.values()].find((call) => call.channelId === channelId);
  }

  started(event: callV1.CallStarted): void {
    if (event.direction !== CallDirection.CALL_DIRECTION_INBOUND || this.live.has(event.callId)) return;
    const channelId = event.callerLeg?.channelId ?? '';
    this.live.set(event.callId, {
      callId: event.callId,
      channelId,
      startedAt: (event.callerLeg?.createdAt ?? new Date()).getTime(),
      digits: 0,
    });
    this.maxConcurrent = Math.max(this.maxConcurrent, this.live.size);
  }

  dtmf(event: callV1.CallDtmfReceived): void {
    const call = this.live.get(event.callId);
    if (call) call.digits++;
  }

  legUpdated(event: callV1.CallLegUpdated): void {
    const call = this.live.get(event.callId);
    const leg = event.leg;
    if (!call || !leg || !isAgentLeg(leg, call.channelId)) return;
    call.department = leg.tags['department_id'] || call.department;
    if (leg.state === LegState.LEG_STATE_ANSWERED && call.answeredAt === undefined) {
      call.answeredAt = (leg.answeredAt ?? new Date()).getTime();
    }
  }

  ended(event: callV1.CallEnded): void {
    const call = this.live.get(event.callId);
    if (!call) return;
    this.live.delete(event.callId);
    const callerLeg = event.legs.find((leg) => leg.channelId === call.channelId) ?? event.legs[0];
    const agentLegs = event.legs.filter((leg) => isAgentLeg(leg, call.channelId));
    const answered = agentLegs
      .flatMap((leg) => (leg.answeredAt ? [leg.answeredAt.getTime()] : []))
      .sort((a, b) => a - b)[0];
    const department =
      agentLegs.map((leg) => leg.tags['department_id']).find(Boolean) ??
      call.department ??
      this.plans.get(call.channelId)?.department ??
      NO_DEPARTMENT;
    let outcome: Outcome;
    if (answered !== undefined || call.answeredAt !== undefined) outcome = 'answered';
    else if (
      callerLeg &&
      (callerLeg.disposition === LegDisposition.LEG_DISPOSITION_BUSY || BUSY_CAUSES.has(callerLeg.hangupCause))
    )
      outcome = 'busy';
    else if (event.endedBy === 'caller') outcome = 'abandoned';
    else outcome = 'other';
    const answeredAt = answered ?? call.answeredAt;
    const finished: FinishedCall = {
      department,
      outcome,
      ...(answeredAt !== undefined ? { waitMs: Math.max(answeredAt - call.startedAt, 0) } : {}),
    };
    this.finished.push(finished);
    this.plans.delete(call.channelId);
    for (const listener of this.listeners) listener({ ...finished, channelId: call.channelId, callId: call.callId });
  }

  get endedCount(): number {
    return this.finished.length;
  }

  view(): LiveView {
    const summary = this.summary();
    const waiting: Record<string, number> = {};
    let inIvr = 0;
    let talking = 0;
    for (const call of this.live.values()) {
      const plan = this.plans.get(call.channelId);
      if (call.answeredAt !== undefined) talking++;
      else if (plan && call.digits < plan.digits && !call.department) inIvr++;
      else {
        const department = call.department ?? plan?.department ?? NO_DEPARTMENT;
        waiting[department] = (waiting[department] ?? 0) + 1;
      }
    }
    return {
      offered: summary.offered,
      inProgress: this.live.size,
      inIvr,
      waiting,
      talking,
      answered: summary.answered,
      abandoned: summary.abandoned,
      busy: summary.busy,
      other: summary.other,
      waitAvgMs: summary.waitAvgMs,
      waitP95Ms: summary.waitP95Ms,
    };
  }

  summary(): Summary {
    return summarize(this.finished, this.live.size, this.maxConcurrent);
  }
}

function isAgentLeg(leg: callV1.Leg, callerChannelId: string): boolean {
  if (leg.channelId === callerChannelId || leg.kind === LegKind.LEG_KIND_CALLER) return false;
  return (
    Boolean(leg.tags['agent_id']) ||
    leg.kind === LegKind.LEG_KIND_INTERNAL ||
    leg.kind === LegKind.LEG_KIND_FORWARDED_HOME_OFFICE
  );
}
