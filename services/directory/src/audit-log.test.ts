import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AuditEvents, eventSubject } from '@switchboard/events';
import { directoryServiceV1, directoryV1, type auditV1 } from '@switchboard/proto';
import { createProgram } from '@switchboard/cli';
import {
  connectNats,
  createLogger,
  newEventMeta,
  type NatsHandle,
  type Principal,
  type RunningService,
} from '@switchboard/service-kit';
import { TESTER, eventually, startMongo, startNats, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { TOKENS, directoryApi, startDirectory, statusOf, token, type DirectoryApi } from '../test/harness.js';
import { AuditLog } from './audit-log.js';

const { Weekday } = directoryV1;
const { DocumentFormat } = directoryServiceV1;
const DB = 'directory_audit_test';
const TENANT = 't-audit';

let nats: NatsServer;
let mongo: MongoServer;
let service: RunningService;
let tester: NatsHandle;
let mongoClient: MongoClient;
let log: AuditLog;
const clients: Array<{ close(): void }> = [];
let operator: DirectoryApi;
let admin: DirectoryApi;

async function apiAs(principal: Principal): Promise<DirectoryApi> {
  const connection = directoryApi(service.grpcPort!, await token(principal));
  clients.push(connection);
  return connection.api;
}

/** Every entry of a tenant as the API lists it, newest first. */
async function listed(
  api: DirectoryApi,
  request: Partial<directoryServiceV1.ListAuditEntriesRequest> = {},
): Promise<auditV1.AuditEntry[]> {
  const entries: auditV1.AuditEntry[] = [];
  let pageToken = '';
  do {
    const page = await api.listAuditEntries(listRequest({ ...request, pageToken }));
    entries.push(...page.entries);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return entries;
}

/** Waits until the log holds an entry of `method` matching `where`, and returns it. */
function logged(method: string, where: (entry: auditV1.AuditEntry) => boolean = () => true) {
  return eventually(
    async () => (await listed(operator)).find((entry) => entry.method === method && where(entry)),
    `the ${method} entry in the audit log`,
  );
}

const listRequest = (fields: Partial<directoryServiceV1.ListAuditEntriesRequest>) =>
  directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: TENANT, ...fields });

