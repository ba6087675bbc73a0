import { closesAt, openState, type OpenAnswer } from '@switchboard/opening-hours';
import { callKey } from '../call-state.js';
import type { CallbackRequest } from '../callback-worker.js';
import { closedNotice } from '../closed-notice.js';
import { queueKey } from '../department-queue.js';
import { routingMetrics } from '../metrics.js';
import { LAST_ANNOUNCED_POSITION, LAST_ANNOUNCED_WAIT_MINUTES, PROMPTS } from '../prompts.js';
import type { DepartmentSettings, TenantView } from '../tenant-directory.js';
import { announce, fallback, playToEnd, tenantOrFallback, toVoicemail } from './announce.js';
import { CallGone, TakenOver } from './call-end.js';
import type { CallFlow, Change } from './driver.js';
import { dialable, putEntry, reserve, ring, ringAll } from './ring.js';

// A department's queue from the caller's side: joining it (or its closed handling), waiting
// first come first served with music and announcements, overflow past the max wait, the
// department closing meanwhile, and the callback key.

const MAX_OVERFLOWS = 3;

/** What the queue step remembers between its rounds on this replica (not checkpointed). */
export interface Waiting {
  lastAnnouncement: number;
  /** Music on hold runs on the caller's channel (the adapter stops it before it bridges a leg). */
  music: boolean;
  presenceFailed: boolean;
  /** The waiting department's callback key (empty: none) and whether the caller pressed it. */
  callbackKey: string;
  callbackPressed: boolean;
  /** Ends the wait at once: the caller pressed the callback key (which ends the waiting), hung up or is handed over. */
  wake: AbortController;
}

export async function enqueue(call: CallFlow, departmentId: string): Promise<Change | void> {
  const { state } = call;
  const view = await tenantOrFallback(call);
  if (!view) return;
  const department = view.department(departmentId);
  if (!department) return fallback(call, 'no_department', new Error(`no department "${departmentId}"`));
  const open = openState(view.schedule(department), new Date());
  if (open.state !== 'open') return closed(call, view, department, open);
  // Not answered yet: a caller whose agent is free at once hears ringing until the agent
  // answers (the adapter answers the caller when it bridges); music needs the answer first.
  const key = queueKey(state.tenantId, department.departmentId, state.startedAt, state.callId);
  const enqueuedAt = Date.now();
  // Before the queue entry exists: a key pressed as soon as the caller waits counts.
  call.waiting.callbackKey = callbackAllowed(call, view, department) ? department.callbackKey : '';
  // A wait in another queue ended unanswered before this one (no extra write: it goes with this one).
  const earlierWaits =
    state.departmentId && state.enqueuedAt
      ? [
          ...(state.earlierWaits ?? []),
          { departmentId: state.departmentId, enqueuedAt: state.enqueuedAt, endedAt: enqueuedAt },
        ]
      : state.earlierWaits;
  const [saved, queued] = await Promise.allSettled([
    call.save({
      step: 'queued',
      departmentId: department.departmentId,
      enqueuedAt,
      earlierWaits,
      queueKey: key,
      excluded: [],
      agentId: undefined,
      reservationId: undefined,
    }),
    call.deps.queues.put(state.tenantId, department.departmentId, {
      key,
      callId: state.callId,
      enqueuedAt,
      ringing: false,
    }),
  ]);
  if (saved.status === 'rejected') {
    // Another replica took the call over: an entry no state names would hold up the callers
    // behind it. The new owner puts its own (the same key when its replay joins the same queue).
    if (saved.reason instanceof TakenOver && queued.status === 'fulfilled') {
      await call.deps.queues.remove(key).catch(() => undefined);
    }
    throw saved.reason;
  }
  if (queued.status === 'rejected') throw queued.reason;
  routingMetrics.offered.add(1, { tenant: state.tenantId, department: department.departmentId });
  call.metrics.enterQueue();
}

