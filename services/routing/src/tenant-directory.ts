import type { KV } from '@nats-io/kv';
import {
  SnapshotMirror,
  openingHoursOf,
  scheduleOf,
  type DirectoryModel,
  type SnapshotSource,
} from '@switchboard/directory-cache';
import { checkOutbound, type OutboundDecision, type OutboundPolicy } from '@switchboard/numbering';
import type { ClosingDay, OpeningInterval, Schedule } from '@switchboard/opening-hours';
import { directoryV1 } from '@switchboard/proto';
import type { Logger } from '@switchboard/service-kit';

// What routing needs of a tenant's directory, in memory: the directory's snapshot of the tenant
// (KV bucket directory-snapshots, followed by libs/directory-cache's SnapshotMirror), turned into
// this view once per snapshot (SnapshotDirectory). No per-call request leaves the process.

export interface DepartmentSettings {
  departmentId: string;
  name: string;
  siteId: string;
  strategy: 'longest-idle' | 'round-robin' | 'ring-all' | 'skills';
  requiredSkills: string[];
  ringTimeoutSeconds: number;
  wrapUpSeconds: number;
  maxWaitSeconds: number;
  overflow: Target;
  /** Own hours; empty: the site's. */
  openingHours: OpeningInterval[];
  /** Own closing days, besides the tenant's and the site's. */
  closingDays: ClosingDay[];
  /** Where a caller goes while the department is closed. */
  closedTarget: Target;
  /** Key a waiting caller presses for a callback that keeps their place; empty: none. */
  callbackKey: string;
}

export interface Target {
  kind: 'none' | 'department' | 'voicemail' | 'callback';
  /** A department id for `department`; the department whose voicemail box records, for `voicemail`. */
  target: string;
}

export interface StaffMember {
  staffId: string;
  displayName: string;
  extension: string;
  devices: string[];
  siteId: string;
  homeOffice: boolean;
  homeOfficeNumber: string;
}

export interface NumberEntry {
  number: string;
  kind: 'main' | 'direct-dial-range' | 'fax';
  siteId: string;
}

/** The parts of a tenant routing reads, as plain data (built from the snapshot by `TenantView.fromModel`). */
export interface TenantDocument {
  tenant: {
    tenantId: string;
    timeZone: string;
    federalState: string;
    closingDays: ClosingDay[];
    /** Absent: the defaults apply. */
    outboundPolicy?: OutboundPolicy;
  };
  sites: Array<{
    siteId: string;
    openingHours: OpeningInterval[];
    closingDays: ClosingDay[];
    outboundOverride?: OutboundPolicy;
  }>;
  numbers: NumberEntry[];
  departments: DepartmentSettings[];
  staff: StaffMember[];
}

/** `STRATEGY_ROUND_ROBIN` → `round-robin`; `unspecified` for the zero value. */
const kebab = (name: string, prefix: string) => name.slice(prefix.length).toLowerCase().replaceAll('_', '-');

function target(found: directoryV1.OverflowTarget | undefined): Target {
  const kind = kebab(directoryV1.overflowKindToJSON(found?.kind ?? 0), 'OVERFLOW_KIND_');
  return {
    kind: kind === 'unspecified' ? 'none' : (kind as Target['kind']),
    target: found?.target ?? '',
  };
}

function departmentSettings(department: directoryV1.Department): DepartmentSettings {
  const strategy = kebab(directoryV1.strategyToJSON(department.strategy), 'STRATEGY_');
  return {
    departmentId: department.departmentId,
    name: department.name,
    siteId: department.siteId,
    // Unspecified means longest idle (directory.proto).
    strategy: strategy === 'unspecified' ? 'longest-idle' : (strategy as DepartmentSettings['strategy']),
    requiredSkills: department.requiredSkills,
    ringTimeoutSeconds: department.ringTimeoutSeconds,
    wrapUpSeconds: department.wrapUpSeconds,
    maxWaitSeconds: department.maxWaitSeconds,
    overflow: target(department.overflow),
    openingHours: openingHoursOf(department.openingHours),
    closingDays: department.closingDays,
    closedTarget: target(department.closedTarget),
    callbackKey: department.callbackKey,
  };
}

const NUMBER_KINDS: Partial<Record<directoryV1.NumberKind, NumberEntry['kind']>> = {
  [directoryV1.NumberKind.NUMBER_KIND_MAIN]: 'main',
  [directoryV1.NumberKind.NUMBER_KIND_DIRECT_DIAL_RANGE]: 'direct-dial-range',
  [directoryV1.NumberKind.NUMBER_KIND_FAX]: 'fax',
};

