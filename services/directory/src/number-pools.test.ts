import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Subscription } from '@nats-io/nats-core';
import { directoryEventsV1, directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { directoryRpcClient, type DirectoryRpcClient } from '@switchboard/rpc-clients';
import { connectNats, createLogger, type NatsHandle, type RunningService } from '@switchboard/service-kit';
import { eventually, startMongo, startNats, TESTER, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { createProgram } from '@switchboard/cli';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOKENS, directoryApi, startDirectory, statusOf, token, type DirectoryApi } from '../test/harness.js';

const { EntryPointKind, NumberKind } = directoryV1;
const DEMO_FILE = new URL('../demo/amt-kropp.yaml', import.meta.url);
const KROPP = 't-kropp';
const OTHER = 't-nachbar';
// The example: +494624720-10..99, inside the demo's direct-dial range +49462472 (3 digits).
const POOL = { poolId: 'kropp-1', name: 'Kropp Block 1', blocks: [{ first: '+49462472010', last: '+49462472099' }] };
const toDepartment = (target: string) => ({ kind: EntryPointKind.ENTRY_POINT_KIND_DEPARTMENT, target });

let nats: NatsServer;
let mongo: MongoServer;
let service: RunningService;
let caller: NatsHandle;
let lookups: DirectoryRpcClient;
let events: Subscription;
const received: Array<{ subject: string; data: Uint8Array }> = [];
const clients: Array<{ close(): void }> = [];
let operator: DirectoryApi;
let admin: DirectoryApi;

async function apiFor(principal: Parameters<typeof token>[0]): Promise<DirectoryApi> {
  const connection = directoryApi(service.grpcPort!, await token(principal));
  clients.push(connection);
  return connection.api;
}

const request = (fields: Partial<directoryServiceV1.RequestPoolNumbersRequest>) =>
  directoryServiceV1.RequestPoolNumbersRequest.fromPartial({ tenantId: KROPP, ...fields });
const releaseOf = (number: string, allowUnreachable = false) => ({ tenantId: KROPP, number, allowUnreachable });
const poolStatus = async () => (await admin.listNumberPools({ tenantId: KROPP })).pools[0]!;
const numbersOf = async (tenantId = KROPP) =>
  (await operator.listNumbers({ tenantId })).numbers.map((number) => number.number);

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  service = await startDirectory({ nats, mongo: mongo.url, db: 'directory_pools_test' });
  caller = await connectNats({
    url: nats.url,
    credentials: nats.credentials(TESTER),
    name: 'pool-test',
    logger: createLogger({ service: 't', level: 'silent' }),
  });
  events = caller.connection.subscribe(`sb.${KROPP}.directory.number_changed`, {
    callback: (error, message) => {
      if (!error) received.push({ subject: message.subject, data: message.data });
    },
  });
  lookups = directoryRpcClient(caller);
  operator = await apiFor({ subject: 'ops', tenantId: 'provider', role: 'operator' });
  admin = await apiFor({ subject: 'anna', tenantId: KROPP, role: 'admin' });
  await operator.importTenant({ tenantId: KROPP, document: await readFile(DEMO_FILE, 'utf8') });
  // Extension 012 in the range +49462472: the pool number +49462472012 would hide it.
  await operator.createStaff({
    tenantId: KROPP,
    staff: directoryV1.Staff.fromPartial({ staffId: 's-pool', displayName: 'Piet Pool', extension: '012' }),
  });
  await operator.createTenant({
    tenantId: OTHER,
    tenant: directoryV1.Tenant.fromPartial({ tenantId: OTHER, name: 'Gemeinde Nachbar', federalState: 'SH' }),
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  events?.unsubscribe();
  await caller?.connection.close();
  await service?.shutdown('test over');
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('number pools', () => {
  it('the operator assigns a pool; the tenant admin lists it with what is free; nobody else may', async () => {
    const assigned = await operator.assignNumberPool({ tenantId: KROPP, pool: POOL });
    // 90 numbers, one of which would hide extension 012.
    expect(assigned.pool).toEqual({ pool: POOL, size: 90, inUse: [], free: 89 });
    expect(await admin.listNumberPools({ tenantId: KROPP })).toEqual({ pools: [assigned.pool] });

    expect((await statusOf(admin.assignNumberPool({ tenantId: KROPP, pool: POOL }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    const agent = await apiFor({ subject: 'ben', tenantId: KROPP, role: 'agent' });
    const supervisor = await apiFor({ subject: 'sue', tenantId: KROPP, role: 'supervisor', departments: ['bauhof'] });
    const otherAdmin = await apiFor({ subject: 'olaf', tenantId: OTHER, role: 'admin' });
    for (const api of [agent, supervisor]) {
      expect((await statusOf(api.listNumberPools({ tenantId: KROPP }))).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await statusOf(api.requestPoolNumbers(request({ count: 1 })))).code).toBe(grpc.status.PERMISSION_DENIED);
    }
    expect((await statusOf(otherAdmin.listNumberPools({ tenantId: KROPP }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await statusOf(otherAdmin.releasePoolNumber(releaseOf('+494624720')))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
  });

  it('refuses bad blocks and blocks that overlap another pool or another tenant, naming each', async () => {
    const bad = await statusOf(
      operator.assignNumberPool({
        tenantId: OTHER,
        pool: {
          poolId: 'Bad Id',
          name: '',
          blocks: [
            { first: '+49462472099', last: '+49462472010' },
            { first: '+4946247201', last: '+49462472019' },
            { first: '+4946', last: '+4946' },
            { first: 'abc', last: '+49x' },
          ],
        },
      }),
    );
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain('pool.poolId: must be 1–63 lowercase letters');
    expect(bad.details).toContain('pool.blocks[0].last: must not be below first');
    expect(bad.details).toContain('pool.blocks[1].last: must have as many digits as first');
    expect(bad.details).toContain('pool.blocks[2].first: must be a valid E.164 number');
    expect(bad.details).toContain('pool.blocks[3].first: must be E.164: "+" and digits');

    const huge = await statusOf(
      operator.assignNumberPool({
        tenantId: OTHER,
        pool: { poolId: 'huge', name: '', blocks: [{ first: '+49433310000000', last: '+49433319999999' }] },
      }),
    );
    expect(huge).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'pool.blocks: hold 10000000 numbers, at most 100000',
    });

    const overlapping = await statusOf(
      operator.assignNumberPool({
        tenantId: OTHER,
        pool: {
          poolId: 'nachbar',
          name: '',
          blocks: [
            { first: '+49462472090', last: '+49462472095' },
            { first: '+4946247200', last: '+4946247299' },
          ],
        },
      }),
    );
    expect(overlapping.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(overlapping.details).toContain('pool.blocks[0]: overlaps pool "kropp-1" of tenant t-kropp');
    expect(overlapping.details).toContain(
      'pool.blocks[0]: overlaps the direct-dial range +49462472000…+49462472999 of tenant t-kropp',
    );
    expect(overlapping.details).toContain('pool.blocks[1]: +4946247299 belongs to another tenant');
    expect((await operator.listNumberPools({ tenantId: OTHER })).pools).toEqual([]);
  });

  it('hands out the lowest free numbers as the tenant’s, published, routable and audited', async () => {
    received.length = 0;
    const { numbers } = await admin.requestPoolNumbers(
      request({ count: 3, entryPoint: toDepartment('buergerbuero'), siteId: 'amt-kropp' }),
    );
    // 012 would hide the extension of Piet Pool.
    expect(numbers.map((number) => number.number)).toEqual(['+49462472010', '+49462472011', '+49462472013']);
    expect(numbers[0]).toEqual({
      number: '+49462472010',
      kind: NumberKind.NUMBER_KIND_MAIN,
      rangeDigits: 0,
      siteId: 'amt-kropp',
      entryPoint: toDepartment('buergerbuero'),
    });
    expect(await poolStatus()).toMatchObject({ inUse: ['+49462472010', '+49462472011', '+49462472013'], free: 86 });

    const created = await eventually(() => (received.length >= 3 ? received : undefined), 'three number events');
    expect(
      created.map((entry) => {
        const event = directoryEventsV1.NumberChanged.decode(entry.data);
        return [event.change, event.number];
      }),
    ).toEqual([
      [directoryEventsV1.ChangeKind.CHANGE_KIND_CREATED, '+49462472010'],
      [directoryEventsV1.ChangeKind.CHANGE_KIND_CREATED, '+49462472011'],
      [directoryEventsV1.ChangeKind.CHANGE_KIND_CREATED, '+49462472013'],
    ]);
    // The exact number wins over the range: a call to it reaches the department, not an extension.
    expect(await lookups.resolveNumber({ tenantId: KROPP, number: '+49462472011' })).toMatchObject({
      matchedNumber: '+49462472011',
      entryPoint: toDepartment('buergerbuero'),
    });
    const entry = await eventually(
      async () =>
        (
          await admin.listAuditEntries(
            directoryServiceV1.ListAuditEntriesRequest.fromPartial({ tenantId: KROPP, subject: 'anna', pageSize: 10 }),
          )
        ).entries.find((candidate) => candidate.method === 'RequestPoolNumbers'),
      'the audit entry',
    );
    expect(entry).toMatchObject({ role: 'admin', service: 'directory' });
    expect(entry.summary).toContain('buergerbuero');
  });

  it('hands out one named number, and refuses one taken, outside the pool or hiding an extension', async () => {
    const { numbers } = await admin.requestPoolNumbers(
      request({
        number: '+49462472050',
        kind: NumberKind.NUMBER_KIND_FAX,
        entryPoint: { kind: EntryPointKind.ENTRY_POINT_KIND_FAX_DEPARTMENT, target: 'bauamt' },
      }),
    );
    expect(numbers).toMatchObject([{ number: '+49462472050', kind: NumberKind.NUMBER_KIND_FAX }]);

    const taken = await statusOf(
      admin.requestPoolNumbers(request({ number: '+49462472010', entryPoint: toDepartment('bauhof') })),
    );
    expect(taken).toEqual({
      code: grpc.status.ALREADY_EXISTS,
      details: 'number +49462472010 is already a number of the tenant',
    });
    const outside = await statusOf(
      admin.requestPoolNumbers(request({ number: '+49462472100', entryPoint: toDepartment('bauhof') })),
    );
    expect(outside).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "number: +49462472100 is not in the tenant's pools",
    });
    const hiding = await statusOf(
      admin.requestPoolNumbers(request({ number: '+49462472012', entryPoint: toDepartment('bauhof') })),
    );
    expect(hiding).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'number +49462472012 would hide extension 012 (Piet Pool) of the direct-dial range +49462472',
    });
  });

  it('adds nothing when the request cannot be met in full or a number would be invalid', async () => {
    const before = await numbersOf();
    const tooMany = await statusOf(
      admin.requestPoolNumbers(request({ count: 100, entryPoint: toDepartment('bauhof') })),
    );
    expect(tooMany).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: "only 85 free numbers in the tenant's pools, 100 requested",
    });
    const unknownPool = await statusOf(
      admin.requestPoolNumbers(request({ poolId: 'nope', count: 1, entryPoint: toDepartment('bauhof') })),
    );
    expect(unknownPool.code).toBe(grpc.status.NOT_FOUND);
    const dangling = await statusOf(admin.requestPoolNumbers(request({ count: 2, entryPoint: toDepartment('nope') })));
    expect(dangling.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(dangling.details).toContain('numbers[+49462472014].entryPoint.target: no department "nope"');
    const noTarget = await statusOf(admin.requestPoolNumbers(request({ count: 1 })));
    expect(noTarget).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'number.entryPoint: Invalid input: expected object, received undefined',
    });
    const range = await statusOf(
      admin.requestPoolNumbers(
        request({ count: 1, kind: NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE, entryPoint: toDepartment('bauhof') }),
      ),
    );
    expect(range.details).toBe('kind: must be main or fax (a direct-dial range is not taken from a pool)');
    const noCount = await statusOf(admin.requestPoolNumbers(request({ entryPoint: toDepartment('bauhof') })));
    expect(noCount.details).toBe('count: must be 1–100, or name a number');
    expect(await numbersOf()).toEqual(before);
  });

  it('releases a number back to the pool; the last number of a target only when confirmed', async () => {
    received.length = 0;
    const { released } = await admin.releasePoolNumber(releaseOf('+49462472010'));
    expect(released).toMatchObject({ number: '+49462472010', entryPoint: toDepartment('buergerbuero') });
    expect(await poolStatus()).toMatchObject({ inUse: ['+49462472011', '+49462472013', '+49462472050'], free: 86 });
    const deleted = await eventually(() => received[0], 'the number event');
    expect(directoryEventsV1.NumberChanged.decode(deleted.data)).toMatchObject({
      change: directoryEventsV1.ChangeKind.CHANGE_KIND_DELETED,
      number: '+49462472010',
    });
    // A call to it reaches the direct-dial range again (extension 010: nobody, so the range's target).
    expect(await lookups.resolveNumber({ tenantId: KROPP, number: '+49462472010' })).toMatchObject({
      matchedNumber: '+49462472',
      entryPoint: toDepartment('zentrale'),
    });

    await admin.releasePoolNumber(releaseOf('+49462472011'));
    // Bauamt's fax mailbox keeps +4946247298.
    await admin.releasePoolNumber(releaseOf('+49462472050'));
    await admin.updateNumber({
      tenantId: KROPP,
      number: directoryV1.PhoneNumber.fromPartial({
        number: '+49462472013',
        kind: NumberKind.NUMBER_KIND_MAIN,
        entryPoint: toDepartment('standesamt'),
      }),
    });
    const last = await statusOf(admin.releasePoolNumber(releaseOf('+49462472013')));
    expect(last.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(last.details).toContain('is the last number leading to the department "standesamt"');
    await admin.releasePoolNumber(releaseOf('+49462472013', true));
    // The department stays.
    expect((await admin.getDepartment({ tenantId: KROPP, departmentId: 'standesamt' })).department?.name).toBeTruthy();
    expect(await poolStatus()).toMatchObject({ inUse: [], free: 89 });

    const notPooled = await statusOf(admin.releasePoolNumber(releaseOf('+494624720')));
    expect(notPooled).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'number +494624720 is not from a number pool of the tenant (DeleteNumber removes it)',
    });
    expect((await statusOf(admin.releasePoolNumber(releaseOf('+49462472010')))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('keeps a pool while numbers from it are in use; a replacement must still cover them', async () => {
    await admin.requestPoolNumbers(request({ number: '+49462472099', entryPoint: toDepartment('bauhof') }));
    const shrunk = await statusOf(
      operator.assignNumberPool({
        tenantId: KROPP,
        pool: { ...POOL, blocks: [{ first: '+49462472010', last: '+49462472049' }] },
      }),
    );
    expect(shrunk).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'pool.blocks: no longer cover +49462472099, which the tenant uses; release them first',
    });
    const deleting = await statusOf(operator.deleteNumberPool({ tenantId: KROPP, poolId: 'kropp-1' }));
    expect(deleting).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'pool kropp-1 still has numbers in use: +49462472099; release them first',
    });
    const grown = await operator.assignNumberPool({
      tenantId: KROPP,
      pool: { ...POOL, name: 'Kropp', blocks: [{ first: '+49462472060', last: '+49462472099' }] },
    });
    expect(grown.pool).toMatchObject({ size: 40, inUse: ['+49462472099'], free: 39 });

    await admin.releasePoolNumber(releaseOf('+49462472099'));
    await operator.deleteNumberPool({ tenantId: KROPP, poolId: 'kropp-1' });
    expect((await admin.listNumberPools({ tenantId: KROPP })).pools).toEqual([]);
    const none = await statusOf(admin.requestPoolNumbers(request({ count: 1, entryPoint: toDepartment('bauhof') })));
    expect(none).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'tenant t-kropp has no number pool; the provider assigns one',
    });
  });
});

