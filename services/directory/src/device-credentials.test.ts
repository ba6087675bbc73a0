import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Subscription } from '@nats-io/nats-core';
import { createProgram } from '@switchboard/cli';
import { directoryEventsV1, directoryV1, type directoryServiceV1 } from '@switchboard/proto';
import {
  ConfigError,
  connectNats,
  createLogger,
  loadConfig,
  type NatsHandle,
  type RunningService,
} from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer, TESTER } from '@switchboard/testkit';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DEVICE_SECRET_KEY,
  TOKENS,
  directoryApi,
  startDirectory,
  statusOf,
  token,
  type DirectoryApi,
} from '../test/harness.js';
import { directoryConfigSchema } from './config.js';
import { digestHa1 } from './sip-digest.js';

const DB = 'directory_credentials_test';
const { ChangeKind } = directoryEventsV1;

let nats: NatsServer;
let mongo: MongoServer;
let service: RunningService;
let caller: NatsHandle;
let mongoClient: MongoClient;
let subscription: Subscription;
const clients: Array<{ close(): void }> = [];
let operator: DirectoryApi;
let adapter: DirectoryApi;
let devAdmin: DirectoryApi;
let devAgent: DirectoryApi;

/** Staff events as they arrive; `staffEvent` waits for a matching one without polling. */
const staffEvents: directoryEventsV1.StaffChanged[] = [];
let wake: (() => void) | undefined;
async function staffEvent(
  match: (event: directoryEventsV1.StaffChanged) => boolean,
): Promise<directoryEventsV1.StaffChanged> {
  for (;;) {
    const found = staffEvents.find(match);
    if (found) return found;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

async function apiFor(principal: Parameters<typeof token>[0]): Promise<DirectoryApi> {
  const connection = directoryApi(service.grpcPort!, await token(principal));
  clients.push(connection);
  return connection.api;
}

const member = (staffId: string, extension: string, devices: string[]) => ({
  staffId,
  displayName: `Person ${staffId}`,
  extension,
  devices,
});
const staffMessage = (...args: Parameters<typeof member>) => directoryV1.Staff.fromPartial(member(...args));
const documentOf = (tenantId: string, staff: ReturnType<typeof member>[]) =>
  JSON.stringify({ tenant: { tenantId, name: `Amt ${tenantId}`, federalState: 'SH' }, staff });

const DEV_STAFF = [member('s-1', '101', ['dev-101']), member('s-2', '102', ['dev-102', 'dev-102b'])];

async function credentials(tenantId = 't-dev'): Promise<Map<string, directoryServiceV1.DeviceCredential>> {
  const { devices } = await adapter.listDeviceCredentials({ tenantId });
  return new Map(devices.map((device) => [device.deviceId, device]));
}

const storedRows = (tenantId: string) =>
  mongoClient.db(DB).collection('directory_device_credentials').find({ tenantId }).toArray();

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  service = await startDirectory({ nats, mongo: mongo.url, db: DB });
  caller = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'adapter-test',
    logger: createLogger({ service: 't', level: 'silent' }),
  });
  subscription = caller.connection.subscribe('sb.*.directory.staff_changed', {
    callback: (error, message) => {
      if (error) return;
      staffEvents.push(directoryEventsV1.StaffChanged.decode(message.data));
      wake?.();
    },
  });
  await caller.connection.flush();
  mongoClient = await MongoClient.connect(mongo.url);
  operator = await apiFor({ subject: 'ops', tenantId: 'provider', role: 'operator' });
  adapter = await apiFor({ subject: 'ari-adapter', tenantId: 'provider', role: 'service' });
  devAdmin = await apiFor({ subject: 'anna', tenantId: 't-dev', role: 'admin' });
  devAgent = await apiFor({ subject: 'ben', tenantId: 't-dev', role: 'agent' });
  await operator.importTenant({ tenantId: 't-dev', document: documentOf('t-dev', DEV_STAFF) });
  await operator.importTenant({
    tenantId: 't-other',
    document: documentOf('t-other', [member('s-9', '201', ['other-201'])]),
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  subscription?.unsubscribe();
  await mongoClient?.close();
  await caller?.connection.close();
  await service?.shutdown('test over');
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('HA1', () => {
  it('is RFC 2617’s MD5 of username:realm:password in lowercase hex', () => {
    expect(digestHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe('939e7578ed9e3c518a452acee763bce9');
  });
});

describe('device credentials', () => {
  it('exist for every imported device, stay the same from list to list and across a re-import', async () => {
    const listed = await credentials();
    expect([...listed.keys()]).toEqual(['dev-101', 'dev-102', 'dev-102b']);
    expect(listed.get('dev-102b')).toEqual({
      deviceId: 'dev-102b',
      staffId: 's-2',
      username: 'dev-102b',
      realm: 'asterisk',
      md5Cred: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(new Set([...listed.values()].map((device) => device.md5Cred)).size).toBe(3);
    expect(await credentials()).toEqual(listed);
    // The import told whoever provisions devices, per staff member.
    await staffEvent((event) => event.meta?.tenantId === 't-dev' && event.staffId === 's-2');

    const exported = (await operator.exportTenant({ tenantId: 't-dev', format: 0 })).document;
    for (const device of listed.values()) expect(exported).not.toContain(device.md5Cred);
    await operator.importTenant({ tenantId: 't-dev', document: exported });
    expect(await credentials()).toEqual(listed);
  });

  it('rotate returns a password whose HA1 is the listed md5_cred, and tells the adapter', async () => {
    const before = await credentials();
    staffEvents.length = 0;
    const rotated = await devAdmin.rotateDevicePassword({ tenantId: 't-dev', deviceId: 'dev-101' });
    expect(rotated).toMatchObject({ deviceId: 'dev-101', username: 'dev-101' });
    expect(rotated.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const after = await credentials();
    expect(after.get('dev-101')!.md5Cred).toBe(digestHa1('dev-101', 'asterisk', rotated.password));
    expect(after.get('dev-101')!.md5Cred).not.toBe(before.get('dev-101')!.md5Cred);
    expect(after.get('dev-102')).toEqual(before.get('dev-102'));
    expect(await credentials()).toEqual(after);

    const event = await staffEvent((entry) => entry.staffId === 's-1');
    expect(event).toMatchObject({
      meta: { tenantId: 't-dev', producer: 'directory' },
      change: ChangeKind.CHANGE_KIND_UPDATED,
      staff: { staffId: 's-1', devices: ['dev-101'] },
    });

    // At rest: sealed, with the key's id; neither the HA1 nor the password appears.
    const rows = await storedRows('t-dev');
    expect(rows).toHaveLength(3);
    const stored = JSON.stringify(rows);
    for (const device of after.values()) expect(stored).not.toContain(device.md5Cred);
    expect(stored).not.toContain(rotated.password);
    expect(rows[0]!['ha1']).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
      iv: expect.any(String),
      tag: expect.any(String),
      data: expect.any(String),
    });
  });

  it('follow the devices: added with a device, kept when unchanged, removed with the device or the person', async () => {
    const before = await credentials();
    staffEvents.length = 0;
    await devAdmin.updateStaff({ tenantId: 't-dev', staff: staffMessage('s-1', '101', ['dev-101', 'dev-101b']) });
    const added = await credentials();
    expect(added.get('dev-101b')).toMatchObject({ staffId: 's-1', md5Cred: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(added.get('dev-101')).toEqual(before.get('dev-101'));
    await staffEvent((event) => event.staffId === 's-1' && event.staff?.devices.length === 2);

    await devAdmin.updateStaff({ tenantId: 't-dev', staff: staffMessage('s-1', '101', ['dev-101']) });
    expect([...(await credentials()).keys()]).toEqual(['dev-101', 'dev-102', 'dev-102b']);

    await devAdmin.createStaff({ tenantId: 't-dev', staff: staffMessage('s-3', '103', ['dev-103']) });
    expect((await credentials()).get('dev-103')?.staffId).toBe('s-3');
    await devAdmin.deleteStaff({ tenantId: 't-dev', staffId: 's-3' });
    await staffEvent((event) => event.staffId === 's-3' && event.change === ChangeKind.CHANGE_KIND_DELETED);
    expect((await credentials()).has('dev-103')).toBe(false);
    expect((await storedRows('t-dev')).map((row) => row['deviceId']).sort()).toEqual([
      'dev-101',
      'dev-102',
      'dev-102b',
    ]);

    // Import without s-2: their devices' credentials go, and s-2's removal is announced.
    staffEvents.length = 0;
    await operator.importTenant({ tenantId: 't-dev', document: documentOf('t-dev', [DEV_STAFF[0]!]) });
    expect([...(await credentials()).keys()]).toEqual(['dev-101']);
    await staffEvent((event) => event.staffId === 's-2' && event.change === ChangeKind.CHANGE_KIND_DELETED);
    await operator.importTenant({ tenantId: 't-dev', document: documentOf('t-dev', DEV_STAFF) });
  });

  it('refuses a device given to two people', async () => {
    expect(
      await statusOf(devAdmin.createStaff({ tenantId: 't-dev', staff: staffMessage('s-4', '104', ['dev-101']) })),
    ).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'staff.devices: "dev-101" is used more than once' });
  });

  it('are listed for services and operators only; passwords are rotated by the tenant’s admins and operators', async () => {
    const denied = (call: Promise<unknown>) => statusOf(call).then((status) => status.code);
    expect(await denied(devAdmin.listDeviceCredentials({ tenantId: 't-dev' }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await denied(devAgent.listDeviceCredentials({ tenantId: 't-dev' }))).toBe(grpc.status.PERMISSION_DENIED);
    expect((await operator.listDeviceCredentials({ tenantId: 't-dev' })).devices).toHaveLength(3);
    expect(await statusOf(devAgent.rotateDevicePassword({ tenantId: 't-dev', deviceId: 'dev-101' }))).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: 'agent may not call DirectoryService/RotateDevicePassword (allowed: admin, operator)',
    });
    expect(await denied(adapter.rotateDevicePassword({ tenantId: 't-dev', deviceId: 'dev-101' }))).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(await denied(devAdmin.rotateDevicePassword({ tenantId: 't-other', deviceId: 'other-201' }))).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(await statusOf(devAdmin.rotateDevicePassword({ tenantId: 't-dev', deviceId: 'other-201' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: 'device other-201 not found in tenant t-dev',
    });
    expect(await denied(devAdmin.rotateDevicePassword({ tenantId: 't-dev', deviceId: 'nope' }))).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(await statusOf(devAdmin.rotateDevicePassword({ tenantId: 't-dev', deviceId: '' }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'device_id is required',
    });
    expect(await denied(adapter.listDeviceCredentials({ tenantId: 't-none' }))).toBe(grpc.status.NOT_FOUND);
    expect((await operator.rotateDevicePassword({ tenantId: 't-other', deviceId: 'other-201' })).password).toHaveLength(
      24,
    );
  });

  it('`sb device rotate-password` prints the new password once', async () => {
    vi.stubEnv('SB_DIRECTORY_ADDR', `127.0.0.1:${service.grpcPort}`);
    vi.stubEnv('AUTH_SIGNING_KEY', TOKENS.issuerEnv.AUTH_SIGNING_KEY);
    vi.stubEnv('SB_TOKEN', '');
    const printed: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await createProgram()
        .exitOverride()
        .parseAsync(['device', 'rotate-password', '--tenant', 't-dev', 'dev-102'], { from: 'user' });
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }
    const [first, note] = printed.join('').split('\n');
    const password = /^device dev-102: username dev-102, password ([A-Za-z0-9_-]{24})$/.exec(first!)?.[1];
    expect(password).toBeDefined();
    expect(note).toMatch(/not shown again/);
    expect((await credentials()).get('dev-102')!.md5Cred).toBe(digestHa1('dev-102', 'asterisk', password!));
  });

  it('go with their tenant', async () => {
    expect(await storedRows('t-other')).toHaveLength(1);
    await operator.deleteTenant({ tenantId: 't-other' });
    expect(await storedRows('t-other')).toHaveLength(0);
    await staffEvent((event) => event.meta?.tenantId === 't-other' && event.change === ChangeKind.CHANGE_KIND_DELETED);
  });
});

describe('the credential key', () => {
  it('is required and must be 32 bytes', async () => {
    expect(() => loadConfig(directoryConfigSchema, {})).toThrow(/DEVICE_SECRET_KEY: is required but not set/);
    expect(() => loadConfig(directoryConfigSchema, { DEVICE_SECRET_KEY: 'abcd' })).toThrow(ConfigError);
    expect(() =>
      loadConfig(directoryConfigSchema, { DEVICE_SECRET_KEY: randomBytes(32).toString('base64') }),
    ).not.toThrow();
    await expect(
      startDirectory({ nats, mongo: mongo.url, db: DB }, { DEVICE_SECRET_KEY: randomBytes(16).toString('hex') }),
    ).rejects.toThrow(/DEVICE_SECRET_KEY: must be 32 bytes/);
  });

  it('can be replaced: a replica with the new key and the old one as previous reseals every record', async () => {
    const listed = await credentials();
    const newKey = randomBytes(32).toString('hex');
    const next = await startDirectory(
      { nats, mongo: mongo.url, db: DB },
      { DEVICE_SECRET_KEY: newKey, DEVICE_SECRET_KEYS_PREVIOUS: DEVICE_SECRET_KEY },
    );
    try {
      const newKeyId = createHash('sha256').update(Buffer.from(newKey, 'hex')).digest('hex').slice(0, 16);
      expect(new Set((await storedRows('t-dev')).map((row) => (row['ha1'] as { keyId: string }).keyId))).toEqual(
        new Set([newKeyId]),
      );
      const connection = directoryApi(next.grpcPort!, await token({ subject: 'a', tenantId: 'p', role: 'service' }));
      clients.push(connection);
      const { devices } = await connection.api.listDeviceCredentials({ tenantId: 't-dev' });
      expect(devices).toEqual([...listed.values()]);
      // The replica still on the old key cannot open them: a clear error, no wrong HA1.
      expect((await statusOf(adapter.listDeviceCredentials({ tenantId: 't-dev' }))).code).toBe(grpc.status.INTERNAL);
      // And a replica started with neither key refuses to start rather than serve what it cannot open.
      await expect(
        startDirectory({ nats, mongo: mongo.url, db: DB }, { DEVICE_SECRET_KEY: randomBytes(32).toString('hex') }),
      ).rejects.toThrow(/DEVICE_SECRET_KEY or DEVICE_SECRET_KEYS_PREVIOUS/);
    } finally {
      await next.shutdown('test over');
    }
  });
});
