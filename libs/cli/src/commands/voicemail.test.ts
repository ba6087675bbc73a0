import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { registerVoicemailCommand } from './voicemail.js';

const TOKENS = testTokens();
const WAV = Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE'), Buffer.alloc(100_000, 3)]);
const VOICEMAIL = faxServiceV1.Voicemail.fromPartial({
  voicemailId: 'vm-1',
  tenantId: 't-kropp',
  departmentId: 'buergerbuero',
  dialedNumber: '+494624720',
  callerNumber: '+4940123456',
  durationSeconds: 83,
  receivedAt: new Date('2026-03-02T09:15:00Z'),
  status: faxServiceV1.VoicemailStatus.VOICEMAIL_STATUS_DELIVERED,
  mailbox: 'poststelle@amt-kropp.example',
  viaFallback: true,
  hasAudio: true,
  audioBytes: String(WAV.length),
  reasons: ['department buergerbuero has no mailbox in the directory'],
});

let server: GrpcServer;
let address: string;
let dir: string;
const callers: string[] = [];

const notFound = (id: string) => new GrpcStatusError(grpc.status.NOT_FOUND, `voicemail ${id} not found`);

/** A Fax API serving one voicemail, behind the kit's real auth, so the CLI's token and calls are checked. */
function implementation(): faxServiceV1.FaxServiceServer {
  return {
    ...(unimplementedHandlers(faxServiceV1.FaxServiceService) as faxServiceV1.FaxServiceServer),
    listVoicemails: (call, callback) => {
      callers.push(currentPrincipal().tenantId);
      const open = call.request.unhandledOnly;
      callback(null, {
        voicemails: call.request.tenantId === 't-kropp' && !open ? [VOICEMAIL] : [],
        nextPageToken: '',
      });
    },
    getVoicemail: (call, callback) =>
      call.request.voicemailId === VOICEMAIL.voicemailId
        ? callback(null, { voicemail: VOICEMAIL })
        : callback(notFound(call.request.voicemailId)),
    downloadVoicemail: (call) => {
      if (call.request.voicemailId !== VOICEMAIL.voicemailId) {
        call.emit('error', { code: grpc.status.NOT_FOUND, details: `voicemail ${call.request.voicemailId} not found` });
        return;
      }
      call.write({
        fileName: 'voicemail-2026-03-02-vm-1.wav',
        contentType: 'audio/wav',
        totalBytes: String(WAV.length),
        chunk: WAV.subarray(0, 65_536),
      });
      call.write({ fileName: '', contentType: '', totalBytes: '0', chunk: WAV.subarray(65_536) });
      call.end();
    },
    markVoicemailHandled: (call, callback) =>
      call.request.voicemailId === VOICEMAIL.voicemailId
        ? callback(null, {
            voicemail: {
              ...VOICEMAIL,
              handledAt: new Date('2026-03-02T10:00:00Z'),
              handledBy: currentPrincipal().subject,
            },
          })
        : callback(notFound(call.request.voicemailId)),
  };
}

async function sb(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  registerVoicemailCommand(program, {
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
    logger: createLogger({ service: 'cli-voicemail-test', level: 'silent' }),
  });
  server.addService(
    'switchboard.fax.v1.FaxService',
    faxServiceV1.FaxServiceService,
    implementation(),
    permitAll(faxServiceV1.FaxServiceService),
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
  dir = await mkdtemp(path.join(tmpdir(), 'sb-cli-voicemail-'));
});

afterAll(async () => {
  await server?.shutdown(1_000);
  await rm(dir, { recursive: true, force: true });
});

describe('sb voicemail', () => {
  it('lists the inbox as a table and as JSON, with a token for the tenant; --open asks for unhandled ones', async () => {
    expect((await sb('voicemail', 'list', '--tenant', 't-kropp')).split('\n')).toEqual([
      'ID\tRECEIVED\tDEPARTMENT\tFROM\tDURATION\tSTATUS\tHANDLED',
      'vm-1\t2026-03-02T09:15:00.000Z\tbuergerbuero\t+4940123456\t1:23\tDELIVERED\topen',
      '',
    ]);
    const json = JSON.parse(await sb('voicemail', 'list', '--tenant', 't-kropp', '--json')) as unknown[];
    expect(json).toEqual([
      expect.objectContaining({ voicemailId: 'vm-1', durationSeconds: 83, status: 'VOICEMAIL_STATUS_DELIVERED' }),
    ]);
    expect((await sb('voicemail', 'list', '--tenant', 't-kropp', '--open')).split('\n')).toHaveLength(2);
    expect(callers).toEqual(['t-kropp', 't-kropp', 't-kropp']);
  });

  it('shows one voicemail with its mailbox and reasons', async () => {
    const shown = await sb('voicemail', 'get', '--tenant', 't-kropp', 'vm-1');
    expect(shown.split('\n')).toEqual(
      expect.arrayContaining([
        'from     +4940123456',
        'to       +494624720 (department buergerbuero)',
        'duration 1:23',
        `audio    ${WAV.length} bytes (WAV)`,
        'mailbox  poststelle@amt-kropp.example (fallback)',
        'reason   department buergerbuero has no mailbox in the directory',
      ]),
    );
    const json = JSON.parse(await sb('voicemail', 'get', '--tenant', 't-kropp', 'vm-1', '--json')) as unknown;
    expect(json).toMatchObject({ voicemailId: 'vm-1', viaFallback: true });
  });

  it('downloads the WAV under its own name, never over an existing file, or to --out', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await sb('voicemail', 'download', '--tenant', 't-kropp', 'vm-1')).toBe(
        `saved ${WAV.length} bytes to voicemail-2026-03-02-vm-1.wav\n`,
      );
      expect(Buffer.compare(await readFile(path.join(dir, 'voicemail-2026-03-02-vm-1.wav')), WAV)).toBe(0);
      await expect(sb('voicemail', 'download', '--tenant', 't-kropp', 'vm-1')).rejects.toThrow(
        'voicemail-2026-03-02-vm-1.wav exists already; choose a file with --out',
      );
    } finally {
      process.chdir(cwd);
    }
    const out = path.join(dir, 'message.wav');
    await writeFile(out, 'old');
    await sb('voicemail', 'download', '--tenant', 't-kropp', 'vm-1', '--out', out);
    expect(Buffer.compare(await readFile(out), WAV)).toBe(0);
  });

  it('marks a voicemail handled by the CLI user', async () => {
    expect(await sb('voicemail', 'mark-handled', '--tenant', 't-kropp', 'vm-1')).toBe(
      'voicemail vm-1 handled at 2026-03-02T10:00:00.000Z by ops\n',
    );
  });

  it('reports the API error for an unknown voicemail', async () => {
    await expect(sb('voicemail', 'get', '--tenant', 't-kropp', 'nope')).rejects.toThrow(
      'NOT_FOUND: voicemail nope not found',
    );
    await expect(
      sb('voicemail', 'download', '--tenant', 't-kropp', 'nope', '--out', path.join(dir, 'x.wav')),
    ).rejects.toThrow('NOT_FOUND: voicemail nope not found');
    await expect(sb('voicemail', 'mark-handled', '--tenant', 't-kropp', 'nope')).rejects.toThrow(
      'NOT_FOUND: voicemail nope not found',
    );
  });
});