export async function waitInQueue(call: CallFlow): Promise<Change | void> {
  const { state, deps, waiting } = call;
  const view = await tenantOrFallback(call);
  if (!view) return;
  const department = view.department(state.departmentId ?? '');
  const key = state.queueKey!;
  if (!department) {
    // The department was deleted while the caller waited in it.
    await deps.queues.remove(key);
    call.metrics.leaveQueue();
    return fallback(call, 'no_department', new Error(`no department "${state.departmentId}"`));
  }
  if (!call.metrics.inQueue) {
    // Resumed on this replica: back into the queue at the original position.
    call.metrics.enterQueue();
    await putEntry(call, department, state.step === 'ringing');
  }
  if (state.step === 'ringing' && state.agentId && state.reservationId) {
    const held = { agentId: state.agentId, reservationId: state.reservationId };
    if (await ring(call, department, held, true)) return;
  }
  if (state.step === 'ringing' && state.ringGroup?.length) {
    if (await ringAll(call, department, [], true)) return;
  }
  // Computed once per copy of the directory: a changed copy (hours, closing days) starts over.
  const schedule = view.schedule(department);
  const now = new Date();
  const closes = openState(schedule, now).state === 'open' ? (closesAt(schedule, now)?.getTime() ?? Infinity) : 0;
  waiting.callbackKey = callbackAllowed(call, view, department) ? department.callbackKey : '';
  for (;;) {
    if (Date.now() >= closes) return closedWhileWaiting(call, view, department);
    if (waiting.callbackPressed) return callbackKeepingPlace(call, department);
    if ((await deps.directory.get(state.tenantId).catch(() => view)) !== view) return;
    if (overflowDue(call, department)) return overflow(call, department);
    const position = deps.queues.position(state.tenantId, department.departmentId, key);
    if (!position) {
      const stored = await deps.states.get(state.tenantId, state.callId);
      if (!stored || stored.state.step === 'ended') throw new CallGone('the call ended meanwhile');
      await putEntry(call, department, false);
      continue;
    }
    if (position.mayReserve) {
      const reserved = await dialable(call, department, await reserve(call, department));
      if (reserved.length > 0) {
        const answered =
          reserved.length > 1
            ? await ringAll(call, department, reserved, false)
            : await ring(call, department, reserved[0]!, false);
        if (answered) return;
        continue;
      }
    }
    // Music only once nobody could be reserved at once: a caller who gets an agent hears no blip.
    if (!waiting.music) await holdMusic(call);
    await announceWait(call, position.position);
    const untilOverflow =
      department.overflow.kind === 'none' || department.maxWaitSeconds === 0
        ? Infinity
        : state.enqueuedAt! + department.maxWaitSeconds * 1000 - Date.now();
    await call.guard(
      deps.queues.waitForChange(
        state.tenantId,
        department.departmentId,
        key,
        Math.max(Math.min(deps.config.ROUTING_QUEUE_RETRY_MS, untilOverflow, closes - Date.now()), 10),
        waiting.wake.signal,
      ),
    );
  }
}

async function holdMusic(call: CallFlow): Promise<void> {
  await call.answer();
  await call.guard(call.control().startMusicOnHold({ ...call.command(), mohClass: '' }));
  call.waiting.music = true;
}

/**
 * On entering the queue and every announce interval: the caller's position and, when the
 * department's recent answers allow an estimate, the expected rest of the wait in minutes.
 */
async function announceWait(call: CallFlow, position: number): Promise<void> {
  const { state, deps, waiting } = call;
  const now = Date.now();
  if (now - waiting.lastAnnouncement < deps.config.ROUTING_ANNOUNCE_INTERVAL_MS) return;
  const media = position <= LAST_ANNOUNCED_POSITION ? [PROMPTS.queuePosition(position)] : [];
  const remaining = deps.waits.remainingMs(state.tenantId, state.departmentId!, now - state.enqueuedAt!, now);
  if (remaining !== undefined) {
    // "About one minute" at least: a caller still waiting is not told zero.
    const minutes = Math.max(1, Math.ceil(remaining / 60_000));
    if (minutes <= LAST_ANNOUNCED_WAIT_MINUTES) media.push(PROMPTS.expectedWait(minutes));
  }
  if (media.length === 0) return;
  if (waiting.callbackKey) media.push(PROMPTS.callbackOffer(waiting.callbackKey));
  waiting.lastAnnouncement = now;
  await call.guard(call.control().play({ ...call.command(), media, language: '' }));
}

function overflowDue(call: CallFlow, department: DepartmentSettings): boolean {
  const { state } = call;
  if (department.overflow.kind === 'none' || department.maxWaitSeconds === 0) return false;
  // A citizen who was called back waits at the front by the original arrival; no second overflow.
  if (state.callback) return false;
  if (state.overflows >= MAX_OVERFLOWS) return false;
  return Date.now() - state.enqueuedAt! >= department.maxWaitSeconds * 1000;
}

