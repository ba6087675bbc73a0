import * as grpc from '@grpc/grpc-js';
import { isOpen, resolveNumber } from '@switchboard/directory-cache';
import { directoryServiceV1 } from '@switchboard/proto';
import {
  DuplicateKeyError,
  GrpcStatusError,
  crossTenant,
  currentPrincipal,
  type RpcHandlers,
} from '@switchboard/service-kit';
import {
  departmentIn,
  departmentOut,
  numberIn,
  numberOut,
  poolNumberRequestIn,
  poolStatusOut,
  siteIn,
  siteOut,
  staffIn,
  staffOut,
  tenantIn,
  tenantOut,
} from './convert.js';
import { AlreadyExistsError, InUseError, type Directory } from './directory.js';
import { ValidationError } from './model.js';
import type { NumberPools } from './number-pools.js';
import type { NumberEraser } from './privacy-erase.js';
import { SecretBoxError } from './secret-box.js';
import { SnapshotTooLargeError } from './snapshot.js';
import { NotFoundError, type EntityKind } from './store.js';

type Definition = typeof directoryServiceV1.DirectoryServiceService;
export type DirectoryHandlers = RpcHandlers<Definition>;

function toStatusError(error: unknown): unknown {
  if (error instanceof ValidationError) return new GrpcStatusError(grpc.status.INVALID_ARGUMENT, error.message);
  if (error instanceof NotFoundError) return new GrpcStatusError(grpc.status.NOT_FOUND, error.message);
  if (error instanceof AlreadyExistsError) return new GrpcStatusError(grpc.status.ALREADY_EXISTS, error.message);
  if (error instanceof DuplicateKeyError) {
    return new GrpcStatusError(grpc.status.ALREADY_EXISTS, `already exists: ${JSON.stringify(error.key ?? {})}`);
  }
  if (error instanceof InUseError) return new GrpcStatusError(grpc.status.FAILED_PRECONDITION, error.message);
  // The change is stored; its snapshot is too big for NATS, which the message explains.
  if (error instanceof SnapshotTooLargeError) return new GrpcStatusError(grpc.status.RESOURCE_EXHAUSTED, error.message);
  // A stored credential this replica cannot open: a key missing from its configuration, or tampering.
  if (error instanceof SecretBoxError) return new GrpcStatusError(grpc.status.INTERNAL, error.message);
  return error;
}

/** Every request names its tenant: the policy's tenant check only applies to a non-empty tenant_id. */
function tenantOf(request: { tenantId: string }): string {
  if (!request.tenantId) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'tenant_id is required');
  return request.tenantId;
}

function requireKey(field: string, value: string): string {
  if (!value) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `${field} is required`);
  return value;
}

function handle<Req, Res>(work: (request: Req) => Promise<Res>): (request: Req) => Promise<Res> {
  return (request) =>
    work(request).catch((error: unknown) => {
      throw toStatusError(error);
    });
}

