import { faxV1 } from '@switchboard/proto';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { documentFileName, type FaxRecord } from './fax-store.js';

/** An e-mail to a department's mailbox (a fax or a voicemail). */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
  attachments: Array<{ filename: string; content: Buffer; contentType: string }>;
}

const MAIL_DOMAIN = 'fax.switchboard';

/** What the department receives: always the PDF attached; an incomplete fax says so up front. */
export function composeFaxMail(fax: FaxRecord, pdf: Buffer, from: string, to: string): OutgoingMail {
  if (pdf.length === 0) throw new Error(`fax ${fax._id} has an empty PDF; it is never mailed without its document`);
  const sender = [fax.callerNumber || 'unknown number', fax.remoteStationId && `"${fax.remoteStationId}"`]
    .filter(Boolean)
    .join(' ');
  const incomplete = fax.receptionResult === faxV1.FaxResult.FAX_RESULT_FAILED;
  const pages = `${fax.pages} page${fax.pages === 1 ? '' : 's'}`;
  const subject = `${incomplete ? 'INCOMPLETE fax' : 'Fax'} from ${sender} to ${fax.dialedNumber} (${pages})`;
  const lines = [
    `A fax to ${fax.dialedNumber} was received at ${fax.receivedAt.toISOString()} (UTC).`,
    `Sender: ${sender}`,
    `Pages: ${pages} (attached as PDF)`,
    ...(incomplete
      ? [
          '',
          `The transmission broke off (${fax.receptionError || 'no reason given'}): the attachment holds the pages`,
          'that arrived. Please ask the sender to send the fax again.',
        ]
      : []),
    '',
    `Fax id: ${fax._id}`,
  ];
  return {
    from,
    to,
    subject,
    text: `${lines.join('\n')}\n`,
    // Fixed per fax, so a receiving system can recognise a repeat.
    messageId: `<${fax._id}@${MAIL_DOMAIN}>`,
    headers: { 'X-Switchboard-Fax-Id': fax._id, 'X-Switchboard-Tenant': fax.tenantId },
    attachments: [{ filename: documentFileName(fax, 'pdf'), content: pdf, contentType: 'application/pdf' }],
  };
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer; a refused or failed send rejects, and the caller retries. */
export function createSmtpMailer(smtpUrl: string, timeoutMs: number): Mailer {
  const options: SMTPTransport.Options = {
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 3,
  };
  const transport = nodemailer.createTransport(options);
  return {
    send: async (mail) => {
      await transport.sendMail(mail);
    },
    close: () => transport.close(),
  };
}
