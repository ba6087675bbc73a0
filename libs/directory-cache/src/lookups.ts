import * as grpc from '@grpc/grpc-js';
import type { OpenState } from '@switchboard/opening-hours';
import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';
import type { DirectoryModel } from './model.js';

// ResolveNumber and IsOpen answered from a tenant's model: the directory's handlers and routing's
// in-memory look-ups both call these, so they give the same answers and the same errors.

const OPEN_STATES: Record<OpenState, directoryServiceV1.OpenState> = {
  open: directoryServiceV1.OpenState.OPEN_STATE_OPEN,
  closed: directoryServiceV1.OpenState.OPEN_STATE_CLOSED,
  holiday: directoryServiceV1.OpenState.OPEN_STATE_HOLIDAY,
};

const notFound = (message: string) => new GrpcStatusError(grpc.status.NOT_FOUND, message);

/** `model` is the request's tenant, undefined when there is no such tenant. */
export function resolveNumber(
  model: DirectoryModel | undefined,
  request: directoryServiceV1.ResolveNumberRequest,
): directoryServiceV1.ResolveNumberResponse {
  const { tenantId } = request;
  if (!request.number) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'number is required');
  const resolution = model?.resolve(request.number);
  if (!resolution) throw notFound(`${request.number} is not a number of tenant ${tenantId}`);
  const { number, staff } = resolution;
  return {
    tenantId,
    matchedNumber: number.number,
    kind: number.kind,
    // A direct-dial call to someone's extension reaches that person, not the range's entry point.
    entryPoint: staff
      ? { kind: directoryV1.EntryPointKind.ENTRY_POINT_KIND_EXTENSION, target: staff.extension }
      : number.entryPoint,
    siteId: staff?.siteId || number.siteId,
    staffId: staff?.staffId ?? '',
  };
}

/** A department's or a site's state at `request.at` (now when unset). */
export function isOpen(
  model: DirectoryModel | undefined,
  request: directoryServiceV1.IsOpenRequest,
): directoryServiceV1.IsOpenResponse {
  const { tenantId } = request;
  if (!model) throw notFound(`tenant ${tenantId} not found`);
  if (Boolean(request.departmentId) === Boolean(request.siteId)) {
    throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'department_id, site_id: exactly one is required');
  }
  const at = request.at ?? new Date();
  let answer;
  if (request.departmentId) {
    const department = model.departments.get(request.departmentId);
    if (!department) throw notFound(`department ${request.departmentId} not found in tenant ${tenantId}`);
    answer = model.departmentOpen(department, at);
  } else {
    const site = model.sites.get(request.siteId);
    if (!site) throw notFound(`site ${request.siteId} not found in tenant ${tenantId}`);
    answer = model.siteOpen(site, at);
  }
  return { state: OPEN_STATES[answer.state], reason: answer.reason, localTime: answer.localTime };
}
