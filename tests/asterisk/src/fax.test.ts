import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sampleFaxTiff } from '@switchboard/fax/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPbx, type Pbx } from './pbx.js';

// A fax to the demo tenant's Bürgerbüro fax number, sent from the carrier's side: on the real
// Asterisk by SendFAX over SIP (T.38 once ReceiveFAX asks for it), on the emulator by its fax
// script. Either way it must arrive as a PDF in the department's mailbox from the directory.

const BUERGERBUERO_FAX = '+4946247299';
const BUERGERBUERO_MAILBOX = 'buergerbuero@amt-kropp.example';
const PAGES = 2;

describe.each(['asterisk', 'emulator'] as const)('a fax received on %s', (kind) => {
  let pbx: Pbx;
  let dir: string;
  let tiff: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sb-fax-test-'));
    tiff = path.join(dir, 'letter.tif');
    await writeFile(tiff, await sampleFaxTiff({ pages: PAGES, compression: 'g3-1d', resolution: 'normal', seed: 3 }));
    pbx = await startPbx(kind, {
      services: ['directory', 'ivr', 'presence', 'rating', 'ari-adapter', 'routing', 'fax'],
    });
  });

  afterAll(async () => {
    await pbx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('mails it as a PDF to the department the directory gives the fax number', { timeout: 240_000 }, async () => {
    const from = '+4940333444';
    await pbx.fax({ from, to: BUERGERBUERO_FAX, tiff, pages: PAGES });
    const mail = await pbx.stack.waitForMail('the fax mail', (message) => !!message.subject?.includes(from));
    const to = Array.isArray(mail.to) ? mail.to : [mail.to];
    expect(to.flatMap((address) => address?.value.map((entry) => entry.address))).toEqual([BUERGERBUERO_MAILBOX]);
    expect(mail.subject).toBe(`Fax from ${from} to ${BUERGERBUERO_FAX} (${PAGES} pages)`);
    expect(mail.attachments.map((attachment) => attachment.contentType)).toEqual(['application/pdf']);
    expect(mail.attachments[0]!.content.subarray(0, 5).toString()).toBe('%PDF-');
    // The call itself ended and was published like any other.
    const started = pbx.events.started().find((event) => event.callerLeg?.from === from);
    expect(started).toBeDefined();
    await pbx.events.waitUntil('call.ended of the fax call', () => pbx.events.ended(started!.callId)[0]);
  });
});