/** The snapshot as routing reads it. */
function documentOf({ tenant, snapshot }: DirectoryModel): TenantDocument {
  return {
    tenant: {
      tenantId: tenant.tenantId,
      timeZone: tenant.timeZone,
      federalState: tenant.federalState,
      closingDays: tenant.closingDays,
      outboundPolicy: tenant.outboundPolicy,
    },
    sites: snapshot.sites.map((site) => ({
      siteId: site.siteId,
      openingHours: openingHoursOf(site.openingHours),
      closingDays: site.closingDays,
      outboundOverride: site.outboundOverride,
    })),
    numbers: snapshot.numbers.flatMap((number) => {
      const kind = NUMBER_KINDS[number.kind];
      return kind ? [{ number: number.number, kind, siteId: number.siteId }] : [];
    }),
    departments: snapshot.departments.map(departmentSettings),
    staff: snapshot.staff.map((member) => ({
      staffId: member.staffId,
      displayName: member.displayName,
      extension: member.extension,
      devices: member.devices,
      siteId: member.siteId,
      homeOffice: member.homeOffice,
      homeOfficeNumber: member.homeOfficeNumber,
    })),
  };
}

export class TenantView {
  private readonly departments: Map<string, DepartmentSettings>;
  private readonly byExtension: Map<string, StaffMember>;
  private readonly byDevice = new Map<string, StaffMember>();
  /** Built on first use: the view is replaced, never changed, when the directory changes. */
  private readonly schedules = new Map<string, Schedule>();

  constructor(
    readonly tenantId: string,
    private readonly document: TenantDocument,
  ) {
    this.departments = new Map(document.departments.map((department) => [department.departmentId, department]));
    this.byExtension = new Map(document.staff.map((member) => [member.extension, member]));
    for (const member of document.staff) for (const device of member.devices) this.byDevice.set(device, member);
  }

  static fromModel(model: DirectoryModel): TenantView {
    return new TenantView(model.tenantId, documentOf(model));
  }

  department(departmentId: string): DepartmentSettings | undefined {
    return this.departments.get(departmentId);
  }

  /** A department's hours (its own, else its site's) with the tenant's, the site's and its own closing days. */
  schedule(department: DepartmentSettings): Schedule {
    let found = this.schedules.get(department.departmentId);
    if (!found) {
      const site = this.document.sites.find((candidate) => candidate.siteId === department.siteId);
      found = scheduleOf(this.document.tenant, site, department);
      this.schedules.set(department.departmentId, found);
    }
    return found;
  }

  staffByExtension(extension: string): StaffMember | undefined {
    return this.byExtension.get(extension);
  }

  staffById(staffId: string): StaffMember | undefined {
    return this.document.staff.find((member) => member.staffId === staffId);
  }

  /** The staff member calling from a channel like `PJSIP/kropp-1001-0000002a`, or by their extension. */
  caller(channelName: string, from: string): StaffMember | undefined {
    const device = /^[A-Za-z]+\/(.+)-[0-9a-f]{8}$/.exec(channelName)?.[1];
    return (device ? this.byDevice.get(device) : undefined) ?? this.byExtension.get(from);
  }

  /** The site's main number as caller id; the tenant's first main number when the site has none. */
  callerIdFor(siteId: string): string {
    const mains = this.document.numbers.filter((number) => number.kind === 'main');
    return (mains.find((number) => number.siteId === siteId) ?? mains[0])?.number ?? '';
  }

  /**
   * The tenant's outbound policy for a call to `number` on behalf of `siteId` (the site the leg is
   * tagged and billed with): the site's override when it has one, else the tenant's policy.
   */
  checkOutbound(number: string, siteId: string): OutboundDecision {
    const site = siteId ? this.document.sites.find((candidate) => candidate.siteId === siteId) : undefined;
    return checkOutbound(number, this.document.tenant.outboundPolicy, site?.outboundOverride);
  }

  fallbackDepartment(candidates: readonly string[]): DepartmentSettings | undefined {
    for (const id of candidates) {
      const department = this.departments.get(id);
      if (department) return department;
    }
    return undefined;
  }
}

interface Tenant {
  model: DirectoryModel;
  view: TenantView;
}

/**
 * Every tenant's view and model, from the mirrored snapshots, each built once per snapshot. A
 * look-up rejects NOT_FOUND for a tenant the directory does not know, and UNAVAILABLE (or
 * DEADLINE_EXCEEDED) when a tenant the bucket does not hold yet cannot be asked for.
 */
export class SnapshotDirectory {
  private readonly mirror: SnapshotMirror<Tenant>;

  constructor(source: SnapshotSource, logger: Logger) {
    this.mirror = new SnapshotMirror({
      toView: (model) => ({ model, view: TenantView.fromModel(model) }),
      source,
      logger,
    });
  }

  /** Follows the bucket; resolves once the snapshots stored now are in memory. */
  follow(kv: KV): Promise<void> {
    return this.mirror.follow(kv);
  }

  /** For /readyz: without it the copies go stale. */
  get following(): boolean {
    return this.mirror.following;
  }

  stop(): void {
    this.mirror.stop();
  }

  /** The same object until the tenant's next snapshot arrives. */
  async get(tenantId: string): Promise<TenantView> {
    return (await this.mirror.get(tenantId)).view;
  }

  /** What ResolveNumber and IsOpen answer from (directory-lookups.ts). */
  async model(tenantId: string): Promise<DirectoryModel> {
    return (await this.mirror.get(tenantId)).model;
  }
}
