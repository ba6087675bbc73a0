import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { CommonKey } from './i18n.js';

/** A refusal or failure shown to the user (page) or caller (JSON) with its HTTP status. */
export class PortalError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 503,
    readonly messageKey: CommonKey,
    readonly values: Record<string, string | number> = {},
    /** For JSON callers and logs: what exactly failed. */
    detail?: string,
  ) {
    super(detail ?? messageKey);
  }
}

export const forbidden = (detail: string) => new PortalError(403, 'error.forbidden', {}, detail);
export const notFound = (detail: string) => new PortalError(404, 'error.notFound', {}, detail);

const isServiceError = (error: unknown): error is ServiceError =>
  error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'details' in error;

/**
 * A service's gRPC refusal as the user sees it: its reason for bad input, "not allowed" for a
 * denial (the portal's own checks come first, so this is the service agreeing), "try again" when
 * the service is down. Anything else is a fault of the portal's (500, logged).
 */
export function fromGrpc(error: unknown, service: string): unknown {
  if (!isServiceError(error)) return error;
  switch (error.code) {
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.ALREADY_EXISTS:
    case GrpcStatus.OUT_OF_RANGE:
      return new PortalError(400, 'error.invalid', { reason: error.details }, `${service}: ${error.details}`);
    case GrpcStatus.NOT_FOUND:
      return new PortalError(404, 'error.notFound', {}, `${service}: ${error.details}`);
    case GrpcStatus.PERMISSION_DENIED:
      return new PortalError(403, 'error.forbidden', {}, `${service}: ${error.details}`);
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new PortalError(503, 'error.unavailable', { service }, `${service}: ${error.details}`);
    default:
      return error;
  }
}
