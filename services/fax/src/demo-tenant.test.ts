import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import { startStack, type Stack } from '@switchboard/stack';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleFaxTiff } from './testing/sample-tiff.js';
import { eventually } from '@switchboard/testkit';

// The demo tenant imported in the directory, a fax call through ari-sim, the adapter and routing:
// the fax service takes the mailbox from the directory (+4946247299 → buergerbuero).

const BUERGERBUERO_FAX = '+4946247299';
const CALLER = '+4940555555';
const { FaxStatus } = faxServiceV1;
const UNSETTLED = new Set([FaxStatus.FAX_STATUS_RECEIVED, FaxStatus.FAX_STATUS_DELIVERY_PENDING]);

let stack: Stack;
let dir: string;
let faxApi: faxServiceV1.FaxServiceClient;
let metadata: grpc.Metadata;

function listFaxes(): Promise<faxServiceV1.Fax[]> {
  return new Promise((resolve, reject) =>
    faxApi.listFaxes(
      faxServiceV1.ListFaxesRequest.fromPartial({ tenantId: stack.tenantId }),
      metadata,
      (error, response) => (error ? reject(error) : resolve(response.faxes)),
    ),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sb-fax-demo-'));
  stack = await startStack({ services: ['directory', 'fax', 'ari-adapter', 'routing'], handleSignals: false });
  faxApi = new faxServiceV1.FaxServiceClient(stack.grpcAddress('fax'), grpc.credentials.createInsecure());
  metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await stack.token()}`);
});

afterAll(async () => {
  faxApi?.close();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a fax to the demo tenant', () => {
  it("is mailed as a PDF to the Bürgerbüro's fax mailbox from the directory", async () => {
    const tiff = path.join(dir, 'antrag.tif');
    await writeFile(tiff, await sampleFaxTiff({ pages: 2, compression: 'g3-2d', resolution: 'fine', seed: 11 }));
    stack.ariSim.placeCall({ from: CALLER, to: BUERGERBUERO_FAX, fax: { tiff, pages: 2, durationMs: 500 } });

    const fax = await eventually(async () => {
      const faxes = await listFaxes();
      return faxes.find((entry) => entry.callerNumber === CALLER && !UNSETTLED.has(entry.status));
    }, 'the fax to be settled');
    expect(fax).toMatchObject({
      dialedNumber: BUERGERBUERO_FAX,
      status: FaxStatus.FAX_STATUS_DELIVERED,
      departmentId: 'buergerbuero',
      mailbox: 'buergerbuero@amt-kropp.example',
      viaFallback: false,
      pages: 2,
    });
    const mails = stack.mail.filter((mail) => mail.headers.get('x-switchboard-fax-id') === fax.faxId);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toMatchObject({ text: 'buergerbuero@amt-kropp.example' });
    const attachments = mails[0]!.attachments;
    expect(attachments.map((attachment) => attachment.contentType)).toEqual(['application/pdf']);
    expect((await PDFDocument.load(attachments[0]!.content)).getPageCount()).toBe(2);
  });
});
