import { DirectoryModel } from '@switchboard/directory-cache';
import type { DirectoryDocument, PhoneNumber, Staff } from './model.js';
import { tenantSnapshot } from './snapshot.js';

/**
 * One tenant's directory: the document, and the model ResolveNumber and IsOpen answer from
 * (libs/directory-cache, the same code routing answers with from the published snapshot).
 */
export class TenantView {
  readonly model: DirectoryModel;

  constructor(
    readonly document: DirectoryDocument,
    readonly version: string,
  ) {
    this.model = new DirectoryModel(tenantSnapshot(document));
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
