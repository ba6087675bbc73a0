import type { OutgoingMail } from './fax-mail.js';
import { audioFileName, type VoicemailRecord } from './voicemail-store.js';

const MAIL_DOMAIN = 'voicemail.switchboard';

// Staff read the time of a message in the administration's local time; UTC stays beside it.
const berlinTime = new Intl.DateTimeFormat('de-DE', {
  timeZone: 'Europe/Berlin',
  dateStyle: 'medium',
  timeStyle: 'short',
});

/** 42 → "0:42", 125 → "2:05". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/**
 * What the department receives: the recording attached as WAV. A recording that broke off is sent
 * with what was recorded and says so up front; one of which no audio arrived is still mailed,
 * without attachment, because the caller's number is itself the message (someone wanted a call back).
 */
export function composeVoicemailMail(
  voicemail: VoicemailRecord,
  audio: Buffer | null,
  from: string,
  to: string,
): OutgoingMail {
  if (audio?.length === 0) {
    throw new Error(`voicemail ${voicemail._id} has empty audio; a stored recording is never mailed empty`);
  }
  const caller = voicemail.callerNumber || 'an unknown number';
  const department = voicemail.departmentName || voicemail.departmentId || 'no department';
  const duration = formatDuration(voicemail.durationSeconds);
  const failed = Boolean(voicemail.recordingError);
  const subject = !audio
    ? `FAILED voicemail for ${department} from ${caller} (not recorded)`
    : `${failed ? 'INCOMPLETE voicemail' : 'Voicemail'} for ${department} from ${caller} (${duration})`;
  const callBack = voicemail.callerNumber
    ? `Please call ${voicemail.callerNumber} back.`
    : 'The caller did not transmit their number.';
  const lines = [
    `A caller left a message for ${department} (dialled ${voicemail.dialedNumber || 'unknown'}) on`,
    `${berlinTime.format(voicemail.receivedAt)} (Europe/Berlin, ${voicemail.receivedAt.toISOString()} UTC).`,
    `Caller: ${caller}`,
    ...(audio
      ? [`Duration: ${duration} (attached as WAV)`]
      : [
          '',
          `The message could not be recorded (${voicemail.recordingError || voicemail.reasons.at(-1) || 'no audio arrived'}).`,
          callBack,
        ]),
    ...(audio && failed
      ? ['', `The recording broke off (${voicemail.recordingError}): the attachment holds what was recorded.`, callBack]
      : []),
    '',
    `Voicemail id: ${voicemail._id}`,
  ];
  return {
    from,
    to,
    subject,
    text: `${lines.join('\n')}\n`,
    // Fixed per voicemail, so a receiving system can recognise a repeat.
    messageId: `<${voicemail._id}@${MAIL_DOMAIN}>`,
    headers: { 'X-Switchboard-Voicemail-Id': voicemail._id, 'X-Switchboard-Tenant': voicemail.tenantId },
    attachments: audio ? [{ filename: audioFileName(voicemail), content: audio, contentType: 'audio/wav' }] : [],
  };
}
