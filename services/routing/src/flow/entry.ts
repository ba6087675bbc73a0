import { checkOutbound, classifyNumber, serviceNumber, type OutboundDecision } from '@switchboard/numbering';
import { callV1, type directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { recordOutboundDenied } from '@switchboard/service-kit';
import { hasStatus, NOT_FOUND } from '../clients.js';
import type { ConnectTarget } from '../call-state.js';
import { routingMetrics, timed } from '../metrics.js';
import { PROMPTS } from '../prompts.js';
import type { StaffMember, TenantView } from '../tenant-directory.js';
import { announce, fallback, tenantOrFallback } from './announce.js';
import { CallGone, Handover } from './call-end.js';
import type { CallFlow, Change } from './driver.js';
import { enqueue } from './queue.js';

// The call's entry: the dialled number decides between fax, a staff member, an IVR menu and a
// department; internal and outbound calls are connected (or barred) here.

const { LegDisposition, LegKind } = callV1;
const { EntryPointKind, NumberKind } = directoryV1;
const CONNECT_RING_SECONDS = 30;

export async function entry(call: CallFlow): Promise<Change | void> {
  const { state } = call;
  if (state.callback) return enqueue(call, state.callback.departmentId);
  if (state.direction === 'internal') return internalCall(call);
  if (state.direction === 'outbound') return outboundCall(call);
  let resolved: directoryServiceV1.ResolveNumberResponse;
  let view: TenantView;
  try {
    [resolved, view] = await timed('entry', () =>
      call.guard(
        Promise.all([
          call.deps.clients.directory.resolveNumber({ tenantId: state.tenantId, number: state.dialedNumber }),
          call.deps.directory.get(state.tenantId),
        ]),
      ),
    );
  } catch (error) {
    if (error instanceof Handover || error instanceof CallGone) throw error;
    return fallback(call, hasStatus(error, NOT_FOUND) ? 'unknown_number' : 'service_unavailable', error);
  }
  state.siteId = resolved.siteId;
  if (resolved.kind === NumberKind.NUMBER_KIND_FAX) {
    // The adapter runs the fax reception and publishes fax.received; routing is done with it.
    await call.answer();
    await call.guard(call.control().receiveFax(call.command('fax')));
    return { step: 'handed-off' };
  }
  if (resolved.staffId) return connectStaff(call, view.staffById(resolved.staffId), state.caller);
  const target = resolved.entryPoint?.target ?? '';
  switch (resolved.entryPoint?.kind) {
    case EntryPointKind.ENTRY_POINT_KIND_IVR_MENU:
      await call.answer();
      return {
        step: 'ivr',
        ivr: { menuId: target, retryCount: 0, input: 'enter', digits: '', openState: await siteOpenState(call) },
      };
    case EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT:
      return enqueue(call, target);
    case EntryPointKind.ENTRY_POINT_KIND_EXTENSION:
      return connectStaff(call, view.staffByExtension(target), state.caller);
    default:
      return fallback(call, 'unknown_number', new Error(`entry point ${String(resolved.entryPoint?.kind)}`));
  }
}

/**
 * A device dialled a short number. The adapter calls every 2–6 digit number internal, so
 * emergency and service numbers (110, 112, 115, 116xxx, 118xy: the list directory refuses as
 * extensions) are taken out first and follow the outbound policy, even if someone still had
 * that extension from before the rule.
 */
async function internalCall(call: CallFlow): Promise<Change | void> {
  if (serviceNumber(call.state.dialedNumber)) return outboundCall(call);
  const view = await tenantOrFallback(call);
  if (!view) return;
  const staff = view.staffByExtension(call.state.dialedNumber);
  if (staff) return connectStaff(call, staff, call.state.caller);
  if (classifyNumber(call.state.dialedNumber).destinationClass === 'invalid') {
    return announce(PROMPTS.extensionUnknown);
  }
  return outboundCall(call);
}

async function outboundCall(call: CallFlow): Promise<Change | void> {
  const { state } = call;
  // 110/112 go out whatever the policy says, so they must not wait for the directory: caller id
  // is best effort. Every other number needs the tenant's policy: without the directory, the
  // caller hears that the service is unavailable rather than a call the policy might bar.
  const emergency = checkOutbound(state.dialedNumber, undefined);
  const isEmergency = emergency.allowed && emergency.emergency;
  const view = isEmergency
    ? await call.deps.directory.get(state.tenantId).catch(() => undefined)
    : await tenantOrFallback(call);
  if (!view && !isEmergency) return;
  const caller = view?.caller(state.callerChannel, state.caller);
  const siteId = caller?.siteId ?? '';
  const decision = isEmergency ? emergency : view!.checkOutbound(state.dialedNumber, siteId);
  routingMetrics.outbound.add(1, {
    tenant: state.tenantId,
    result: !decision.allowed ? 'barred' : decision.emergency ? 'emergency' : 'allowed',
  });
  if (!decision.allowed) {
    denied(call, decision);
    return announce(PROMPTS.numberBarred);
  }
  const callerId = view?.callerIdFor(siteId) || state.caller;
  const tags: Record<string, string> = siteId ? { site_id: siteId } : {};
  return { step: 'connecting', target: outsideTarget(call, decision.number, callerId, tags), siteId };
}

/**
 * The refusal when the policy bars a home-office number, else undefined. The adapter refuses
 * such a forward too; asking first lets routing skip the colleague instead of failing the call.
 * Without the directory the adapter's check alone decides.
 */
export async function barredHomeOffice(
  call: CallFlow,
  number: string,
  siteId: string,
): Promise<Extract<OutboundDecision, { allowed: false }> | undefined> {
  const view = await call.deps.directory.get(call.state.tenantId).catch(() => undefined);
  const decision = view?.checkOutbound(number, siteId);
  if (!decision || decision.allowed) return undefined;
  denied(call, decision);
  return decision;
}

/**
 * An allowed outside number: E.164 is forwarded; a short code (110, 112, 115, 116xxx, 118xy) is
 * dialled on the trunk as dialled, since Forward takes E.164 only.
 */
export function outsideTarget(
  call: CallFlow,
  number: string,
  callerId: string,
  tags: Record<string, string>,
): ConnectTarget {
  if (number.startsWith('+')) return { via: 'forward', endpoint: number, callerId, homeOffice: false, tags };
  const endpoint = call.deps.config.ROUTING_TRUNK_ENDPOINT.replace('{number}', number);
  return { via: 'dial', endpoint, callerId, homeOffice: false, tags };
}

/** Logs and counts a call the outbound policy refused (a number that is none is not counted). */
export function denied(call: CallFlow, decision: Extract<OutboundDecision, { allowed: false }>): void {
  call.log.info(
    { dialed: decision.number, category: decision.category, reason: decision.reason },
    'outbound call barred by policy',
  );
  if (decision.category !== 'invalid') recordOutboundDenied(decision.category, 'routing');
}

export async function connectStaff(
  call: CallFlow,
  staff: StaffMember | undefined,
  callerId: string,
): Promise<Change | void> {
  if (!staff) return fallback(call, 'unknown_number', new Error('no staff member with that extension'));
  const tags = { staff_id: staff.staffId, ...(staff.siteId ? { site_id: staff.siteId } : {}) };
  let target: ConnectTarget;
  if (staff.homeOffice && staff.homeOfficeNumber) {
    // The forward to home is an outside call of the colleague's site.
    const barred = await barredHomeOffice(call, staff.homeOfficeNumber, staff.siteId);
    if (barred) return announce(PROMPTS.partyUnavailable);
    target = { via: 'forward', endpoint: staff.homeOfficeNumber, callerId, homeOffice: true, tags };
  } else if (staff.devices[0]) {
    target = { via: 'dial', endpoint: dialString(staff.devices[0]), callerId, homeOffice: false, tags };
  } else {
    return announce(PROMPTS.partyUnavailable);
  }
  return { step: 'connecting', target };
}

/** Connects the caller to a target outside a queue (a colleague, an outside number). */
export async function connect(call: CallFlow): Promise<Change> {
  const { state } = call;
  const target = state.target!;
  const control = call.control(CONNECT_RING_SECONDS * 1000 + call.deps.config.ROUTING_RPC_TIMEOUT_MS);
  const common = {
    ...call.command(`connect-${state.attempt}`),
    callerId: target.callerId,
    timeoutSeconds: CONNECT_RING_SECONDS,
    tags: target.tags,
  };
  const { disposition } = await call.guard(
    target.via === 'dial'
      ? control.dial({
          ...common,
          endpoint: target.endpoint,
          kind: target.endpoint.includes('@') ? LegKind.LEG_KIND_EXTERNAL : LegKind.LEG_KIND_INTERNAL,
          waitForOutcome: true,
        })
      : control.forward({ ...common, number: target.endpoint, homeOffice: target.homeOffice }),
  );
  if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED) return { step: 'bridged' };
  if (disposition === LegDisposition.LEG_DISPOSITION_CANCELLED) throw new CallGone('caller hung up while ringing');
  return announce(PROMPTS.partyUnavailable);
}

/** The site's open state for the IVR's closed/holiday branch. */
async function siteOpenState(call: CallFlow): Promise<number> {
  const { state } = call;
  if (!state.siteId) return 0;
  try {
    const answer = await call.deps.clients.directory.isOpen({
      tenantId: state.tenantId,
      siteId: state.siteId,
      departmentId: '',
      at: undefined,
    });
    return answer.state;
  } catch (error) {
    // Unspecified counts as open in the IVR: a directory outage never locks callers out.
    call.log.warn({ err: error }, 'IsOpen failed; the menu treats the site as open');
    return 0;
  }
}

/** `kropp-1001` and `PJSIP/kropp-1001` both dial the PJSIP endpoint. */
export function dialString(device: string): string {
  return device.includes('/') ? device : `PJSIP/${device}`;
}