describe('sb numbers pool', () => {
  /** Runs `sb …` against the service as an operator (minted from the signing key) and returns what it printed. */
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

  it('assigns, lists, requests, releases and deletes', async () => {
    expect(
      await sb(
        'numbers',
        'pool',
        'assign',
        '--tenant',
        KROPP,
        '--pool',
        'kropp-2',
        '--name',
        'Block 2',
        '--block',
        '+494624720-10..19',
        '--block',
        '+49462472030',
      ),
    ).toBe('pool kropp-2 of t-kropp: 11 numbers, 10 free\n');
    expect(await sb('numbers', 'pool', 'request', '--tenant', KROPP, '--count', '2', '--to', 'department:bauhof')).toBe(
      '+49462472010\tdepartment:bauhof\n+49462472011\tdepartment:bauhof\n',
    );
    expect(await sb('numbers', 'pool', 'list', '--tenant', KROPP)).toBe(
      'POOL\tNAME\tBLOCKS\tSIZE\tFREE\tIN USE\n' +
        'kropp-2\tBlock 2\t+4946247201-0..9, +49462472030\t11\t8\t+49462472010, +49462472011\n',
    );
    expect(await sb('numbers', 'pool', 'release', '--tenant', KROPP, '--number', '+49462472010')).toBe(
      'released +49462472010 (it led to department:bauhof)\n',
    );
    await expect(sb('numbers', 'pool', 'delete', '--tenant', KROPP, '--pool', 'kropp-2')).rejects.toThrow(
      'FAILED_PRECONDITION: pool kropp-2 still has numbers in use: +49462472011; release them first',
    );
    await sb('numbers', 'pool', 'release', '--tenant', KROPP, '--number', '+49462472011');
    expect(await sb('numbers', 'pool', 'delete', '--tenant', KROPP, '--pool', 'kropp-2')).toBe(
      'pool kropp-2 of t-kropp deleted\n',
    );
    await expect(sb('numbers', 'pool', 'request', '--tenant', KROPP, '--to', 'department:bauhof')).rejects.toThrow(
      'give either --count or --number',
    );
  });
});
