import { type callControlV1, callV1, presenceV1 } from '@switchboard/proto';
import { hasStatus, NOT_FOUND } from '../clients.js';
import type { ConnectTarget } from '../call-state.js';
import { routingMetrics, timed } from '../metrics.js';
import type { DepartmentSettings } from '../tenant-directory.js';
import { CallGone, Handover, TakenOver } from './call-end.js';
import type { CallFlow } from './driver.js';
import { barredHomeOffice, dialString } from './entry.js';

// A waiting caller's agents: reserve (presence), ring one agent or a ring-all group, and what
// their answer means for the caller (bridged, or back in the queue without them).

const { LegDisposition, LegKind } = callV1;

const STRATEGIES: Record<DepartmentSettings['strategy'], presenceV1.Strategy> = {
  'longest-idle': presenceV1.Strategy.STRATEGY_LONGEST_IDLE,
  'round-robin': presenceV1.Strategy.STRATEGY_ROUND_ROBIN,
  'ring-all': presenceV1.Strategy.STRATEGY_RING_ALL,
  skills: presenceV1.Strategy.STRATEGY_SKILLS,
};

/** A reserved agent and where presence says to dial them. */
export interface Reserved {
  agentId: string;
  reservationId: string;
  target?: presenceV1.DialTarget;
}

/** Reserves the next agent (ring-all: every free member presence hands out); empty when nobody is free. */
export async function reserve(call: CallFlow, department: DepartmentSettings): Promise<Reserved[]> {
  const { state } = call;
  let reservations: presenceV1.Reservation[];
  try {
    ({ reservations } = await timed('reserve', () =>
      call.guard(
        call.deps.clients.presence.reserve({
          tenantId: state.tenantId,
          departmentId: department.departmentId,
          strategy: STRATEGIES[department.strategy],
          requiredSkills: department.requiredSkills,
          leaseSeconds: department.ringTimeoutSeconds + 15,
          callId: state.callId,
          excludeAgentIds: state.excluded,
          // Presence opens higher priority tiers only after the department's tier delay.
          waitedSeconds: Math.floor((Date.now() - (state.enqueuedAt ?? Date.now())) / 1000),
        }),
      ),
    ));
  } catch (error) {
    if (error instanceof Handover || error instanceof CallGone) throw error;
    // The caller keeps waiting with music (any fallback department needs presence too); the
    // next retry asks again. Counted once per call.
    call.log.warn({ err: error }, 'presence did not answer Reserve; the caller keeps waiting');
    if (!call.waiting.presenceFailed) {
      call.waiting.presenceFailed = true;
      routingMetrics.fallback.add(1, { tenant: state.tenantId, reason: 'service_unavailable' });
    }
    return [];
  }
  if (reservations.length === 0) {
    // Everyone free was tried without answer: start over with all members at the next chance.
    state.excluded = [];
    return [];
  }
  // Only ring-all rings several agents for one caller; any other strategy's extras go back.
  const ringing = department.strategy === 'ring-all' ? reservations : reservations.slice(0, 1);
  for (const other of reservations.slice(ringing.length)) await call.release(other.agentId, other.reservationId);
  return ringing.map(({ agentId, reservationId, target }) => ({ agentId, reservationId, target }));
}

/**
 * Agents whose home-office number the policy bars (for the department's site, which their legs
 * are tagged with) go back at once and are skipped for this call, as an agent who did not answer.
 */
export async function dialable(
  call: CallFlow,
  department: DepartmentSettings,
  reserved: Reserved[],
): Promise<Reserved[]> {
  const result: Reserved[] = [];
  for (const agent of reserved) {
    const number = agent.target?.externalNumber;
    const barred = number ? await barredHomeOffice(call, number, department.siteId) : undefined;
    if (!barred) {
      result.push(agent);
      continue;
    }
    call.log.warn({ agentId: agent.agentId, reason: barred.reason }, "agent's home-office number is barred; skipped");
    call.state.excluded = [...call.state.excluded, agent.agentId];
    await call.release(agent.agentId, agent.reservationId);
  }
  return result;
}

/**
 * Ring-all: every reserved agent's phone (desk device, or home-office number through the trunk)
 * rings at once in one DialAll; the adapter bridges the first to answer and hangs up the rest.
 * The winner is confirmed, everyone else released; true when the caller is bridged.
 */
