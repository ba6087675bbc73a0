import { openState, type OpenAnswer } from '@switchboard/opening-hours';
import type { Department, DirectoryDocument, PhoneNumber, Site, Staff } from './model.js';

export interface Resolution {
  number: PhoneNumber;
  /** Whose extension a direct-dial range call reached, if anyone's. */
  staff?: Staff;
}

/** One tenant's directory indexed for the per-call lookups. */
export class TenantView {
  private readonly exact = new Map<string, PhoneNumber>();
  /** Direct-dial ranges, longest prefix first. */
  private readonly ranges: PhoneNumber[];
  private readonly staffByExtension: Map<string, Staff>;
  readonly departments: Map<string, Department>;
  readonly sites: Map<string, Site>;

  constructor(
    readonly document: DirectoryDocument,
    readonly version: string,
  ) {
    for (const number of document.numbers)
      if (number.kind !== 'direct-dial-range') this.exact.set(number.number, number);
    this.ranges = document.numbers
      .filter((number) => number.kind === 'direct-dial-range')
      .sort((a, b) => b.number.length - a.number.length);
    this.staffByExtension = new Map(document.staff.map((staff) => [staff.extension, staff]));
    this.departments = new Map(document.departments.map((department) => [department.departmentId, department]));
    this.sites = new Map(document.sites.map((site) => [site.siteId, site]));
  }

  resolve(dialled: string): Resolution | undefined {
    const number = this.exact.get(dialled);
    if (number) return { number };
    for (const range of this.ranges) {
      if (dialled.length === range.number.length + range.rangeDigits && dialled.startsWith(range.number)) {
        const staff = this.staffByExtension.get(dialled.slice(range.number.length));
        return staff ? { number: range, staff } : { number: range };
      }
    }
    return undefined;
  }

  private schedule(site: Site | undefined, openingHours: Site['openingHours'], own: Department['closingDays'] = []) {
    const { tenant } = this.document;
    return {
      federalState: tenant.federalState,
      timeZone: tenant.timeZone,
      closingDays: [...tenant.closingDays, ...(site?.closingDays ?? []), ...own],
      openingHours,
    };
  }

  /** A department uses its own hours, or its site's when it has none; its own closing days add to the site's. */
  departmentOpen(department: Department, at: Date): OpenAnswer {
    const site = this.sites.get(department.siteId);
    const hours = department.openingHours.length > 0 ? department.openingHours : (site?.openingHours ?? []);
    return openState(this.schedule(site, hours, department.closingDays), at);
  }

  siteOpen(site: Site, at: Date): OpenAnswer {
    return openState(this.schedule(site, site.openingHours), at);
  }
}

/** Every tenant's directory in memory; replaced per tenant whenever it changes. */
export class DirectoryCache {
  private readonly tenants = new Map<string, TenantView>();
  /** Number → tenant, to keep a number from being claimed by two tenants. */
  private readonly numberOwners = new Map<string, string>();
  /** Device id → tenant: a device is an Asterisk endpoint name, which is global, not per tenant. */
  private readonly deviceOwners = new Map<string, string>();

  get(tenantId: string): TenantView | undefined {
    return this.tenants.get(tenantId);
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  set(tenantId: string, view: TenantView | undefined): void {
    const previous = this.tenants.get(tenantId);
    for (const number of previous?.document.numbers ?? []) {
      if (this.numberOwners.get(number.number) === tenantId) this.numberOwners.delete(number.number);
    }
    for (const device of previous?.document.staff.flatMap((staff) => staff.devices) ?? []) {
      if (this.deviceOwners.get(device) === tenantId) this.deviceOwners.delete(device);
    }
    if (!view) {
      this.tenants.delete(tenantId);
      return;
    }
    this.tenants.set(tenantId, view);
    for (const number of view.document.numbers) this.numberOwners.set(number.number, tenantId);
    for (const staff of view.document.staff)
      for (const device of staff.devices) this.deviceOwners.set(device, tenantId);
  }

  /** Numbers of the document that another tenant already has. */
  claimedElsewhere(tenantId: string, numbers: readonly PhoneNumber[]): string[] {
    return numbers
      .map((number) => number.number)
      .filter((number) => {
        const owner = this.numberOwners.get(number);
        return owner !== undefined && owner !== tenantId;
      });
  }

  /** Devices of the document's staff that another tenant already has, as [staff id, device id]. */
  devicesClaimedElsewhere(tenantId: string, staff: readonly Staff[]): Array<[string, string]> {
    return staff.flatMap((member) =>
      member.devices
        .filter((device) => {
          const owner = this.deviceOwners.get(device);
          return owner !== undefined && owner !== tenantId;
        })
        .map((device): [string, string] => [member.staffId, device]),
    );
  }
}
