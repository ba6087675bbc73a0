import { faxServiceV1, faxV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { composeFaxMail } from './fax-mail.js';
import type { FaxRecord } from './fax-store.js';
import { parseDocumentUri } from './inbox-object.js';
import { UNDELIVERED } from './inbox-records.js';

const fax: FaxRecord = {
  _id: '0b9f6c1e-7d0a-4a53-9a4e-2f1f0c6f9d11',
  tenantId: 't-kropp',
  callId: 'call-1',
  adapterId: 'adapter-1',
  dialedNumber: '+4946248009',
  callerNumber: '',
  remoteStationId: '',
  pages: 1,
  receptionResult: faxV1.FaxResult.FAX_RESULT_FAILED,
  receptionError: '',
  startedAt: null,
  endedAt: null,
  receivedAt: new Date('2026-03-02T09:15:00Z'),
  documentUri: '',
  status: faxServiceV1.FaxStatus.FAX_STATUS_DELIVERY_PENDING,
  reasons: [],
  originalFileId: 'x:original',
  pdfFileId: 'x:pdf',
  departmentId: '',
  ...UNDELIVERED,
};

describe('fax e-mail', () => {
  it('is never composed without its PDF', () => {
    expect(() => composeFaxMail(fax, Buffer.alloc(0), 'fax@amt.example', 'a@amt.example')).toThrow(/never mailed/);
  });

  it('marks an incomplete fax in subject and text, with a fixed Message-ID', () => {
    const mail = composeFaxMail(fax, Buffer.from('%PDF-1.4'), 'fax@amt.example', 'a@amt.example');
    expect(mail.subject).toBe('INCOMPLETE fax from unknown number to +4946248009 (1 page)');
    expect(mail.text).toContain('The transmission broke off (no reason given)');
    expect(mail.messageId).toBe(`<${fax._id}@fax.switchboard>`);
    expect(mail.attachments).toEqual([
      { filename: 'fax-2026-03-02-0b9f6c1e.pdf', content: Buffer.from('%PDF-1.4'), contentType: 'application/pdf' },
    ]);
  });
});

describe('document location', () => {
  it('reads nats-object://<bucket>/<name> and nothing else', () => {
    expect(parseDocumentUri('nats-object://fax-inbox/t-kropp/call-1.tif')).toEqual({
      bucket: 'fax-inbox',
      name: 't-kropp/call-1.tif',
    });
    expect(parseDocumentUri('nats-object://fax-inbox/')).toBeUndefined();
    expect(parseDocumentUri('s3://fax-inbox/x.tif')).toBeUndefined();
    expect(parseDocumentUri('nats-object:///x.tif')).toBeUndefined();
  });
});