/** The admin API's handlers; `resolveNumber` and `isOpen` answer from memory only. */
export function createDirectoryHandlers(
  directory: Directory,
  pools: NumberPools,
  eraseNumber: NumberEraser,
): DirectoryHandlers {
  const read = <Req extends { tenantId: string }, Res>(work: (tenantId: string, request: Req) => Promise<Res>) =>
    handle(async (request: Req) => work(tenantOf(request), request));
  // Who may change what is policy.ts's, checked before a handler runs: a write needs only the tenant.
  const write = read;

  /** The entity in a create/update request, which must be present. */
  const body = <T>(field: string, value: T | undefined): T => {
    if (value === undefined) throw new ValidationError([`${field}: is required`]);
    return value;
  };

  const put =
    <K extends EntityKind>(kind: K, mode: 'create' | 'update', input: unknown) =>
    (tenantId: string) =>
      directory.put(tenantId, kind, input, mode);

  return {
    createTenant: write(async (tenantId, request: directoryServiceV1.CreateTenantRequest) => {
      const tenant = body('tenant', request.tenant);
      if (tenant.tenantId && tenant.tenantId !== tenantId)
        throw new ValidationError(['tenant.tenantId: must equal tenant_id']);
      return { tenant: tenantOut(await directory.createTenant(tenantIn({ ...tenant, tenantId }))) };
    }),
    updateTenant: write(async (tenantId, request: directoryServiceV1.UpdateTenantRequest) => {
      const tenant = body('tenant', request.tenant);
      if (tenant.tenantId && tenant.tenantId !== tenantId)
        throw new ValidationError(['tenant.tenantId: must equal tenant_id']);
      return { tenant: tenantOut(await directory.updateTenant(tenantIn({ ...tenant, tenantId }))) };
    }),
    getTenant: read(async (tenantId) => ({ tenant: tenantOut(await directory.getTenant(tenantId)) })),
    deleteTenant: write(async (tenantId) => {
      await directory.deleteTenant(tenantId);
      return {};
    }),
    listTenants: handle(async (request: directoryServiceV1.ListTenantsRequest) => {
      // The policy decides who may list; which tenants the answer holds depends on the caller's
      // role (an empty tenant_id means "all I may see"), so that part stays here.
      const principal = currentPrincipal();
      const visible = (tenantId: string) =>
        request.tenantId
          ? tenantId === request.tenantId
          : crossTenant(principal.role) || tenantId === principal.tenantId;
      const tenants = await directory.listTenants();
      return { tenants: tenants.filter((tenant) => visible(tenant.tenantId)).map(tenantOut) };
    }),

    createSite: write(async (tenantId, request: directoryServiceV1.CreateSiteRequest) => ({
      site: siteOut(await put('sites', 'create', siteIn(body('site', request.site)))(tenantId)),
    })),
    updateSite: write(async (tenantId, request: directoryServiceV1.UpdateSiteRequest) => ({
      site: siteOut(await put('sites', 'update', siteIn(body('site', request.site)))(tenantId)),
    })),
    getSite: read(async (tenantId, request: directoryServiceV1.GetSiteRequest) => ({
      site: siteOut(await directory.get(tenantId, 'sites', requireKey('site_id', request.siteId))),
    })),
    deleteSite: write(async (tenantId, request: directoryServiceV1.DeleteSiteRequest) => {
      await directory.remove(tenantId, 'sites', requireKey('site_id', request.siteId));
      return {};
    }),
    listSites: read(async (tenantId) => ({ sites: (await directory.list(tenantId, 'sites')).map(siteOut) })),

    createNumber: write(async (tenantId, request: directoryServiceV1.CreateNumberRequest) => ({
      number: numberOut(await put('numbers', 'create', numberIn(body('number', request.number)))(tenantId)),
    })),
    updateNumber: write(async (tenantId, request: directoryServiceV1.UpdateNumberRequest) => ({
      number: numberOut(await put('numbers', 'update', numberIn(body('number', request.number)))(tenantId)),
    })),
    getNumber: read(async (tenantId, request: directoryServiceV1.GetNumberRequest) => ({
      number: numberOut(await directory.get(tenantId, 'numbers', requireKey('number', request.number))),
    })),
    deleteNumber: write(async (tenantId, request: directoryServiceV1.DeleteNumberRequest) => {
      await directory.remove(tenantId, 'numbers', requireKey('number', request.number));
      return {};
    }),
    listNumbers: read(async (tenantId) => ({ numbers: (await directory.list(tenantId, 'numbers')).map(numberOut) })),

    assignNumberPool: write(async (tenantId, request: directoryServiceV1.AssignNumberPoolRequest) => ({
      pool: poolStatusOut(await pools.assign(tenantId, body('pool', request.pool))),
    })),
    listNumberPools: read(async (tenantId) => ({ pools: (await pools.list(tenantId)).map(poolStatusOut) })),
    deleteNumberPool: write(async (tenantId, request: directoryServiceV1.DeleteNumberPoolRequest) => {
      await pools.remove(tenantId, requireKey('pool_id', request.poolId));
      return {};
    }),
    requestPoolNumbers: write(async (tenantId, request: directoryServiceV1.RequestPoolNumbersRequest) => ({
      numbers: (await pools.request(tenantId, poolNumberRequestIn(request))).map(numberOut),
    })),
    releasePoolNumber: write(async (tenantId, request: directoryServiceV1.ReleasePoolNumberRequest) => ({
      released: numberOut(
        await pools.release(tenantId, requireKey('number', request.number), request.allowUnreachable),
      ),
    })),

    createDepartment: write(async (tenantId, request: directoryServiceV1.CreateDepartmentRequest) => ({
      department: departmentOut(
        await put('departments', 'create', departmentIn(body('department', request.department)))(tenantId),
      ),
    })),
    updateDepartment: write(async (tenantId, request: directoryServiceV1.UpdateDepartmentRequest) => ({
      department: departmentOut(
        await put('departments', 'update', departmentIn(body('department', request.department)))(tenantId),
      ),
    })),
    getDepartment: read(async (tenantId, request: directoryServiceV1.GetDepartmentRequest) => ({
      department: departmentOut(
        await directory.get(tenantId, 'departments', requireKey('department_id', request.departmentId)),
      ),
    })),
    deleteDepartment: write(async (tenantId, request: directoryServiceV1.DeleteDepartmentRequest) => {
      await directory.remove(tenantId, 'departments', requireKey('department_id', request.departmentId));
      return {};
    }),
    listDepartments: read(async (tenantId) => ({
      departments: (await directory.list(tenantId, 'departments')).map(departmentOut),
    })),

    createStaff: write(async (tenantId, request: directoryServiceV1.CreateStaffRequest) => ({
      staff: staffOut(await put('staff', 'create', staffIn(body('staff', request.staff)))(tenantId)),
    })),
    updateStaff: write(async (tenantId, request: directoryServiceV1.UpdateStaffRequest) => ({
      staff: staffOut(await put('staff', 'update', staffIn(body('staff', request.staff)))(tenantId)),
    })),
    getStaff: read(async (tenantId, request: directoryServiceV1.GetStaffRequest) => ({
      staff: staffOut(await directory.get(tenantId, 'staff', requireKey('staff_id', request.staffId))),
    })),
    deleteStaff: write(async (tenantId, request: directoryServiceV1.DeleteStaffRequest) => {
      await directory.remove(tenantId, 'staff', requireKey('staff_id', request.staffId));
      return {};
    }),
    listStaff: read(async (tenantId) => ({ staff: (await directory.list(tenantId, 'staff')).map(staffOut) })),

    importTenant: write(async (tenantId, request: directoryServiceV1.ImportTenantRequest) => {
      const { document, version } = await directory.importTenant(tenantId, request.document);
      return {
        sites: document.sites.length,
        numbers: document.numbers.length,
        departments: document.departments.length,
        staff: document.staff.length,
        version,
      };
    }),
    exportTenant: read(async (tenantId, request: directoryServiceV1.ExportTenantRequest) => ({
      document: await directory.exportTenant(
        tenantId,
        request.format === directoryServiceV1.DocumentFormat.DOCUMENT_FORMAT_JSON ? 'json' : 'yaml',
        request.includeAudit,
      ),
    })),
    listAuditEntries: read(async (tenantId, request: directoryServiceV1.ListAuditEntriesRequest) =>
      directory.audit.list({
        tenantId,
        since: request.since,
        until: request.until,
        service: request.service,
        subject: request.subject,
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      }),
    ),

    listDeviceCredentials: handle(async (request: directoryServiceV1.ListDeviceCredentialsRequest) => {
      const tenantId = tenantOf(request);
      return { devices: await directory.listDeviceCredentials(tenantId) };
    }),
    rotateDevicePassword: handle(async (request: directoryServiceV1.RotateDevicePasswordRequest) => {
      const tenantId = tenantOf(request);
      const deviceId = requireKey('device_id', request.deviceId);
      return { deviceId, ...(await directory.rotateDevicePassword(tenantId, deviceId)) };
    }),

    // The same code answers routing's look-ups from the published snapshot (libs/directory-cache).
    resolveNumber: read(async (tenantId, request: directoryServiceV1.ResolveNumberRequest) =>
      resolveNumber(directory.cache.get(tenantId)?.model, request),
    ),
    eraseNumber: handle(async (request: directoryServiceV1.EraseNumberRequest) => {
      const tenantId = tenantOf(request);
      return eraseNumber(tenantId, requireKey('number', request.number));
    }),
    isOpen: read(async (tenantId, request: directoryServiceV1.IsOpenRequest) =>
      isOpen(directory.cache.get(tenantId)?.model, request),
    ),
  };
}