async function overflow(call: CallFlow, department: DepartmentSettings): Promise<Change | void> {
  const { state } = call;
  const { kind, target } = department.overflow;
  routingMetrics.overflowed.add(1, { tenant: state.tenantId, department: department.departmentId, target: kind });
  call.metrics.recordWait(department.departmentId, 'overflowed');
  await call.deps.queues.remove(state.queueKey!);
  call.metrics.leaveQueue();
  state.overflows += 1;
  call.log.info({ department: department.departmentId, kind, target }, 'max wait passed: overflow');
  if (kind === 'department') return enqueue(call, target);
  if (kind === 'callback') {
    const view = await call.deps.directory.get(state.tenantId).catch(() => undefined);
    if (!callbackAllowed(call, view, department)) return toVoicemail(department.departmentId, []);
    await storeCallback(call, department.departmentId);
    return announce(PROMPTS.callbackRegistered);
  }
  return toVoicemail(target, []);
}

/**
 * The department is closed (outside its hours, a public holiday or a closing day): the caller
 * hears so and when it opens again, then goes where the department sends callers meanwhile.
 */
async function closed(
  call: CallFlow,
  view: TenantView,
  department: DepartmentSettings,
  open: OpenAnswer,
): Promise<Change | void> {
  const { state } = call;
  const notice = closedNotice(view.schedule(department), open.state, new Date());
  const { kind, target } = department.closedTarget;
  call.log.info(
    { department: department.departmentId, state: open.state, reason: open.reason, kind, target },
    'department closed: its closed handling',
  );
  switch (kind) {
    case 'voicemail':
      return toVoicemail(target, notice);
    case 'callback':
      if (!callbackAllowed(call, view, department)) return toVoicemail(department.departmentId, notice);
      // The callback worker dials it once the department is open again.
      await storeCallback(call, department.departmentId);
      return announce(PROMPTS.callbackRegistered, notice);
    case 'department':
      // Departments that send closed callers to each other end with the goodbye, not a loop.
      if (state.overflows < MAX_OVERFLOWS && target !== department.departmentId) {
        state.overflows += 1;
        await playToEnd(call, notice, `closed-${state.overflows}`);
        return enqueue(call, target);
      }
      break;
    case 'none':
      break;
  }
  // "Call again then" needs a time to refer to; without hours the general goodbye.
  return announce(notice.length > 1 ? PROMPTS.callAgainGoodbye : PROMPTS.serviceUnavailable, notice);
}

/** The department's hours ended (or a closing day began) while the caller waited. */
async function closedWhileWaiting(
  call: CallFlow,
  view: TenantView,
  department: DepartmentSettings,
): Promise<Change | void> {
  await call.deps.queues.remove(call.state.queueKey!);
  call.metrics.leaveQueue();
  call.metrics.recordWait(department.departmentId, 'closed');
  return closed(call, view, department, openState(view.schedule(department), new Date()));
}

/**
 * The caller pressed the department's callback key: they leave the queue, and the callback
 * worker calls them back once every caller who arrived before them is served (their place),
 * putting them in the queue by their original arrival.
 */
async function callbackKeepingPlace(call: CallFlow, department: DepartmentSettings): Promise<Change> {
  await call.deps.queues.remove(call.state.queueKey!);
  call.metrics.leaveQueue();
  call.metrics.recordWait(department.departmentId, 'callback');
  call.log.info({ department: department.departmentId }, 'caller pressed the callback key: callback keeping the place');
  await storeCallback(call, department.departmentId, true);
  return announce(PROMPTS.callbackRegistered);
}

/**
 * Whether the caller can be promised a callback: the outbound policy of the department's site
 * must allow their number (a withheld one never can). Such a caller is offered no callback key
 * and leaves a message in the department's voicemail box instead. Without the directory the
 * request is stored, and the callback worker checks before it dials.
 */
function callbackAllowed(call: CallFlow, view: TenantView | undefined, department: DepartmentSettings): boolean {
  const decision = view?.checkOutbound(call.state.caller, department.siteId);
  if (!decision || decision.allowed) return true;
  call.log.info(
    { department: department.departmentId, reason: decision.reason },
    "no callback: the outbound policy does not allow the caller's number",
  );
  return false;
}

async function storeCallback(call: CallFlow, departmentId: string, keepsPlace = false): Promise<void> {
  const { state } = call;
  const request: CallbackRequest = {
    tenantId: state.tenantId,
    callId: state.callId,
    number: state.caller,
    departmentId,
    requestedAt: new Date().toISOString(),
    adapterId: state.adapterId,
    arrivedAt: state.startedAt,
    attempts: 0,
    ...(keepsPlace ? { keepsPlace } : {}),
  };
  await call.deps.callbacks.put(callKey(state.tenantId, state.callId), JSON.stringify(request));
}
