import type { DestinationClass } from '@switchboard/numbering';
import { callV1 } from '@switchboard/proto';
import { PoisonMessageError } from '@switchboard/service-kit';

/** How rating treats a leg; see README "Which legs are rated". */
export type LegRole = 'inbound' | 'internal' | 'external' | 'forwarded';

/** A billable leg as taken from a CallEnded event: everything rating (and rerating) needs. */
export interface LegSource {
  tenantId: string;
  callId: string;
  legId: string;
  role: LegRole;
  /** Number that decides the class: the called party, or the caller for inbound legs. */
  number: string;
  /**
   * The class of the full number, set when retention or an erase shortened `number` (which then
   * classifies as nothing): a rerate rates the leg as before.
   */
  numberClass?: DestinationClass;
  /** Site from the leg's tags, else from another leg of the call; '' when none names one. */
  siteId: string;
  createdAt: Date;
  answeredAt: Date | undefined;
  endedAt: Date;
  /** The call's W3C trace context, so a rated leg links to the call's trace; '' when the event had none. */
  traceparent: string;
}

const { LegKind, CallDirection } = callV1;

function roleOf(leg: callV1.Leg, direction: callV1.CallDirection): LegRole | undefined {
  switch (leg.kind) {
    case LegKind.LEG_KIND_CALLER:
      // The caller leg of an outbound or internal call is the tenant's own phone; its cost is on the dialled leg.
      return direction === CallDirection.CALL_DIRECTION_INBOUND ? 'inbound' : undefined;
    case LegKind.LEG_KIND_FAX:
      return 'inbound';
    case LegKind.LEG_KIND_INTERNAL:
      return 'internal';
    case LegKind.LEG_KIND_EXTERNAL:
      return 'external';
    case LegKind.LEG_KIND_FORWARDED_HOME_OFFICE:
      return 'forwarded';
    default:
      throw new PoisonMessageError(`leg ${leg.legId} of call has kind ${leg.kind}, which rating does not know`);
  }
}

/** The legs of an ended call that get a rated record, in the event's order. */
export function billableLegs(tenantId: string, event: callV1.CallEnded): LegSource[] {
  if (!event.callId) throw new PoisonMessageError('call.ended without a call id');
  const callSite = event.legs.map((leg) => leg.tags['site_id']).find((site) => !!site) ?? '';
  const legs: LegSource[] = [];
  for (const leg of event.legs) {
    const role = roleOf(leg, event.direction);
    if (!role) continue;
    if (!leg.legId) throw new PoisonMessageError(`call ${event.callId} has a leg without a leg id`);
    if (!leg.createdAt || !leg.endedAt) {
      throw new PoisonMessageError(`leg ${leg.legId} of call ${event.callId} lacks its created or ended time`);
    }
    const answered = leg.disposition === callV1.LegDisposition.LEG_DISPOSITION_ANSWERED;
    if (answered && !leg.answeredAt) {
      throw new PoisonMessageError(`leg ${leg.legId} of call ${event.callId} was answered but has no answer time`);
    }
    legs.push({
      tenantId,
      callId: event.callId,
      legId: leg.legId,
      role,
      number: role === 'inbound' ? leg.from : leg.to,
      siteId: leg.tags['site_id'] || callSite,
      createdAt: leg.createdAt,
      answeredAt: answered ? leg.answeredAt : undefined,
      endedAt: leg.endedAt,
      traceparent: event.meta?.trace?.traceparent ?? '',
    });
  }
  return legs;
}