const storedCount = (entryId: string) =>
  mongoClient
    .db(DB)
    .collection('directory_audit_entries')
    .countDocuments({ _id: entryId as never });

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  service = await startDirectory({ nats, mongo: mongo.url, db: DB });
  tester = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'audit-test',
    logger: createLogger({ service: 't', level: 'silent' }),
  });
  mongoClient = await MongoClient.connect(mongo.url);
  log = new AuditLog(mongoClient.db(DB));
  operator = await apiAs({ subject: 'ops', tenantId: 'provider', role: 'operator' });
  admin = await apiAs({ subject: 'anna', tenantId: TENANT, role: 'admin' });
  await operator.createTenant({
    tenantId: TENANT,
    tenant: directoryV1.Tenant.fromPartial({ tenantId: TENANT, name: 'Amt Audit', federalState: 'SH' }),
  });
  await operator.createSite({
    tenantId: TENANT,
    site: directoryV1.Site.fromPartial({
      siteId: 'rathaus',
      name: 'Rathaus',
      kind: 'town-hall',
      address: { street: 'Dorfstraße 1', postalCode: '24848', city: 'Kropp' },
      headcount: 2,
      openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' }],
    }),
  });
  await operator.createStaff({
    tenantId: TENANT,
    staff: directoryV1.Staff.fromPartial({
      staffId: 's-1',
      displayName: 'Anke Hansen',
      extension: '101',
      siteId: 'rathaus',
      devices: ['audit-101'],
    }),
  });
  await operator.createDepartment({
    tenantId: TENANT,
    department: directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt', siteId: 'rathaus' }),
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await mongoClient?.close();
  await tester?.connection.close();
  await service?.shutdown('test over');
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('the audit log', () => {
  it('records a change once: who, role, when, service, method and the request', async () => {
    const before = new Date();
    await admin.updateDepartment({
      tenantId: TENANT,
      department: directoryV1.Department.fromPartial({
        departmentId: 'bauamt',
        name: 'Bauamt und Planung',
        siteId: 'rathaus',
        ringTimeoutSeconds: 25,
      }),
    });
    const entry = await logged('UpdateDepartment', (candidate) => candidate.summary.includes('Bauamt und Planung'));
    expect(entry).toMatchObject({ tenantId: TENANT, subject: 'anna', role: 'admin', service: 'directory' });
    expect(entry.at!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
    expect(JSON.parse(entry.summary)).toMatchObject({
      tenantId: TENANT,
      department: { departmentId: 'bauamt', name: 'Bauamt und Planung', ringTimeoutSeconds: 25 },
    });
    expect(await storedCount(entry.entryId)).toBe(1);
    // Reads are not changes; the operator's setup is.
    const methods = (await listed(operator)).map((candidate) => candidate.method);
    expect(methods.filter((method) => method === 'UpdateDepartment')).toHaveLength(1);
    expect(methods).toEqual(expect.arrayContaining(['CreateTenant', 'CreateSite', 'CreateStaff', 'CreateDepartment']));
    expect(methods).not.toContain('ListAuditEntries');
  });

  it('records a device password rotation without the password it returned', async () => {
    const { password } = await admin.rotateDevicePassword({ tenantId: TENANT, deviceId: 'audit-101' });
    const entry = await logged('RotateDevicePassword');
    expect(entry.summary).toBe(`{"tenantId":"${TENANT}","deviceId":"audit-101"}`);
    const all = await listed(operator);
    expect(all.filter((candidate) => candidate.summary.includes(password))).toEqual([]);
  });

  it('stores a redelivered entry once', async () => {
    const meta = newEventMeta(TENANT, 'rating');
    const event = {
      meta,
      entry: {
        entryId: meta.eventId,
        tenantId: TENANT,
        at: meta.occurredAt!,
        subject: 'fiona',
        role: 'admin',
        service: 'rating',
        method: 'SetTariff',
        summary: '{"tenantId":"t-audit"}',
      },
    };
    const data = AuditEvents.recorded.codec.encode(event).finish();
    const subject = eventSubject(TENANT, AuditEvents.recorded.domain, AuditEvents.recorded.event);
    // Two messages with one entry (a publish retried after the stream's duplicate window).
    await tester.js.publish(subject, data, { msgID: `${meta.eventId}-1` });
    await tester.js.publish(subject, data, { msgID: `${meta.eventId}-2` });
    await eventually(async () => {
      const info = await tester.jsm.consumers.info('AUDIT', 'directory-audit');
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    }, 'the directory to take both messages');
    expect(await storedCount(meta.eventId)).toBe(1);
    expect((await listed(operator, { service: 'rating' })).map((entry) => entry.entryId)).toEqual([meta.eventId]);
    expect(await log.record({ ...event.entry, summary: 'rewritten' })).toBe(false);
    expect((await listed(operator, { service: 'rating' }))[0]?.summary).toBe('{"tenantId":"t-audit"}');
  });

  it("parks an entry that is not its event's own, and one without a time, storing neither", async () => {
    const subject = eventSubject(TENANT, AuditEvents.recorded.domain, AuditEvents.recorded.event);
    const publish = async (entry: Partial<auditV1.AuditEntry>) => {
      const meta = newEventMeta(TENANT, 'ivr');
      const event = {
        meta,
        entry: {
          entryId: meta.eventId,
          tenantId: TENANT,
          at: meta.occurredAt!,
          subject: 'x',
          role: 'admin',
          service: 'ivr',
          method: 'SaveMenus',
          summary: '{}',
          ...entry,
        },
      };
      await tester.js.publish(subject, AuditEvents.recorded.codec.encode(event).finish(), { msgID: meta.eventId });
      return event.entry.entryId;
    };
    const forged = await publish({ entryId: 'someone-elses-id' });
    const timeless = await publish({ at: undefined });
    const reasons = await eventually(async () => {
      const parked = await tester.jsm.streams.info('DLQ', { subjects_filter: `sb.${TENANT}.dlq.directory-audit` });
      const count = parked.state.subjects?.[`sb.${TENANT}.dlq.directory-audit`] ?? 0;
      if (count < 2) return undefined;
      const reasonsOf: string[] = [];
      for (let seq = parked.state.first_seq; seq <= parked.state.last_seq; seq += 1) {
        const message = await tester.jsm.streams.getMessage('DLQ', { seq }).catch(() => null);
        if (message?.subject === `sb.${TENANT}.dlq.directory-audit`)
          reasonsOf.push(message.header.get('Sb-Dlq-Reason'));
      }
      return reasonsOf;
    }, 'both entries parked');
    expect(reasons.sort()).toEqual([
      'audit entry does not carry its event id and tenant as its own',
      'audit entry has no valid time',
    ]);
    expect(await storedCount(forged)).toBe(0);
    expect(await storedCount(timeless)).toBe(0);
  });

  it("is listed to the tenant's admins and operators only", async () => {
    const otherAdmin = await apiAs({ subject: 'olaf', tenantId: 't-other', role: 'admin' });
    const agent = await apiAs({ subject: 's-1', tenantId: TENANT, role: 'agent' });
    const finance = await apiAs({ subject: 'fritz', tenantId: TENANT, role: 'finance' });
    const routing = await apiAs({ subject: 'routing', tenantId: 'provider', role: 'service' });
    for (const api of [otherAdmin, agent, finance, routing]) {
      expect((await statusOf(api.listAuditEntries(listRequest({})))).code).toBe(grpc.status.PERMISSION_DENIED);
    }
    expect(
      (
        await statusOf(
          otherAdmin.exportTenant({
            tenantId: TENANT,
            format: DocumentFormat.DOCUMENT_FORMAT_JSON,
            includeAudit: true,
          }),
        )
      ).code,
    ).toBe(grpc.status.PERMISSION_DENIED);
    // A service reads the directory, not who changed it.
    expect(
      (
        await statusOf(
          routing.exportTenant({ tenantId: TENANT, format: DocumentFormat.DOCUMENT_FORMAT_JSON, includeAudit: true }),
        )
      ).code,
    ).toBe(grpc.status.PERMISSION_DENIED);
    expect(await routing.exportTenant({ tenantId: TENANT, format: DocumentFormat.DOCUMENT_FORMAT_JSON })).toEqual({
      document: expect.not.stringContaining('"audit"'),
    });
    expect((await listed(admin)).length).toBeGreaterThan(0);
  });
});

function varint(value: number): number[] {
  const bytes: number[] = [];
  for (let rest = BigInt(value); ; rest >>= 7n) {
    if (rest < 0x80n) return [...bytes, Number(rest)];
    bytes.push(Number(rest & 0x7fn) | 0x80);
  }
}

/** ListAuditEntries with `since` = `seconds`, encoded by hand: the generated client cannot hold such a time. */
async function rawList(tenantId: string, seconds: number): Promise<{ code: grpc.status; details: string }> {
  const tenant = Buffer.from(tenantId);
  const since = [0x08, ...varint(seconds)];
  const request = Buffer.from([0x0a, tenant.length, ...tenant, 0x12, since.length, ...since]);
  const client = new grpc.Client(`127.0.0.1:${service.grpcPort}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await token({ subject: 'anna', tenantId, role: 'admin' })}`);
  try {
    return await new Promise((resolve) =>
      client.makeUnaryRequest(
        '/switchboard.directory.v1.DirectoryService/ListAuditEntries',
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        request,
        metadata,
        (error) => resolve({ code: error?.code ?? grpc.status.OK, details: error?.details ?? '' }),
      ),
    );
  } finally {
    client.close();
  }
}

describe('listing', () => {
  const PAGED = 't-paged';
  const start = Date.UTC(2026, 2, 2, 8, 0, 0);
  // 250 entries, two per second, so page boundaries fall between entries of one instant.
  const entries = Array.from({ length: 250 }, (_, index) => ({
    entryId: `e-${String(index).padStart(3, '0')}`,
    tenantId: PAGED,
    at: new Date(start + Math.floor(index / 2) * 1_000),
    subject: index % 5 === 0 ? 'ops' : 'anna',
    role: index % 5 === 0 ? 'operator' : 'admin',
    service: index % 2 === 0 ? 'directory' : 'rating',
    method: index % 2 === 0 ? 'UpdateStaff' : 'SetTariff',
    summary: `{"n":${index}}`,
  }));
  let pagedAdmin: DirectoryApi;

  beforeAll(async () => {
    for (const entry of entries) await log.record(entry);
    pagedAdmin = await apiAs({ subject: 'anna', tenantId: PAGED, role: 'admin' });
  });

  it('pages newest first, every entry once, 100 a page by default', async () => {
    const pages: string[][] = [];
    let pageToken = '';
    do {
      const page = await pagedAdmin.listAuditEntries(
        directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: PAGED, pageToken }),
      );
      pages.push(page.entries.map((entry) => entry.entryId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(entries.map((entry) => entry.entryId).reverse());
  });

  it('filters by time, service and subject, and caps the page at 1000', async () => {
    const request = (fields: Partial<directoryServiceV1.ListAuditEntriesRequest>) =>
      pagedAdmin.listAuditEntries(
        directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: PAGED, ...fields }),
      );
    const all = await request({ pageSize: 5_000 });
    expect(all.entries).toHaveLength(250);
    expect(all.nextPageToken).toBe('');
    const window = await request({ since: new Date(start + 10_000), until: new Date(start + 20_000), pageSize: 1_000 });
    expect(window.entries.map((entry) => entry.entryId)).toEqual(
      entries
        .slice(20, 40)
        .map((entry) => entry.entryId)
        .reverse(),
    );
    const ops = await request({ service: 'directory', subject: 'ops', pageSize: 1_000 });
    expect(ops.entries.map((entry) => entry.entryId)).toEqual(
      entries
        .filter((entry) => entry.service === 'directory' && entry.subject === 'ops')
        .map((entry) => entry.entryId)
        .reverse(),
    );
  });

  it('refuses a page token that is not one, a negative page size and an empty window', async () => {
    const refused = async (fields: Partial<directoryServiceV1.ListAuditEntriesRequest>) =>
      statusOf(
        pagedAdmin.listAuditEntries(
          directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: PAGED, ...fields }),
        ),
      );
    expect(await refused({ pageToken: 'not-a-token' })).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'page_token: is not a token of this list (pass next_page_token unchanged)',
    });
    expect((await refused({ pageSize: -1 })).details).toBe('page_size: must not be negative');
    // A Timestamp past what a date can hold (9e12 s, about the year 287,000), as raw bytes.
    expect(await rawList(PAGED, 9_000_000_000_000)).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'since: is not a time',
    });
    const farCursor = Buffer.from(JSON.stringify({ at: 9e15, id: 'e-1' })).toString('base64url');
    expect((await refused({ pageToken: farCursor })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await refused({ since: new Date(start), until: new Date(start) })).details).toBe(
      'since: must be before until',
    );
  });
});

