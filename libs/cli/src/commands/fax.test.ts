import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { faxServiceV1 } from '@switchboard/proto';
import {
  GrpcServer,
  GrpcStatusError,
  createAuthenticator,
  createLogger,
  currentPrincipal,
} from '@switchboard/service-kit';
import { testTokens } from '@switchboard/testkit';
import { permitAll, unimplementedHandlers } from '@switchboard/service-kit/testing';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFaxCommand } from './fax.js';

const TOKENS = testTokens();
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(150_000, 7)]);
const FAX = faxServiceV1.Fax.fromPartial({
  faxId: 'fax-1',
  tenantId: 't-kropp',
  dialedNumber: '+4946248009',
  callerNumber: '+4940123456',
  remoteStationId: 'AMT KROPP',
  pages: 2,
  receivedAt: new Date('2026-03-02T09:15:00Z'),
  status: faxServiceV1.FaxStatus.FAX_STATUS_DELIVERED,
  mailbox: 'ordnungsamt@amt-kropp.example',
});

let server: GrpcServer;
let address: string;
let dir: string;
const callers: string[] = [];

/** A Fax API serving one fax, behind the kit's real auth, so the CLI's token and calls are checked. */
function implementation(): faxServiceV1.FaxServiceServer {
  return {
    ...(unimplementedHandlers(faxServiceV1.FaxServiceService) as faxServiceV1.FaxServiceServer),
    listFaxes: (call, callback) => {
      callers.push(currentPrincipal().tenantId);
      callback(null, { faxes: call.request.tenantId === 't-kropp' ? [FAX] : [], nextPageToken: '' });
    },
    listFaxRoutes: (call, callback) =>
      callback(null, {
        routes:
          call.request.tenantId === 't-kropp'
            ? [
                { tenantId: 't-kropp', faxNumber: '+4946247298', departmentId: 'bauamt', mailbox: '' },
                {
                  tenantId: 't-kropp',
                  faxNumber: '+4946247299',
                  departmentId: 'buergerbuero',
                  mailbox: 'buergerbuero@amt-kropp.example',
                },
              ]
            : [],
      }),
    getFax: (call, callback) =>
      call.request.faxId === FAX.faxId
        ? callback(null, { fax: FAX })
        : callback(new GrpcStatusError(grpc.status.NOT_FOUND, `fax ${call.request.faxId} not found`)),
    downloadFax: (call) => {
      call.write({
        fileName: 'fax.pdf',
        contentType: 'application/pdf',
        totalBytes: String(PDF.length),
        chunk: PDF.subarray(0, 65_536),
      });
      call.write({ fileName: '', contentType: '', totalBytes: '0', chunk: PDF.subarray(65_536) });
      call.end();
    },
  };
}

async function sb(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  registerFaxCommand(program, {
    env: { SB_FAX_ADDR: address, ...TOKENS.issuerEnv, USER: 'ops' },
    write: (text) => (output += text),
  });
  await program.parseAsync(args, { from: 'user' });
  return output;
}

beforeAll(async () => {
  server = new GrpcServer({
    authenticator: createAuthenticator({
      publicKeys: TOKENS.publicKeys,
      issuer: 'switchboard',
      audience: 'switchboard',
    }),
    logger: createLogger({ service: 'cli-fax-test', level: 'silent' }),
  });
  server.addService(
    'switchboard.fax.v1.FaxService',
    faxServiceV1.FaxServiceService,
    implementation(),
    permitAll(faxServiceV1.FaxServiceService),
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
  dir = await mkdtemp(path.join(tmpdir(), 'sb-cli-fax-'));
});

afterAll(async () => {
  await server?.shutdown(1_000);
  await rm(dir, { recursive: true, force: true });
});

describe('sb fax', () => {
  it('lists the inbox as a table and as JSON, with a token for the tenant', async () => {
    const table = await sb('fax', 'list', '--tenant', 't-kropp');
    expect(table.split('\n')).toEqual([
      'ID\tRECEIVED\tFROM\tTO\tPAGES\tSTATUS\tHANDLED',
      'fax-1\t2026-03-02T09:15:00.000Z\t+4940123456\t+4946248009\t2\tDELIVERED\topen',
      '',
    ]);
    const json = JSON.parse(await sb('fax', 'list', '--tenant', 't-kropp', '--json')) as unknown[];
    expect(json).toEqual([expect.objectContaining({ faxId: 'fax-1', pages: 2, status: 'FAX_STATUS_DELIVERED' })]);
    expect(callers).toEqual(['t-kropp', 't-kropp']);
  });

  it('shows one fax and saves its PDF with --out', async () => {
    const out = path.join(dir, 'fax.pdf');
    const shown = await sb('fax', 'get', '--tenant', 't-kropp', 'fax-1', '--out', out);
    expect(shown).toContain('status   DELIVERED');
    expect(shown).toContain('from     +4940123456 AMT KROPP');
    expect(shown).toContain(`saved ${PDF.length} bytes to ${out}`);
    expect(Buffer.compare(await readFile(out), PDF)).toBe(0);
  });

  it('lists the fax routes the service has from the directory; a department without a mailbox shows the fallback', async () => {
    expect((await sb('fax', 'routes', '--tenant', 't-kropp')).split('\n')).toEqual([
      'NUMBER\tDEPARTMENT\tMAILBOX',
      '+4946247298\tbauamt\t(fallback mailbox)',
      '+4946247299\tbuergerbuero\tbuergerbuero@amt-kropp.example',
      '',
    ]);
    const json = JSON.parse(await sb('fax', 'routes', '--tenant', 't-kropp', '--json')) as unknown[];
    expect(json).toEqual([
      { tenantId: 't-kropp', faxNumber: '+4946247298', departmentId: 'bauamt' },
      {
        tenantId: 't-kropp',
        faxNumber: '+4946247299',
        departmentId: 'buergerbuero',
        mailbox: 'buergerbuero@amt-kropp.example',
      },
    ]);
  });

  it('reports the API error for an unknown fax', async () => {
    await expect(sb('fax', 'get', '--tenant', 't-kropp', 'nope')).rejects.toThrow('NOT_FOUND: fax nope not found');
  });
});
