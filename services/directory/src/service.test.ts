import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import type { Subscription } from '@nats-io/nats-core';
import { DirectoryModel, isOpen, openSnapshotBucket, resolveNumber } from '@switchboard/directory-cache';
import { directoryEventsV1, directoryServiceV1, directorySnapshotV1, directoryV1 } from '@switchboard/proto';
import { createProgram } from '@switchboard/cli';
import { connectNats, createLogger, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { eventually, startMongo, startNats, type MongoServer, type NatsServer, TESTER } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { renderDemoTenant } from '../test/demo-tenant.js';
import { TOKENS, directoryApi, startDirectory, statusOf, token, type DirectoryApi } from '../test/harness.js';
import { directoryRpcClient, directoryRpcSubject, type DirectoryRpcClient } from '@switchboard/rpc-clients';
import { DirectoryCache } from './cache.js';
import { Directory } from './directory.js';
import { SnapshotTooLargeError } from './snapshot.js';
import { DirectoryStore } from './store.js';

const { EntryPointKind, NumberKind, Strategy, OverflowKind, Weekday } = directoryV1;
const { OpenState, DocumentFormat } = directoryServiceV1;
const DB = 'directory_test';
const DEMO_FILE = new URL('../demo/amt-kropp.yaml', import.meta.url);

let nats: NatsServer;
let mongo: MongoServer;
let service: RunningService;
let replica: RunningService;
let caller: NatsHandle;
let lookups: DirectoryRpcClient;
let mongoClient: MongoClient;
let events: Subscription;
const received: Array<{ subject: string; data: Uint8Array }> = [];
const clients: Array<{ close(): void }> = [];
let operator: DirectoryApi;
let krAdmin: DirectoryApi;
let krAgent: DirectoryApi;
let replicaApi: DirectoryApi;

async function apiFor(port: number, principal: Parameters<typeof token>[0]): Promise<DirectoryApi> {
  const connection = directoryApi(port, await token(principal));
  clients.push(connection);
  return connection.api;
}

const site = (fields: Partial<directoryV1.Site>) =>
  directoryV1.Site.fromPartial({
    siteId: 'rathaus',
    name: 'Rathaus',
    kind: 'town-hall',
    address: { street: 'Dorfstraße 1', postalCode: '24848', city: 'Kropp' },
    headcount: 3,
    openingHours: [{ day: Weekday.WEEKDAY_MONDAY, from: '08:00', to: '12:00' }],
    ...fields,
  });
const staff = (fields: Partial<directoryV1.Staff>) =>
  directoryV1.Staff.fromPartial({
    staffId: 's-1',
    displayName: 'Anke Hansen',
    extension: '11',
    siteId: 'rathaus',
    ...fields,
  });
const department = (fields: Partial<directoryV1.Department>) =>
  directoryV1.Department.fromPartial({ departmentId: 'meldeamt', name: 'Meldeamt', siteId: 'rathaus', ...fields });
const number = (fields: Partial<directoryV1.PhoneNumber>) =>
  directoryV1.PhoneNumber.fromPartial({
    number: '+4943319988',
    kind: NumberKind.NUMBER_KIND_MAIN,
    entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'meldeamt' },
    ...fields,
  });
const tenantT = directoryV1.Tenant.fromPartial({ tenantId: 't-test', name: 'Gemeinde Test', federalState: 'SH' });

