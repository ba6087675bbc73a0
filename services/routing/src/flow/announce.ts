import { callControlV1 } from '@switchboard/proto';
import { hasStatus, NOT_FOUND } from '../clients.js';
import { routingMetrics, type FallbackReason } from '../metrics.js';
import { PROMPTS } from '../prompts.js';
import type { TenantView } from '../tenant-directory.js';
import { CallGone, Handover } from './call-end.js';
import type { CallFlow, Change } from './driver.js';
import { enqueue } from './queue.js';

// The ways a call ends with a recording: an announcement then hang-up, the voicemail box, and the
// fallback (the tenant's fallback department, else an announcement). Never silence.

const COLLECT_TIMEOUT_MS = 300_000;
/** Greeting, the longest message (the adapter's default 120 s) and the fetch of the recording. */
const VOICEMAIL_TIMEOUT_MS = 300_000;

export function announce(prompt: string, notice: string[] = []): Change {
  return { step: 'announcing', announcement: prompt, notice };
}

export function toVoicemail(departmentId: string, notice: string[]): Change {
  return { step: 'voicemail', voicemail: { departmentId, greeting: [...notice, PROMPTS.voicemailGreeting] } };
}

/** Plays the announcement to its end (a collect that wants no digit), then hangs up. */
export async function announceAndHangUp(call: CallFlow): Promise<Change> {
  const { state } = call;
  await playToEnd(call, [...(state.notice ?? []), state.announcement ?? PROMPTS.serviceUnavailable], 'announcement');
  await call.guard(call.control().hangup({ ...call.command('hangup'), cause: 16 }));
  return { step: 'ended', endedReason: 'announcement' };
}

/** Plays prompts to their end (a collect that wants no digit); answers the caller first. */
export async function playToEnd(call: CallFlow, media: string[], name: string): Promise<void> {
  await call.answer();
  await call.guard(
    call.control(COLLECT_TIMEOUT_MS).playAndCollect({
      ...call.command(name),
      media,
      language: '',
      maxDigits: 1,
      terminator: '',
      firstDigitTimeoutMs: 1,
      interDigitTimeoutMs: 1,
      bargeIn: false,
    }),
  );
}

/**
 * Greeting, beep, the caller's message into the department's voicemail box (the adapter
 * records, stores and announces it), then thanks and goodbye. A message too short or silent
 * is discarded by the adapter; a failed recording is logged and the caller told so — the call
 * always ends with an announcement.
 */
export async function recordVoicemail(call: CallFlow): Promise<Change> {
  const box = call.state.voicemail!;
  await call.answer();
  let response: callControlV1.RecordVoicemailResponse;
  try {
    response = await call.guard(
      call.control(VOICEMAIL_TIMEOUT_MS).recordVoicemail({
        ...call.command('voicemail'),
        greeting: box.greeting,
        language: '',
        departmentId: box.departmentId,
        maxDurationSeconds: 0,
        maxSilenceSeconds: 0,
        beep: true,
        terminateOn: '',
      }),
    );
  } catch (error) {
    if (error instanceof Handover || error instanceof CallGone || hasStatus(error, NOT_FOUND)) throw error;
    call.log.warn({ err: error, voicemailBox: box.departmentId }, 'voicemail could not be recorded');
    return announce(PROMPTS.voicemailUnavailable);
  }
  const { VoicemailOutcome } = callControlV1;
  const details = { voicemailBox: box.departmentId, seconds: response.durationSeconds, reason: response.reason };
  switch (response.outcome) {
    case VoicemailOutcome.VOICEMAIL_OUTCOME_RECORDED:
      call.log.info(details, 'voicemail recorded');
      return announce(PROMPTS.voicemailThanks);
    case VoicemailOutcome.VOICEMAIL_OUTCOME_DISCARDED:
      call.log.info(details, 'voicemail discarded (too short or silent)');
      return announce(PROMPTS.voicemailEmpty);
    default:
      call.log.warn({ ...details, outcome: response.outcome }, 'voicemail recording failed');
      return announce(PROMPTS.voicemailUnavailable);
  }
}

/** The tenant's fallback department, else `service-unavailable`. */
export async function fallback(call: CallFlow, reason: FallbackReason, cause: unknown): Promise<Change | void> {
  const { state } = call;
  routingMetrics.fallback.add(1, { tenant: state.tenantId, reason });
  call.log.warn({ reason, err: cause, dialed: state.dialedNumber }, 'call takes the fallback path');
  const view = await call.deps.directory.get(state.tenantId).catch(() => undefined);
  const department = view?.fallbackDepartment(call.deps.config.ROUTING_FALLBACK_DEPARTMENTS);
  if (department && state.departmentId !== department.departmentId) return enqueue(call, department.departmentId);
  return announce(PROMPTS.serviceUnavailable);
}

/** The tenant's copy of the directory; without it the caller is told so (the change is saved). */
export async function tenantOrFallback(call: CallFlow): Promise<TenantView | undefined> {
  try {
    return await call.deps.directory.get(call.state.tenantId);
  } catch (error) {
    routingMetrics.fallback.add(1, { tenant: call.state.tenantId, reason: 'service_unavailable' });
    call.log.warn({ err: error }, 'directory unreachable: announcement instead of routing');
    await call.save(announce(PROMPTS.serviceUnavailable));
    return undefined;
  }
}
