import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ivrServiceV1 } from '@switchboard/proto';
import { GrpcServer, GrpcStatusError, createAuthenticator, createLogger } from '@switchboard/service-kit';
import { testTokens } from '@switchboard/testkit';
import { permitAll, unimplementedHandlers } from '@switchboard/service-kit/testing';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerIvrCommand } from './ivr.js';

const TOKENS = testTokens();
const { TargetKind } = ivrServiceV1;

const MAIN = ivrServiceV1.Menu.fromPartial({
  tenantId: 't-kropp',
  menuId: 'main',
  name: 'Amt Kropp',
  language: 'de-DE',
  prompts: ['sound:switchboard/main'],
  options: [{ digits: '1', target: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'meldewesen' } }],
  timeoutMs: 5_000,
  interDigitTimeoutMs: 2_000,
  maxRetries: 2,
  fallback: { kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'zentrale' },
  entry: true,
  revision: '3',
  updatedAt: new Date('2026-03-02T09:15:00Z'),
});

let server: GrpcServer;
let address: string;
let dir: string;
const saves: ivrServiceV1.SaveMenusRequest[] = [];

/** An IVR API holding one tenant's menus, behind the kit's real auth. */
function implementation(): ivrServiceV1.IvrServiceServer {
  return {
    ...(unimplementedHandlers(ivrServiceV1.IvrServiceService) as ivrServiceV1.IvrServiceServer),
    listMenus: (call, callback) =>
      callback(null, { menus: call.request.tenantId === 't-kropp' ? [MAIN] : [], revision: '3' }),
    saveMenus: (call, callback) => {
      if (call.request.menus.some((menu) => menu.menuId === 'broken')) {
        return callback(new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'menu "broken": name is required'));
      }
      saves.push(call.request);
      callback(null, { menus: call.request.menus, revision: '4' });
    },
  };
}

async function sb(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('sb').exitOverride();
  registerIvrCommand(program, {
    env: { SB_IVR_ADDR: address, ...TOKENS.issuerEnv, USER: 'ops' },
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
    logger: createLogger({ service: 'cli-ivr-test', level: 'silent' }),
  });
  server.addService(
    'switchboard.ivr.v1.IvrService',
    ivrServiceV1.IvrServiceService,
    implementation(),
    permitAll(ivrServiceV1.IvrServiceService),
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
  dir = await mkdtemp(path.join(tmpdir(), 'sb-cli-ivr-'));
});

afterAll(async () => {
  await server?.shutdown(1_000);
  await rm(dir, { recursive: true, force: true });
});

describe('sb ivr', () => {
  it('lists the menus', async () => {
    expect((await sb('ivr', 'list', '--tenant', 't-kropp')).split('\n')).toEqual([
      'ID\tENTRY\tLANGUAGE\tOPTIONS\tNAME',
      'main\tyes\tde-DE\t1\tAmt Kropp',
      'revision 3',
      '',
    ]);
  });

  it('exports the menus and imports the file again, replacing the whole set', async () => {
    const file = path.join(dir, 'menus.json');
    expect(await sb('ivr', 'export', '--tenant', 't-kropp', '--out', file)).toBe(`exported 1 menus to ${file}\n`);
    const exported = JSON.parse(await readFile(file, 'utf8')) as { menus: Array<Record<string, unknown>> };
    expect(exported.menus[0]).toMatchObject({ menuId: 'main', entry: true });
    expect(exported.menus[0]).not.toHaveProperty('revision');

    const renamed = { menus: [{ ...exported.menus[0], menuId: 'start' }] };
    await writeFile(file, JSON.stringify(renamed));
    expect(await sb('ivr', 'import', '--tenant', 't-kropp', file)).toBe('imported 1 menus, revision 4\n');
    expect(saves.at(-1)).toMatchObject({
      tenantId: 't-kropp',
      menus: [expect.objectContaining({ tenantId: 't-kropp', menuId: 'start', language: 'de-DE' })],
      deleteMenuIds: ['main'],
      expectedRevision: '3',
    });
  });

  it('reports a file that is not a menu export, and the API validation error', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, '{"menu": []}');
    await expect(sb('ivr', 'import', '--tenant', 't-kropp', file)).rejects.toThrow(
      `${file} must be an object with a "menus" array`,
    );
    await writeFile(file, JSON.stringify({ menus: [{ menuId: 'broken' }] }));
    await expect(sb('ivr', 'import', '--tenant', 't-kropp', file)).rejects.toThrow(
      'INVALID_ARGUMENT: menu "broken": name is required',
    );
  });
});