const at = (iso: string) => ({ at: new Date(iso) });

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const urls = { nats, mongo: mongo.url, db: DB };
  // Only the first reloads periodically: the replica learns changes from change events alone.
  service = await startDirectory(urls, { DIRECTORY_RELOAD_INTERVAL_MS: '300' });
  replica = await startDirectory(urls);
  caller = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'routing-test',
    logger: createLogger({ service: 't', level: 'silent' }),
  });
  events = caller.connection.subscribe('sb.*.directory.*', {
    callback: (error, message) => {
      if (!error) received.push({ subject: message.subject, data: message.data });
    },
  });
  lookups = directoryRpcClient(caller);
  mongoClient = await MongoClient.connect(mongo.url);
  operator = await apiFor(service.grpcPort!, { subject: 'ops', tenantId: 'provider', role: 'operator' });
  krAdmin = await apiFor(service.grpcPort!, { subject: 'anna', tenantId: 't-kropp', role: 'admin' });
  krAgent = await apiFor(service.grpcPort!, { subject: 'ben', tenantId: 't-kropp', role: 'agent' });
  replicaApi = await apiFor(replica.grpcPort!, { subject: 'ops', tenantId: 'provider', role: 'operator' });
  await operator.importTenant({ tenantId: 't-kropp', document: await readFile(DEMO_FILE, 'utf8') });
  // NATS lookups go to either replica: wait until the other one has the tenant too.
  await eventually(
    () => replicaApi.resolveNumber({ tenantId: 't-kropp', number: '+494624720' }).catch(() => undefined),
    'the replica to load t-kropp',
  );
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  events?.unsubscribe();
  await mongoClient?.close();
  await caller?.connection.close();
  await Promise.all([service?.shutdown('test over'), replica?.shutdown('test over')]);
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('demo tenant', () => {
  it('is committed exactly as the seeded generator builds it', async () => {
    expect(await readFile(DEMO_FILE, 'utf8')).toBe(renderDemoTenant());
  });

  it('imports with 47 sites, 60 staff, the departments of the story and a main number into the IVR', async () => {
    const [sites, people, departments, tenant] = await Promise.all([
      krAdmin.listSites({ tenantId: 't-kropp' }),
      krAdmin.listStaff({ tenantId: 't-kropp' }),
      krAdmin.listDepartments({ tenantId: 't-kropp' }),
      krAdmin.getTenant({ tenantId: 't-kropp' }),
    ]);
    expect(sites.sites).toHaveLength(47);
    expect(new Set(sites.sites.map((entry) => entry.municipality)).size).toBe(14);
    expect(new Set(sites.sites.map((entry) => entry.kind))).toEqual(
      new Set(['town-hall', 'kindergarten', 'library', 'depot', 'school']),
    );
    expect(people.staff).toHaveLength(60);
    expect(people.staff.filter((entry) => entry.homeOffice).length).toBeGreaterThan(0);
    expect(departments.departments.map((entry) => entry.departmentId)).toEqual(
      expect.arrayContaining(['fischereischeine', 'buergerbuero', 'standesamt', 'bauhof', 'kita-verwaltung']),
    );
    expect(tenant.tenant).toMatchObject({ name: 'Amt Kropp-Stapelholm', federalState: 'SH' });
    expect(await lookups.resolveNumber({ tenantId: 't-kropp', number: '+494624720' })).toMatchObject({
      kind: NumberKind.NUMBER_KIND_MAIN,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_IVR_MENU, target: 'main-menu' },
      siteId: 'amt-kropp',
    });
  });
});

