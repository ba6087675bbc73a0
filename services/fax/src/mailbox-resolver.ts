import * as grpc from '@grpc/grpc-js';
import type { DirectoryCache } from '@switchboard/directory-cache';
import { GrpcStatusError } from '@switchboard/service-kit';
import type { FaxSettingsStore } from './fax-settings.js';
import type { FaxRoute, FaxRoutes } from './fax-routes.js';

interface MailTarget {
  mailbox: string;
  /** The department the directory routes the number to; empty when it routes it nowhere. */
  departmentId: string;
  /** The directory gives no mailbox: the tenant's fallback mailbox gets it. */
  viaFallback: boolean;
}

export interface Resolution {
  /** Undefined: no mailbox from the directory and no fallback mailbox. */
  target: MailTarget | undefined;
  /** Why the directory gives no mailbox; empty when it does. */
  unrouted: string;
}

/**
 * Fax number → department → mailbox (and department → mailbox for voicemails) from the
 * directory's in-memory copy, else the tenant's fallback mailbox. A tenant the directory does not know has no routes; a directory that cannot
 * be reached is an error, so the caller retries rather than sends the fax to the fallback.
 */
export class MailboxResolver {
  constructor(
    private readonly directory: DirectoryCache<FaxRoutes>,
    private readonly settings: FaxSettingsStore,
  ) {}

  async resolve(tenantId: string, dialedNumber: string): Promise<Resolution> {
    const route = (await this.routesOf(tenantId))?.route(dialedNumber);
    if (route?.mailbox) {
      return { target: { mailbox: route.mailbox, departmentId: route.departmentId, viaFallback: false }, unrouted: '' };
    }
    const unrouted = route
      ? `department ${route.departmentId} has no fax mailbox in the directory`
      : `${dialedNumber} is not a fax number in the directory`;
    const { fallbackMailbox } = await this.settings.get(tenantId);
    const target = fallbackMailbox
      ? { mailbox: fallbackMailbox, departmentId: route?.departmentId ?? '', viaFallback: true }
      : undefined;
    return { target, unrouted };
  }

  /**
   * Department → mailbox for a voicemail: the department's mailbox in the directory (its
   * `faxMailbox`, the only mailbox a department has there), else the tenant's fallback mailbox.
   * `departmentName` is the directory's name of the department, or its id when it has none.
   */
  async resolveDepartment(tenantId: string, departmentId: string): Promise<Resolution & { departmentName: string }> {
    const department = departmentId ? (await this.routesOf(tenantId))?.department(departmentId) : undefined;
    const departmentName = department?.name ?? departmentId;
    if (department?.mailbox) {
      return {
        target: { mailbox: department.mailbox, departmentId, viaFallback: false },
        unrouted: '',
        departmentName,
      };
    }
    const unrouted = department
      ? `department ${departmentId} has no mailbox in the directory`
      : departmentId
        ? `department ${departmentId} is not in the directory`
        : 'the voicemail names no department';
    const { fallbackMailbox } = await this.settings.get(tenantId);
    const target = fallbackMailbox ? { mailbox: fallbackMailbox, departmentId, viaFallback: true } : undefined;
    return { target, unrouted, departmentName };
  }

  async list(tenantId: string): Promise<FaxRoute[]> {
    return (await this.routesOf(tenantId))?.list() ?? [];
  }

  private async routesOf(tenantId: string): Promise<FaxRoutes | undefined> {
    try {
      return await this.directory.get(tenantId);
    } catch (error) {
      if (error instanceof GrpcStatusError && error.code === grpc.status.NOT_FOUND) return undefined;
      throw error;
    }
  }
}
