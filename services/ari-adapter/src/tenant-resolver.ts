/**
 * Which numbers and devices belong to which tenant: NUMBER_PLAN without a directory, else built
 * from the directory's tenants, numbers and staff.
 */
export interface TenantMap {
  fallbackTenant: string;
  tenants: ReadonlyArray<{
    tenantId: string;
    /** E.164 prefixes: a number claims every number that starts with it. */
    numberPrefixes: readonly string[];
    /** Prefixes of PJSIP endpoint names (NUMBER_PLAN only). */
    endpointPrefixes?: readonly string[];
    /** PJSIP endpoint names, matched exactly (the directory's staff devices). */
    devices?: readonly string[];
  }>;
}

/** What the call tracker asks per call; answered from memory. */
export interface TenantLookup {
  resolve(dialedNumber: string, endpoint: string | undefined): TenantMatch;
}

export interface TenantMatch {
  tenantId: string;
  /** False when no entry claimed the call and the fallback tenant got it. */
  matched: boolean;
}

/**
 * Maps a call to its tenant: a caller on one of a tenant's devices belongs to that tenant (internal
 * and outbound calls), otherwise the longest number prefix that matches the dialled number wins.
 */
export class TenantResolver implements TenantLookup {
  private readonly numberPrefixes: Array<[string, string]>;
  private readonly endpointPrefixes: Array<[string, string]>;
  private readonly devices: Map<string, string>;

  constructor(private readonly plan: TenantMap) {
    const byLength = (a: [string, string], b: [string, string]) => b[0].length - a[0].length;
    this.numberPrefixes = plan.tenants
      .flatMap((tenant) => tenant.numberPrefixes.map((prefix): [string, string] => [prefix, tenant.tenantId]))
      .sort(byLength);
    this.endpointPrefixes = plan.tenants
      .flatMap((tenant) => (tenant.endpointPrefixes ?? []).map((prefix): [string, string] => [prefix, tenant.tenantId]))
      .sort(byLength);
    this.devices = new Map(
      plan.tenants.flatMap((tenant) =>
        (tenant.devices ?? []).map((device): [string, string] => [device, tenant.tenantId]),
      ),
    );
  }

  /** The tenant whose staff has the device (directory plans only). */
  ownerOf(device: string): string | undefined {
    return this.devices.get(device);
  }

  /** `endpoint` is the calling device's resource (`kropp-1001` of `PJSIP/kropp-1001-0000002a`). */
  resolve(dialedNumber: string, endpoint: string | undefined): TenantMatch {
    if (endpoint) {
      const owner = this.devices.get(endpoint);
      if (owner) return { tenantId: owner, matched: true };
      const device = this.endpointPrefixes.find(([prefix]) => endpoint.startsWith(prefix));
      if (device) return { tenantId: device[1], matched: true };
    }
    const number = this.numberPrefixes.find(([prefix]) => dialedNumber.startsWith(prefix));
    if (number) return { tenantId: number[1], matched: true };
    return { tenantId: this.plan.fallbackTenant, matched: false };
  }
}

/** The endpoint resource of a channel name: `PJSIP/kropp-1001-0000002a` → `kropp-1001`. */
export function endpointOfChannelName(name: string): string | undefined {
  const match = /^[A-Za-z]+\/(.+)-[0-9a-f]{8}$/.exec(name);
  return match?.[1];
}