export async function ringAll(
  call: CallFlow,
  department: DepartmentSettings,
  reserved: Reserved[],
  resumed: boolean,
): Promise<boolean> {
  const { state, deps } = call;
  const started = performance.now();
  if (!resumed) {
    const ringGroup = reserved.map(({ agentId, reservationId, target }) => ({
      agentId,
      reservationId,
      target: dialTargetOf(target, state.caller, agentTags(department, agentId)),
    }));
    await heldUntilSaved(
      call,
      reserved,
      Promise.all([
        call.save({
          step: 'ringing',
          ringGroup,
          agentId: undefined,
          reservationId: undefined,
          target: undefined,
          attempt: state.attempt + 1,
        }),
        putEntry(call, department, true),
      ]),
    );
  }
  call.waiting.music = false;
  const group = state.ringGroup!;
  const control = call.control(department.ringTimeoutSeconds * 1000 + deps.config.ROUTING_RPC_TIMEOUT_MS * 2);
  routingMetrics.decision.record((performance.now() - started) / 1000, { step: 'dial' });
  let response: callControlV1.DialAllResponse;
  try {
    response = await call.guard(
      control.dialAll({
        ...call.command(`dial-${state.attempt}`),
        targets: group.map(({ target }) =>
          target.via === 'dial'
            ? { endpoint: target.endpoint, kind: LegKind.LEG_KIND_INTERNAL, tags: target.tags }
            : {
                endpoint: deps.config.ROUTING_TRUNK_ENDPOINT.replace('{number}', target.endpoint),
                kind: LegKind.LEG_KIND_FORWARDED_HOME_OFFICE,
                tags: target.tags,
              },
        ),
        callerId: state.caller,
        timeoutSeconds: department.ringTimeoutSeconds,
        waitForOutcome: true,
      }),
    );
  } catch (error) {
    if (error instanceof Handover) throw error;
    if (error instanceof CallGone || hasStatus(error, NOT_FOUND)) {
      await Promise.all(group.map((member) => call.release(member.agentId, member.reservationId)));
      throw new CallGone('caller hung up while the agents rang');
    }
    call.log.warn({ err: error, agents: group.map((member) => member.agentId) }, 'ringing the agents failed');
    response = { legIds: [], answeredLegId: '', disposition: LegDisposition.LEG_DISPOSITION_FAILED };
  }
  const winner = response.answeredLegId ? group[response.legIds.indexOf(response.answeredLegId)] : undefined;
  if (winner) {
    call.metrics.countAnswered(department.departmentId);
    call.log.info(
      { agentId: winner.agentId, department: department.departmentId, rang: group.length },
      'call answered',
    );
    // Ring-all still confirms: presence's answered-leg path does not yet put a ring-all winner
    // on call (routing's ring-all test); a single dial's answered leg does it, without Confirm.
    await Promise.all([
      call.deps.clients.presence
        .confirm({ tenantId: state.tenantId, agentId: winner.agentId, reservationId: winner.reservationId })
        .catch((error: unknown) =>
          call.log.warn({ err: error }, 'presence did not confirm; leg events will put the agent on call'),
        ),
      ...group
        .filter((member) => member !== winner)
        .map((member) => call.release(member.agentId, member.reservationId)),
      deps.queues.remove(state.queueKey!),
    ]);
    await call.save({
      step: 'bridged',
      answeredAt: Date.now(),
      agentId: winner.agentId,
      reservationId: winner.reservationId,
      target: winner.target,
      ringGroup: undefined,
    });
    return true;
  }
  // The whole ring's outcome: BUSY only when every phone answered busy.
  const busy = response.disposition === LegDisposition.LEG_DISPOSITION_BUSY;
  await Promise.all(group.map((member) => call.release(member.agentId, member.reservationId, busy)));
  if (response.disposition === LegDisposition.LEG_DISPOSITION_CANCELLED)
    throw new CallGone('caller hung up while the agents rang');
  call.log.info(
    { agents: group.map((member) => member.agentId), disposition: response.disposition },
    'nobody answered the ring-all; trying again',
  );
  await call.save({
    step: 'queued',
    excluded: [...state.excluded, ...group.map((member) => member.agentId)],
    ringGroup: undefined,
  });
  await putEntry(call, department, false);
  return false;
}