describe('export and import', () => {
  it('exports the log with the tenant when asked, oldest first; an import leaves it as it was', async () => {
    const exported = await admin.exportTenant({
      tenantId: TENANT,
      format: DocumentFormat.DOCUMENT_FORMAT_YAML,
      includeAudit: true,
    });
    const document = parse(exported.document) as { audit: Array<{ entryId: string; at: string; method: string }> };
    const newestFirst = await listed(operator);
    expect(document.audit.map((entry) => entry.entryId)).toEqual(newestFirst.map((entry) => entry.entryId).reverse());
    expect(document.audit[0]).toMatchObject({ method: 'CreateTenant', at: newestFirst.at(-1)!.at!.toISOString() });

    // The document goes back in with a forged entry: the import ignores the whole `audit` key.
    document.audit.push({ entryId: 'forged', at: new Date().toISOString(), method: 'DeleteTenant' });
    await admin.importTenant({ tenantId: TENANT, document: JSON.stringify(document) });
    await logged('ImportTenant');
    const after = await listed(operator);
    expect(after.map((entry) => entry.entryId)).not.toContain('forged');
    expect(after.filter((entry) => entry.method !== 'ImportTenant').map((entry) => entry.entryId)).toEqual(
      newestFirst.map((entry) => entry.entryId),
    );
    expect(
      (await admin.exportTenant({ tenantId: TENANT, format: DocumentFormat.DOCUMENT_FORMAT_YAML })).document,
    ).not.toContain('audit:');
  });
});

