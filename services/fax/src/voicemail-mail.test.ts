import { faxServiceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { UNDELIVERED } from './inbox-records.js';
import { composeVoicemailMail, formatDuration } from './voicemail-mail.js';
import type { VoicemailRecord } from './voicemail-store.js';

const voicemail: VoicemailRecord = {
  _id: '5c2a9e41-3b7d-4f08-8a1e-6d0c2b9f7a13',
  tenantId: 't-kropp',
  callId: 'call-1',
  adapterId: 'adapter-1',
  departmentId: 'standesamt',
  departmentName: 'Standesamt',
  dialedNumber: '+494624720',
  callerNumber: '',
  durationSeconds: 125,
  recordingError: '',
  startedAt: null,
  endedAt: null,
  receivedAt: new Date('2026-03-02T09:15:00Z'),
  audioUri: '',
  status: faxServiceV1.VoicemailStatus.VOICEMAIL_STATUS_DELIVERY_PENDING,
  reasons: [],
  audioFileId: null,
  audioBytes: 0,
  ...UNDELIVERED,
};
const WAV = Buffer.from('RIFF....WAVE');

describe('voicemail e-mail', () => {
  it('names department, caller and duration, in local time, with the WAV and a fixed Message-ID', () => {
    const mail = composeVoicemailMail(voicemail, WAV, 'vm@amt.example', 'a@amt.example');
    expect(mail.subject).toBe('Voicemail for Standesamt from an unknown number (2:05)');
    expect(mail.text).toContain('02.03.2026, 10:15 (Europe/Berlin, 2026-03-02T09:15:00.000Z UTC)');
    expect(mail.messageId).toBe(`<${voicemail._id}@voicemail.switchboard>`);
    expect(mail.headers).toEqual({ 'X-Switchboard-Voicemail-Id': voicemail._id, 'X-Switchboard-Tenant': 't-kropp' });
    expect(mail.attachments).toEqual([
      { filename: 'voicemail-2026-03-02-5c2a9e41.wav', content: WAV, contentType: 'audio/wav' },
    ]);
  });

  it('without audio still names the caller, and says when no number was transmitted', () => {
    const failed = { ...voicemail, recordingError: 'Recording failed', reasons: ['no audio was received'] };
    const mail = composeVoicemailMail(failed, null, 'vm@amt.example', 'a@amt.example');
    expect(mail.subject).toBe('FAILED voicemail for Standesamt from an unknown number (not recorded)');
    expect(mail.text).toContain('The message could not be recorded (Recording failed).');
    expect(mail.text).toContain('The caller did not transmit their number.');
    expect(mail.attachments).toEqual([]);
  });

  it('is never composed with empty audio', () => {
    expect(() => composeVoicemailMail(voicemail, Buffer.alloc(0), 'vm@amt.example', 'a@amt.example')).toThrow(
      /never mailed empty/,
    );
  });

  it('formats durations as m:ss', () => {
    expect([0, 9, 42, 60, 125, 3_601].map(formatDuration)).toEqual(['0:00', '0:09', '0:42', '1:00', '2:05', '60:01']);
  });
});