/** Dials a reserved agent; true when the agent answered and is bridged with the caller. */
export async function ring(
  call: CallFlow,
  department: DepartmentSettings,
  reservation: Reserved,
  resumed: boolean,
): Promise<boolean> {
  const { state, deps } = call;
  const started = performance.now();
  if (!resumed) {
    await heldUntilSaved(
      call,
      [reservation],
      Promise.all([
        call.save({
          step: 'ringing',
          agentId: reservation.agentId,
          reservationId: reservation.reservationId,
          attempt: state.attempt + 1,
          target: dialTargetOf(reservation.target, state.caller, agentTags(department, reservation.agentId)),
        }),
        putEntry(call, department, true),
      ]),
    );
  }
  call.waiting.music = false;
  const target = state.target!;
  const control = call.control(department.ringTimeoutSeconds * 1000 + deps.config.ROUTING_RPC_TIMEOUT_MS * 2);
  const common = {
    ...call.command(`dial-${state.attempt}`),
    callerId: target.callerId,
    timeoutSeconds: department.ringTimeoutSeconds,
    tags: target.tags,
  };
  routingMetrics.decision.record((performance.now() - started) / 1000, { step: 'dial' });
  let disposition: callV1.LegDisposition;
  try {
    ({ disposition } = await call.guard(
      target.via === 'dial'
        ? control.dial({ ...common, endpoint: target.endpoint, kind: LegKind.LEG_KIND_INTERNAL, waitForOutcome: true })
        : control.forward({ ...common, number: target.endpoint, homeOffice: target.homeOffice }),
    ));
  } catch (error) {
    if (error instanceof Handover) throw error;
    if (error instanceof CallGone || hasStatus(error, NOT_FOUND)) {
      await call.release(reservation.agentId, reservation.reservationId);
      throw new CallGone('caller hung up while an agent rang');
    }
    call.log.warn({ err: error, agentId: reservation.agentId }, 'dialling the agent failed');
    disposition = LegDisposition.LEG_DISPOSITION_FAILED;
  }
  if (disposition === LegDisposition.LEG_DISPOSITION_ANSWERED) {
    // Counted first: a short call may end (and abort this flow) before the writes below.
    call.metrics.countAnswered(department.departmentId);
    call.log.info({ agentId: reservation.agentId, department: department.departmentId }, 'call answered');
    // Presence puts the agent on call from their answered leg's event (no Confirm).
    await deps.queues.remove(state.queueKey!);
    await call.save({ step: 'bridged', answeredAt: Date.now() });
    return true;
  }
  const busy = disposition === LegDisposition.LEG_DISPOSITION_BUSY;
  await call.release(reservation.agentId, reservation.reservationId, busy);
  if (disposition === LegDisposition.LEG_DISPOSITION_CANCELLED)
    throw new CallGone('caller hung up while an agent rang');
  call.log.info({ agentId: reservation.agentId, disposition }, 'agent did not answer; trying the next');
  await call.save({
    step: 'queued',
    excluded: [...state.excluded, reservation.agentId],
    agentId: undefined,
    reservationId: undefined,
    target: undefined,
  });
  await putEntry(call, department, false);
  return false;
}

/**
 * The `ringing` checkpoint names the reservations; until it is written only this flow knows
 * them. When it cannot be written because another replica took the call over, they go back
 * (that replica reserves its own).
 */
async function heldUntilSaved(call: CallFlow, reserved: Reserved[], saving: Promise<unknown>): Promise<void> {
  try {
    await saving;
  } catch (error) {
    if (error instanceof TakenOver) {
      await Promise.all(reserved.map((agent) => call.release(agent.agentId, agent.reservationId)));
    }
    throw error;
  }
}

/** The caller's queue entry, marked ringing or not (the first-come-first-served rule reads it). */
export function putEntry(call: CallFlow, department: DepartmentSettings, ringing: boolean): Promise<void> {
  const { state } = call;
  return call.deps.queues.put(state.tenantId, department.departmentId, {
    key: state.queueKey!,
    callId: state.callId,
    enqueuedAt: state.enqueuedAt!,
    ringing,
  });
}

function agentTags(department: DepartmentSettings, agentId: string): Record<string, string> {
  return {
    agent_id: agentId,
    department_id: department.departmentId,
    ...(department.siteId ? { site_id: department.siteId } : {}),
  };
}

function dialTargetOf(
  target: presenceV1.DialTarget | undefined,
  callerId: string,
  tags: Record<string, string>,
): ConnectTarget {
  if (target?.externalNumber) {
    return { via: 'forward', endpoint: target.externalNumber, callerId, homeOffice: true, tags };
  }
  return { via: 'dial', endpoint: dialString(target?.endpoint ?? ''), callerId, homeOffice: false, tags };
}