describe('sb audit list', () => {
  async function sb(...args: string[]): Promise<string> {
    vi.stubEnv('SB_DIRECTORY_ADDR', `127.0.0.1:${service.grpcPort}`);
    vi.stubEnv('AUTH_SIGNING_KEY', TOKENS.issuerEnv.AUTH_SIGNING_KEY);
    vi.stubEnv('SB_TOKEN', '');
    const printed: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await createProgram().exitOverride().parseAsync(args, { from: 'user' });
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }
    return printed.join('');
  }

  it('prints the log newest first in Berlin time, filtered, as a table or JSON', async () => {
    const lines = (await sb('audit', 'list', '--tenant', 't-paged', '--service', 'rating', '--limit', '3')).split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'TIME\tWHO\tROLE\tSERVICE\tMETHOD\tSUMMARY',
      // 08:02:04 UTC is 09:02:04 in Berlin in March (CET).
      '2026-03-02 09:02:04\tanna\tadmin\trating\tSetTariff\t{"n":249}',
      '2026-03-02 09:02:03\tanna\tadmin\trating\tSetTariff\t{"n":247}',
      '2026-03-02 09:02:02\tops\toperator\trating\tSetTariff\t{"n":245}',
    ]);
    expect(lines[4]).toBe('(the newest 3; older ones with --limit 0 or --until)');
    const json = JSON.parse(
      await sb(
        'audit',
        'list',
        '--tenant',
        't-paged',
        '--since',
        '2026-03-02T09:00:10',
        '--until',
        '2026-03-02T09:00:11',
        '--json',
      ),
    ) as Array<{ entryId: string; at: string }>;
    expect(json).toEqual([
      expect.objectContaining({ entryId: 'e-021', at: '2026-03-02T08:00:10.000Z' }),
      expect.objectContaining({ entryId: 'e-020', at: '2026-03-02T08:00:10.000Z' }),
    ]);
    const all = (await sb('audit', 'list', '--tenant', 't-paged', '--limit', '0')).trim().split('\n');
    expect(all).toHaveLength(251);
  });

  it('exports the tenant with its log by default, and imports the file back without it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sb-audit-'));
    try {
      const file = path.join(dir, `${TENANT}.yaml`);
      await sb('tenant', 'export', '--tenant', TENANT, '--out', file);
      const exported = parse(await readFile(file, 'utf8')) as { audit?: Array<{ method: string }> };
      expect(exported.audit?.map((entry) => entry.method)).toContain('RotateDevicePassword');
      const before = (await listed(operator)).length;
      expect(await sb('tenant', 'import', '--file', file)).toMatch(new RegExp(`^imported ${TENANT}: 1 sites`));
      await logged('ImportTenant', (entry) => entry.role === 'operator');
      expect((await listed(operator)).length).toBe(before + 1);
      expect(await sb('tenant', 'export', '--tenant', TENANT, '--no-audit')).not.toContain('audit:');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a time it cannot read', async () => {
    await expect(sb('audit', 'list', '--tenant', 't-paged', '--since', 'yesterday')).rejects.toThrow(
      '--since: "yesterday" is not a date or time',
    );
  });
});