describe('admin API', () => {
  it('creates, reads, updates, lists and deletes every entity, publishing a change event each time', async () => {
    await operator.createTenant({ tenantId: 't-test', tenant: tenantT });
    await operator.createSite({ tenantId: 't-test', site: site({}) });
    await operator.createStaff({ tenantId: 't-test', staff: staff({}) });
    await operator.createDepartment({
      tenantId: 't-test',
      department: department({ members: [{ staffId: 's-1', priority: 0 }], strategy: Strategy.STRATEGY_RING_ALL }),
    });
    await operator.createNumber({ tenantId: 't-test', number: number({ siteId: 'rathaus' }) });

    expect((await operator.getSite({ tenantId: 't-test', siteId: 'rathaus' })).site).toEqual(site({}));
    const created = (await operator.getDepartment({ tenantId: 't-test', departmentId: 'meldeamt' })).department;
    // Defaults fill what the request left out.
    expect(created).toMatchObject({
      strategy: Strategy.STRATEGY_RING_ALL,
      ringTimeoutSeconds: 20,
      overflow: { kind: OverflowKind.OVERFLOW_KIND_NONE, target: '' },
    });

    await operator.updateStaff({
      tenantId: 't-test',
      staff: staff({ homeOffice: true, homeOfficeNumber: '+4915123456789', devices: ['test-11'] }),
    });
    expect((await operator.getStaff({ tenantId: 't-test', staffId: 's-1' })).staff).toMatchObject({
      homeOffice: true,
      homeOfficeNumber: '+4915123456789',
      devices: ['test-11'],
    });
    await operator.updateTenant({ tenantId: 't-test', tenant: { ...tenantT, name: 'Gemeinde Test-Dorf' } });
    expect((await operator.getTenant({ tenantId: 't-test' })).tenant?.name).toBe('Gemeinde Test-Dorf');
    expect((await operator.listNumbers({ tenantId: 't-test' })).numbers.map((entry) => entry.number)).toEqual([
      '+4943319988',
    ]);

    await operator.deleteNumber({ tenantId: 't-test', number: '+4943319988' });
    expect((await statusOf(operator.getNumber({ tenantId: 't-test', number: '+4943319988' }))).code).toBe(
      grpc.status.NOT_FOUND,
    );
    // The replica that wrote answers from its refreshed cache at once (NATS lookups may reach the other).
    expect((await statusOf(operator.resolveNumber({ tenantId: 't-test', number: '+4943319988' }))).code).toBe(
      grpc.status.NOT_FOUND,
    );

    const subjects = await eventually(async () => {
      const seen = received.filter((entry) => entry.subject.startsWith('sb.t-test.')).map((entry) => entry.subject);
      return seen.length >= 8 ? seen : undefined;
    }, 'change events');
    expect(subjects).toEqual([
      'sb.t-test.directory.tenant_changed',
      'sb.t-test.directory.site_changed',
      'sb.t-test.directory.staff_changed',
      'sb.t-test.directory.department_changed',
      'sb.t-test.directory.number_changed',
      'sb.t-test.directory.staff_changed',
      'sb.t-test.directory.tenant_changed',
      'sb.t-test.directory.number_changed',
    ]);
    const staffEvent = directoryEventsV1.StaffChanged.decode(
      received.filter((entry) => entry.subject === 'sb.t-test.directory.staff_changed')[1]!.data,
    );
    expect(staffEvent).toMatchObject({
      change: directoryEventsV1.ChangeKind.CHANGE_KIND_UPDATED,
      staffId: 's-1',
      staff: { homeOffice: true },
      meta: { tenantId: 't-test', producer: 'directory' },
    });
    const deleted = directoryEventsV1.NumberChanged.decode(received.at(-1)!.data);
    expect(deleted).toMatchObject({ change: directoryEventsV1.ChangeKind.CHANGE_KIND_DELETED, number: '+4943319988' });
    expect(deleted.phoneNumber).toBeUndefined();
  });

  it('rejects bad input with INVALID_ARGUMENT naming every bad field', async () => {
    const bad = await statusOf(
      operator.createSite({
        tenantId: 't-test',
        site: site({
          siteId: 'Bad Id',
          headcount: -1,
          address: { street: '', postalCode: '2484', city: 'Kropp' },
          openingHours: [{ day: Weekday.WEEKDAY_TUESDAY, from: '12:00', to: '08:00' }],
        }),
      }),
    );
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    for (const field of [
      'site.siteId',
      'site.headcount',
      'site.address.street',
      'site.address.postalCode',
      'site.openingHours[0].to',
    ]) {
      expect(bad.details).toContain(`${field}:`);
    }

    const badNumber = await statusOf(
      operator.createNumber({
        tenantId: 't-test',
        number: number({
          number: '+49123',
          entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'nope' },
        }),
      }),
    );
    expect(badNumber.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badNumber.details).toContain('number.number: must be a valid E.164 number');

    const dangling = await statusOf(
      operator.createNumber({
        tenantId: 't-test',
        number: number({ entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'nope' } }),
      }),
    );
    expect(dangling).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'numbers[+4943319988].entryPoint.target: no department "nope"',
    });

    const taken = await statusOf(
      operator.createNumber({ tenantId: 't-test', number: number({ number: '+494624720' }) }),
    );
    expect(taken.details).toBe('numbers[+494624720].number: belongs to another tenant');
    // Asterisk's endpoint names are global: another tenant's device would take over its phone.
    const takenDevice = await statusOf(
      operator.createStaff({
        tenantId: 't-test',
        staff: staff({ staffId: 's-9', extension: '19', devices: ['kropp-101'] }),
      }),
    );
    expect(takenDevice).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details:
        'staff[s-9].devices: "kropp-101" belongs to another tenant (a device id is an Asterisk endpoint name, unique across all tenants)',
    });

    const clash = await statusOf(operator.createStaff({ tenantId: 't-test', staff: staff({ staffId: 's-2' }) }));
    expect(clash.details).toBe('staff.extension: "11" is used more than once');
    const emergency = await statusOf(
      operator.createStaff({
        tenantId: 't-test',
        staff: staff({ staffId: 's-2', displayName: 'Birte Jensen', extension: '112' }),
      }),
    );
    expect(emergency).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details:
        'staff.extension: Birte Jensen (s-2) cannot have extension 112: it is the emergency number of the fire ' +
        'brigade and ambulance, which every phone dials instead of a colleague; choose a free extension',
    });

    expect(await statusOf(operator.createStaff({ tenantId: 't-test', staff: staff({}) }))).toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
    });
    expect(await statusOf(operator.deleteStaff({ tenantId: 't-test', staffId: 's-1' }))).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'still referenced: departments[meldeamt].members.staffId: no staff "s-1"',
    });
    expect(await statusOf(operator.listSites({ tenantId: '' }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'tenant_id is required',
    });
  });

  it('keeps tenants apart: other tenants are PERMISSION_DENIED, agents neither read nor write the directory', async () => {
    expect((await statusOf(krAdmin.listStaff({ tenantId: 't-test' }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await statusOf(krAdmin.exportTenant({ tenantId: 't-test', format: 0 }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect((await statusOf(krAdmin.deleteTenant({ tenantId: 't-test' }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await krAdmin.listTenants({ tenantId: '' })).tenants.map((entry) => entry.tenantId)).toEqual(['t-kropp']);
    expect((await operator.listTenants({ tenantId: '' })).tenants.map((entry) => entry.tenantId)).toEqual([
      't-kropp',
      't-test',
    ]);
    expect((await statusOf(krAgent.deleteSite({ tenantId: 't-kropp', siteId: 'kita-wohlde' }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(await statusOf(krAgent.listSites({ tenantId: 't-kropp' }))).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: 'agent may not call DirectoryService/ListSites (allowed: admin, operator, service)',
    });
    // Over NATS the subject's tenant must be the request's.
    const reply = await caller.connection.request(
      directoryRpcSubject('t-test', 'ResolveNumber'),
      directoryServiceV1.ResolveNumberRequest.encode({ tenantId: 't-kropp', number: '+494624720' }).finish(),
    );
    expect(reply.headers?.get('Sb-Status')).toBe(String(grpc.status.PERMISSION_DENIED));
    expect((await statusOf(lookups.resolveNumber({ tenantId: 't-test', number: '+494624720' }))).code).toBe(
      grpc.status.NOT_FOUND,
    );
  });
});

describe('import and export', () => {
  it('round-trips a tenant through export and import, as YAML and as JSON', async () => {
    const yaml = (await operator.exportTenant({ tenantId: 't-kropp', format: DocumentFormat.DOCUMENT_FORMAT_YAML }))
      .document;
    const json = (await operator.exportTenant({ tenantId: 't-kropp', format: DocumentFormat.DOCUMENT_FORMAT_JSON }))
      .document;
    expect(JSON.parse(json)).toEqual(parse(yaml));
    const imported = await operator.importTenant({ tenantId: 't-kropp', document: json });
    expect(imported).toMatchObject({ sites: 47, staff: 60, departments: 9 });
    expect((await operator.exportTenant({ tenantId: 't-kropp', format: 0 })).document).toBe(yaml);
  });

  it('changes nothing when any part of a document is invalid', async () => {
    const before = (await operator.exportTenant({ tenantId: 't-kropp', format: 0 })).document;
    const document = parse(before) as {
      sites: Array<{ headcount: number }>;
      staff: Array<{ extension: string }>;
      departments: Array<{ members: Array<{ staffId: string }> }>;
    };
    document.sites.push({ ...document.sites[0]!, headcount: 1 });
    document.staff[59]!.extension = document.staff[0]!.extension;
    document.departments[0]!.members.push({ staffId: 'ghost' });
    const broken = await statusOf(operator.importTenant({ tenantId: 't-kropp', document: JSON.stringify(document) }));
    expect(broken.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(broken.details).toContain('sites.siteId: "amt-kropp" is used more than once');
    expect(broken.details).toContain('staff.extension: "101" is used more than once');
    expect(broken.details).toContain('departments[bauamt].members.staffId: no staff "ghost"');
    const reserved = parse(before) as typeof document;
    reserved.staff[3]!.extension = '116117';
    const refused = await statusOf(operator.importTenant({ tenantId: 't-kropp', document: JSON.stringify(reserved) }));
    expect(refused.details).toMatch(
      /^document\.staff\[3\]\.extension: Maren Jessen \(s-104\) cannot have extension 116117: it is a European service number of social value \(116xxx/,
    );
    expect((await statusOf(operator.importTenant({ tenantId: 't-kropp', document: 'tenant: [' }))).details).toMatch(
      /^document: not YAML or JSON/,
    );
    expect((await statusOf(operator.importTenant({ tenantId: 't-test', document: before }))).details).toBe(
      'document.tenant.tenantId: is "t-kropp", expected "t-test"',
    );
    expect((await operator.exportTenant({ tenantId: 't-kropp', format: 0 })).document).toBe(before);
  });

  it('keeps the previous snapshot when a write fails halfway', async () => {
    const store = new DirectoryStore(mongoClient.db(DB));
    const before = (await store.load('t-test'))!;
    // Two staff with one extension pass no validation here, so MongoDB's unique index fails the
    // staff insert after sites, numbers and departments were already staged.
    const staged = {
      ...before.document,
      departments: [],
      staff: [
        { ...before.document.staff[0]!, staffId: 'a' },
        { ...before.document.staff[0]!, staffId: 'b' },
      ],
    };
    await expect(store.replaceTenant(staged)).rejects.toThrow(/duplicate/i);
    expect(await store.load('t-test')).toEqual(before);
    const rows = await mongoClient.db(DB).collection('directory_sites').countDocuments({ tenantId: 't-test' });
    expect(rows).toBe(before.document.sites.length);
  });
});

describe('outbound policy and privacy settings', () => {
  const DEFAULT_POLICY = {
    allowPremium: false,
    allowMassTraffic: false,
    allowDirectoryEnquiries: false,
    barInternational: false,
  };
  const tenantP = directoryV1.Tenant.fromPartial({
    tenantId: 't-policy',
    name: 'Gemeinde Politik',
    federalState: 'SH',
  });
  const changes = (subject: string) => received.filter((entry) => entry.subject === subject);

  it('gives a tenant without them the safe defaults, and the demo depots bar international calls', async () => {
    await operator.createTenant({ tenantId: 't-policy', tenant: tenantP });
    expect((await operator.getTenant({ tenantId: 't-policy' })).tenant).toMatchObject({
      outboundPolicy: DEFAULT_POLICY,
      privacy: { retentionDays: 90, aggregateOnlyStatistics: false },
    });
    const { sites } = await krAdmin.listSites({ tenantId: 't-kropp' });
    const depots = sites.filter((entry) => entry.kind === 'depot');
    expect(depots).toHaveLength(6);
    for (const depot of depots) expect(depot.outboundOverride).toEqual({ ...DEFAULT_POLICY, barInternational: true });
    expect(sites.filter((entry) => entry.outboundOverride)).toHaveLength(6);
  });

  it('stores, publishes and exports a changed policy, a site override and the privacy settings', async () => {
    const policy = { ...DEFAULT_POLICY, allowDirectoryEnquiries: true };
    await operator.updateTenant({
      tenantId: 't-policy',
      tenant: { ...tenantP, outboundPolicy: policy, privacy: { retentionDays: 30, aggregateOnlyStatistics: true } },
    });
    await operator.createSite({
      tenantId: 't-policy',
      site: site({ siteId: 'bauhof', outboundOverride: { ...DEFAULT_POLICY, barInternational: true } }),
    });
    expect((await replicaApi.getTenant({ tenantId: 't-policy' })).tenant).toMatchObject({
      outboundPolicy: policy,
      privacy: { retentionDays: 30, aggregateOnlyStatistics: true },
    });
    const [tenantEvent, siteEvent] = await eventually(() => {
      const tenant = changes('sb.t-policy.directory.tenant_changed')[1];
      const site = changes('sb.t-policy.directory.site_changed')[0];
      return tenant && site ? [tenant, site] : undefined;
    }, 'the tenant and site change events');
    expect(directoryEventsV1.TenantChanged.decode(tenantEvent.data).tenant).toMatchObject({
      outboundPolicy: policy,
      privacy: { retentionDays: 30, aggregateOnlyStatistics: true },
    });
    expect(directoryEventsV1.SiteChanged.decode(siteEvent.data).site?.outboundOverride).toEqual({
      ...DEFAULT_POLICY,
      barInternational: true,
    });
    const exported = parse((await operator.exportTenant({ tenantId: 't-policy', format: 0 })).document) as {
      tenant: object;
      sites: object[];
    };
    expect(exported.tenant).toMatchObject({
      outboundPolicy: policy,
      privacy: { retentionDays: 30, aggregateOnlyStatistics: true },
    });
    expect(exported.sites[0]).toMatchObject({ siteId: 'bauhof', outboundOverride: { barInternational: true } });

    // An import document may leave fields out: each takes its safe default; 0 days is the default too.
    const document = {
      tenant: {
        tenantId: 't-policy',
        name: 'Gemeinde Politik',
        federalState: 'SH',
        outboundPolicy: { allowPremium: true },
      },
      sites: [{ ...exported.sites[0], outboundOverride: { barInternational: true } }],
    };
    await operator.importTenant({ tenantId: 't-policy', document: JSON.stringify(document) });
    expect((await operator.getTenant({ tenantId: 't-policy' })).tenant).toMatchObject({
      outboundPolicy: { ...DEFAULT_POLICY, allowPremium: true },
      privacy: { retentionDays: 90, aggregateOnlyStatistics: false },
    });
    await operator.updateSite({ tenantId: 't-policy', site: site({ siteId: 'bauhof' }) });
    expect((await operator.getSite({ tenantId: 't-policy', siteId: 'bauhof' })).site?.outboundOverride).toBeUndefined();
    await operator.updateTenant({
      tenantId: 't-policy',
      tenant: { ...tenantP, privacy: { retentionDays: 0, aggregateOnlyStatistics: false } },
    });
    expect((await operator.getTenant({ tenantId: 't-policy' })).tenant?.privacy?.retentionDays).toBe(90);
  });

  it('refuses bad settings with INVALID_ARGUMENT naming the field', async () => {
    const refused = await statusOf(
      operator.updateTenant({
        tenantId: 't-policy',
        tenant: { ...tenantP, privacy: { retentionDays: -5, aggregateOnlyStatistics: false } },
      }),
    );
    expect(refused).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'tenant.privacy.retentionDays: must be at least 1',
    });
    const document = JSON.stringify({
      tenant: { tenantId: 't-policy', name: 'x', federalState: 'SH', outboundPolicy: { barInternational: 'yes' } },
    });
    expect((await statusOf(operator.importTenant({ tenantId: 't-policy', document }))).details).toMatch(
      /^document\.tenant\.outboundPolicy\.barInternational: /,
    );
  });

  it('reads a tenant stored before these settings existed with the defaults', async () => {
    await mongoClient
      .db(DB)
      .collection('directory_tenants')
      .updateOne({ _id: 't-policy' as never }, { $unset: { 'tenant.outboundPolicy': '', 'tenant.privacy': '' } });
    const store = new DirectoryStore(mongoClient.db(DB));
    expect((await store.load('t-policy'))?.document.tenant).toMatchObject({
      outboundPolicy: DEFAULT_POLICY,
      privacy: { retentionDays: 90, aggregateOnlyStatistics: false },
    });
  });
});

describe('per-call lookups over NATS', () => {
  it('resolves main, direct-dial and fax numbers to their entry points', async () => {
    expect(await lookups.resolveNumber({ tenantId: 't-kropp', number: '+49462472101' })).toEqual({
      tenantId: 't-kropp',
      matchedNumber: '+49462472',
      kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: '101' },
      siteId: 'amt-kropp',
      staffId: 's-101',
    });
    expect(await lookups.resolveNumber({ tenantId: 't-kropp', number: '+49462472999' })).toMatchObject({
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target: 'zentrale' },
      staffId: '',
    });
    expect(await lookups.resolveNumber({ tenantId: 't-kropp', number: '+4946247299' })).toMatchObject({
      kind: NumberKind.NUMBER_KIND_FAX,
      entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT, target: 'buergerbuero' },
    });
    expect(await statusOf(lookups.resolveNumber({ tenantId: 't-kropp', number: '+4940123456' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: '+4940123456 is not a number of tenant t-kropp',
    });
  });

  it('answers open, closed and holiday in Europe/Berlin with Schleswig-Holstein holidays', async () => {
    const open = (department: string, iso: string) =>
      lookups.isOpen({ tenantId: 't-kropp', departmentId: department, siteId: '', ...at(iso) });
    // Saturday hours 09:00–11:00, but 31 October is Reformationstag in Schleswig-Holstein.
    expect(await open('buergerbuero', '2026-10-31T08:30:00Z')).toEqual({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: 'Reformationstag',
      localTime: '2026-10-31T09:30',
    });
    expect((await open('buergerbuero', '2026-11-07T08:30:00Z')).state).toBe(OpenState.OPEN_STATE_OPEN);
    expect(await open('buergerbuero', '2026-11-07T10:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_CLOSED,
      reason: 'outside opening hours',
      localTime: '2026-11-07T11:00',
    });
    // Summer time: 08:00 in Kropp is 06:00 UTC.
    expect((await open('standesamt', '2026-07-06T06:00:00Z')).state).toBe(OpenState.OPEN_STATE_OPEN);
    expect((await open('standesamt', '2026-07-06T05:59:00Z')).state).toBe(OpenState.OPEN_STATE_CLOSED);
    expect(await open('bauhof', '2026-12-25T09:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: '1. Weihnachtstag',
    });
    expect(await open('standesamt', '2026-06-19T08:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: 'closing day: Betriebsausflug',
    });
    // The registry office's own closing day (Friday): the citizens' office beside it is open.
    expect(await open('standesamt', '2026-09-04T08:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: 'closing day: Fortbildung Standesamt',
    });
    expect((await open('buergerbuero', '2026-09-04T08:00:00Z')).state).toBe(OpenState.OPEN_STATE_OPEN);
    // 24 December repeats every year (a Friday in 2027).
    expect(await open('buergerbuero', '2027-12-24T08:00:00Z')).toMatchObject({
      state: OpenState.OPEN_STATE_HOLIDAY,
      reason: 'closing day: Heiligabend',
    });
    const kita = await lookups.isOpen({
      tenantId: 't-kropp',
      departmentId: '',
      siteId: 'kita-alt-bennebek',
      ...at('2026-07-20T08:00:00Z'),
    });
    expect(kita).toMatchObject({ state: OpenState.OPEN_STATE_HOLIDAY, reason: 'closing day: Sommerschließzeit' });
    expect((await statusOf(open('nope', '2026-07-06T06:00:00Z'))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('serves another replica’s changes from memory once the change event arrives', async () => {
    await operator.createNumber({
      tenantId: 't-test',
      number: number({
        number: '+4943319977',
        entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: '11' },
      }),
    });
    const resolved = await eventually(
      () =>
        replicaApi.resolveNumber({ tenantId: 't-test', number: '+4943319977' }).then(
          (answer) => answer,
          () => undefined,
        ),
      'the replica to learn the new number',
    );
    expect(resolved.entryPoint).toEqual({ kind: EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: '11' });
  });
});

describe('cache convergence', () => {
  it('a replica that missed a change event catches up on its periodic reload', async () => {
    const store = new DirectoryStore(mongoClient.db(DB));
    const current = (await store.load('t-test'))!.document.numbers.find((entry) => entry.number === '+4943319977')!;
    // Written behind the service's back: no change event is published.
    await store.replace('t-test', 'numbers', { ...current, entryPoint: { kind: 'department', target: 'meldeamt' } });
    const resolved = await eventually(async () => {
      const answer = await operator.resolveNumber({ tenantId: 't-test', number: '+4943319977' });
      return answer.entryPoint?.kind === EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT ? answer : undefined;
    }, 'the periodic reload');
    expect(resolved.entryPoint?.target).toBe('meldeamt');
  });
});

describe('snapshots in the directory-snapshots bucket', () => {
  const snapshotOf = async (tenantId: string) => {
    const entry = await (await openSnapshotBucket(caller)).get(tenantId);
    return entry?.operation === 'PUT' ? directorySnapshotV1.TenantSnapshot.decode(entry.value) : undefined;
  };

  it('holds the demo tenant, whose snapshot answers every look-up exactly as the directory does', async () => {
    const snapshot = (await snapshotOf('t-kropp'))!;
    expect(snapshot).toMatchObject({ tenantId: 't-kropp', tenant: { name: 'Amt Kropp-Stapelholm' } });
    expect(snapshot.sites).toHaveLength(47);
    expect(snapshot.staff).toHaveLength(60);
    const model = new DirectoryModel(snapshot);
    const answer = (work: () => unknown) => {
      try {
        return work();
      } catch (error) {
        return { code: (error as grpc.ServiceError).code, details: (error as grpc.ServiceError).details };
      }
    };
    const dialled = [
      ...snapshot.numbers.map((entry) => entry.number),
      ...snapshot.staff.map((member) => `+49462472${member.extension}`),
      '+49462472999',
      '+4940123456',
    ];
    for (const number of dialled) {
      const request = { tenantId: 't-kropp', number };
      const fromDirectory = await lookups.resolveNumber(request).catch((error: grpc.ServiceError) => ({
        code: error.code,
        details: error.details,
      }));
      expect(
        answer(() => resolveNumber(model, request)),
        number,
      ).toEqual(fromDirectory);
    }
    const at = new Date('2026-11-07T08:30:00Z');
    for (const departmentId of snapshot.departments.map((entry) => entry.departmentId)) {
      const request = { tenantId: 't-kropp', departmentId, siteId: '', at };
      expect(isOpen(model, request), departmentId).toEqual(await lookups.isOpen(request));
    }
  });

  it('has a change in the bucket by the time the write returns, and a deleted tenant leaves it', async () => {
    await operator.createTenant({
      tenantId: 't-snap',
      tenant: directoryV1.Tenant.fromPartial({ tenantId: 't-snap', name: 'Gemeinde Snap', federalState: 'SH' }),
    });
    const created = (await snapshotOf('t-snap'))!;
    expect(created.tenant?.name).toBe('Gemeinde Snap');
    await operator.createSite({ tenantId: 't-snap', site: site({ siteId: 'schule' }) });
    const changed = (await snapshotOf('t-snap'))!;
    expect(changed.sites.map((entry) => entry.siteId)).toEqual(['schule']);
    expect(Number(changed.revision)).toBeGreaterThan(Number(created.revision));
    expect(changed.publishedAt).toBeInstanceOf(Date);

    await operator.deleteTenant({ tenantId: 't-snap' });
    expect(await snapshotOf('t-snap')).toBeUndefined();
  });

  it('loads every tenant at start even when their snapshots cannot be written, naming each', async () => {
    // A replica with a bucket of its own (empty: every snapshot must be written) whose NATS server
    // would take none; loadAll needs no events or credentials.
    const replicaDirectory = new Directory(
      new DirectoryStore(mongoClient.db(DB)),
      new DirectoryCache(),
      {} as never,
      {} as never,
      {} as never,
      { kv: await new Kvm(caller.js).create('test-snapshots', { history: 1 }), maxPayload: () => 10 },
    );
    const failures = await replicaDirectory.loadAll();
    const tenants = replicaDirectory.cache.tenantIds().sort();
    expect(tenants).toEqual(expect.arrayContaining(['t-kropp', 't-test']));
    expect(failures.map((failure) => failure.tenantId).sort()).toEqual(tenants);
    expect(failures.every((failure) => failure.error instanceof SnapshotTooLargeError)).toBe(true);
    expect(replicaDirectory.cache.get('t-kropp')?.model.resolve('+494624720')?.number.entryPoint?.target).toBe(
      'main-menu',
    );
  });

  it('writes a snapshot that went missing again on its periodic pass, as at start', async () => {
    const bucket = await openSnapshotBucket(caller);
    await bucket.delete('t-kropp');
    const restored = await eventually(() => snapshotOf('t-kropp'), 'the periodic pass to write t-kropp again');
    expect(restored.staff).toHaveLength(60);
  });
});

describe('sb CLI', () => {
  /** Runs `sb …` against the service (SB_DIRECTORY_ADDR) and returns what it printed. */
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

  it('exports, imports, and lists departments and agents', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sb-directory-'));
    try {
      const file = path.join(dir, 't-kropp.yaml');
      expect(await sb('tenant', 'export', '--tenant', 't-kropp', '--out', file)).toBe(`saved t-kropp to ${file}\n`);
      expect(await sb('tenant', 'import', '--file', file)).toMatch(
        /^imported t-kropp: 47 sites, 30 numbers, 9 departments, 60 staff \(version [0-9a-f-]{36}\)\n$/,
      );
      const departments = (await sb('departments', '--tenant', 't-kropp')).split('\n');
      expect(departments[0]).toBe('ID\tNAME\tSTRATEGY\tMEMBERS\tRING\tMAX WAIT\tOVERFLOW');
      expect(departments.find((line) => line.startsWith('fischereischeine\t'))).toMatch(
        /^fischereischeine\tFischereischeine\tskills\t.+\t20s\t300s\tdepartment:buergerbuero$/,
      );
      const agents = JSON.parse(await sb('agents', '--tenant', 't-kropp', '--json')) as Array<{ staffId: string }>;
      expect(agents).toHaveLength(60);
      expect(agents[0]).toMatchObject({ staffId: 's-101', extension: '101' });
      const lines = (await sb('agents', '--tenant', 't-kropp')).trim().split('\n');
      expect(lines).toHaveLength(61);
      expect(lines.filter((line) => /\thome office \+49151\d{8}$/.test(line)).length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shows and changes the outbound policy and site overrides (sb outbound)', async () => {
    const header = 'SCOPE\tPREMIUM\tMASS TRAFFIC\tDIRECTORY ENQUIRIES\tINTERNATIONAL';
    const shown = (await sb('outbound', 'show', '--tenant', 't-kropp')).trim().split('\n');
    expect(shown.slice(0, 3)).toEqual([
      header,
      'tenant\tbarred\tbarred\tbarred\tallowed',
      'site bauhof-bergenhusen\tbarred\tbarred\tbarred\tbarred',
    ]);
    expect(shown.filter((line) => line.startsWith('site bauhof-'))).toHaveLength(6);
    expect(shown.at(-1)).toBe('Sites not listed follow the tenant. 110 and 112 are always allowed.');

    expect(await sb('outbound', 'set', '--tenant', 't-kropp', '--directory-enquiries', 'allow')).toBe(
      `${header}\ntenant\tbarred\tbarred\tallowed\tallowed\n`,
    );
    // A site without an override starts from the tenant's policy.
    expect(await sb('outbound', 'set', '--tenant', 't-kropp', '--site', 'amt-kropp', '--international', 'bar')).toBe(
      `${header}\nsite amt-kropp\tbarred\tbarred\tallowed\tbarred\n`,
    );
    const json = JSON.parse(await sb('outbound', 'show', '--tenant', 't-kropp', '--json')) as {
      tenant: object;
      sites: Record<string, object>;
    };
    expect(json.tenant).toEqual({ allowDirectoryEnquiries: true });
    expect(json.sites['amt-kropp']).toEqual({ allowDirectoryEnquiries: true, barInternational: true });
    expect(await sb('outbound', 'clear', '--tenant', 't-kropp', '--site', 'amt-kropp')).toBe(
      "site amt-kropp follows the tenant's outbound policy\n",
    );
    expect(
      (await operator.getSite({ tenantId: 't-kropp', siteId: 'amt-kropp' })).site?.outboundOverride,
    ).toBeUndefined();
    await expect(sb('outbound', 'set', '--tenant', 't-kropp')).rejects.toThrow(
      /^nothing to change: give at least one of/,
    );
    await sb('outbound', 'set', '--tenant', 't-kropp', '--directory-enquiries', 'bar');
    expect((await operator.getTenant({ tenantId: 't-kropp' })).tenant?.outboundPolicy).toEqual({
      allowPremium: false,
      allowMassTraffic: false,
      allowDirectoryEnquiries: false,
      barInternational: false,
    });
  });
});
