import * as grpc from '@grpc/grpc-js';
import { createProgram } from '@switchboard/cli';
import { directoryServiceV1 } from '@switchboard/proto';
import { servePrivacyErase, type PrivacyService } from '@switchboard/rpc-clients';
import { connectNats, createLogger, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { eventually, startMongo, startNats, type MongoServer, type NatsServer, TESTER } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { directoryApi, startDirectory, statusOf, token, type DirectoryApi } from '../test/harness.js';

const logger = createLogger({ service: 'erase-test', level: 'silent' });
const tenantId = 't-erase';

let nats: NatsServer;
let mongo: MongoServer;
let directory: RunningService;
let services: NatsHandle;
const clients: Array<{ close(): void }> = [];
/** What each stand-in service was asked to erase. */
const asked: Array<{ service: PrivacyService; tenantId: string; number: string }> = [];

async function apiFor(principal: Parameters<typeof token>[0]): Promise<DirectoryApi> {
  const connection = directoryApi(directory.grpcPort!, await token(principal));
  clients.push(connection);
  return connection.api;
}

/** A service answering its erase subject as rating, billing, fax and routing do. */
function serve(service: PrivacyService, kinds: Array<[string, number]>) {
  return servePrivacyErase(services, {
    service,
    erase: async (tenant, number) => {
      asked.push({ service, tenantId: tenant, number });
      return kinds.map(([kind, count]) => ({ kind, count }));
    },
    logger,
  });
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  directory = await startDirectory({ nats, mongo: mongo.url, db: 'erase' });
  services = await connectNats({ url: nats.url, credentials: nats.credentials(TESTER), name: 'erase-test', logger });
  serve('rating', [['rated-leg', 3]]);
  serve('billing', [['billed-leg', 3]]);
  serve('fax', [
    ['fax', 0],
    ['voicemail', 1],
    ['retention-log', 0],
  ]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await services?.connection.close();
  await directory?.shutdown('test over');
  await mongo?.stop();
  await nats?.stop();
});

describe('EraseNumber', () => {
  it('fails UNAVAILABLE naming a service that does not answer (the others have erased already)', async () => {
    const admin = await apiFor({ subject: 'anna', tenantId, role: 'admin' });
    const { code, details } = await statusOf(admin.eraseNumber({ tenantId, number: '+494621234567' }));
    expect(code).toBe(grpc.status.UNAVAILABLE);
    expect(details).toMatch(
      /^erase incomplete, no answer from routing \(nobody serves sb\.t-erase\.privacy\.erase\.routing\)/,
    );
    expect(asked.map((entry) => entry.service).sort()).toEqual(['billing', 'fax', 'rating']);
  });

  it('asks every service with the number in E.164 and reports what each changed', async () => {
    serve('routing', [
      ['call-state', 0],
      ['callback', 1],
    ]);
    asked.length = 0;
    const admin = await apiFor({ subject: 'anna', tenantId, role: 'admin' });
    const response = await admin.eraseNumber({ tenantId, number: '04621 234567' });
    expect(response).toEqual({
      number: '+494621234567',
      shortened: '+494621234xxx',
      changes: [
        { service: 'billing', kind: 'billed-leg', count: '3' },
        { service: 'fax', kind: 'fax', count: '0' },
        { service: 'fax', kind: 'retention-log', count: '0' },
        { service: 'fax', kind: 'voicemail', count: '1' },
        { service: 'rating', kind: 'rated-leg', count: '3' },
        { service: 'routing', kind: 'call-state', count: '0' },
        { service: 'routing', kind: 'callback', count: '1' },
      ],
    });
    expect(asked).toHaveLength(4);
    expect(asked.every((entry) => entry.tenantId === tenantId && entry.number === '+494621234567')).toBe(true);
  });

  it('refuses what is no citizen number, and callers the policy does not list', async () => {
    const admin = await apiFor({ subject: 'anna', tenantId, role: 'admin' });
    for (const number of ['110', 'abc', '4621234567']) {
      expect((await statusOf(admin.eraseNumber({ tenantId, number }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const agent = await apiFor({ subject: 'ben', tenantId, role: 'agent' });
    expect((await statusOf(agent.eraseNumber({ tenantId, number: '+494621234567' }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    const otherAdmin = await apiFor({ subject: 'carl', tenantId: 't-other', role: 'admin' });
    expect((await statusOf(otherAdmin.eraseNumber({ tenantId, number: '+494621234567' }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
  });

  it('is in the audit log with the number shortened, never whole', async () => {
    const admin = await apiFor({ subject: 'anna', tenantId, role: 'admin' });
    const entries = await eventually(async () => {
      const { entries: found } = await admin.listAuditEntries(
        directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId }),
      );
      return found.some((entry) => entry.method === 'EraseNumber') ? found : undefined;
    }, 'the erase in the audit log');
    const erase = entries.find((entry) => entry.method === 'EraseNumber')!;
    expect(erase).toMatchObject({ subject: 'anna', role: 'admin', service: 'directory' });
    expect(JSON.parse(erase.summary)).toEqual({ tenantId, number: '04621 234xxx' });
    expect(JSON.stringify(entries)).not.toContain('234567');
  });

  it('is what `sb privacy erase` prints', async () => {
    const output: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((text) => output.push(String(text)) > 0);
    process.env['SB_DIRECTORY_ADDR'] = `127.0.0.1:${directory.grpcPort}`;
    process.env['SB_TOKEN'] = await token({ subject: 'anna', tenantId, role: 'admin' });
    try {
      await createProgram().parseAsync(['privacy', 'erase', '--tenant', tenantId, '--number', '+494621234567'], {
        from: 'user',
      });
    } finally {
      vi.restoreAllMocks();
      delete process.env['SB_DIRECTORY_ADDR'];
      delete process.env['SB_TOKEN'];
    }
    expect(output.join('')).toBe(
      [
        '+494621234567 is now stored as +494621234xxx everywhere (8 records changed)',
        'SERVICE\tKIND\tCHANGED',
        'billing\tbilled-leg\t3',
        'fax\tfax\t0',
        'fax\tretention-log\t0',
        'fax\tvoicemail\t1',
        'rating\trated-leg\t3',
        'routing\tcall-state\t0',
        'routing\tcallback\t1',
        '',
      ].join('\n'),
    );
  });
});
