import * as grpc from '@grpc/grpc-js';
import { checkOutbound, type OutboundPolicy } from '@switchboard/numbering';
import { GrpcStatusError, recordOutboundDenied, type Logger, type OutboundPath } from '@switchboard/service-kit';

// The tenant's outbound barring on every command that dials outside (Originate, Forward, Dial and
// DialAll to the trunk), on gRPC and NATS alike: the handlers are the same. The rule itself is
// `checkOutbound` of `@switchboard/numbering`, which routing applies too.

/** A tenant's barring as the directory has it. */
export interface TenantOutbound {
  /** Absent: the defaults. */
  policy?: OutboundPolicy;
  /** Sites with their own policy, which replaces the tenant's for their calls. */
  siteOverrides: ReadonlyMap<string, OutboundPolicy>;
  /** Staff devices and their staff member's site. */
  deviceSites: ReadonlyMap<string, string>;
}

/** Where the adapter learns tenants' policies (the directory's number plan); absent: defaults for all. */
export interface OutboundPolicies {
  outbound(tenantId: string): TenantOutbound | undefined;
}

/** Whose outside call it is: the leg's `site_id` tag, else the site of the phone that calls. */
export interface OutboundParty {
  siteId?: string | undefined;
  /** The calling device (`kropp-101`), for calls from a staff phone. */
  device?: string | undefined;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const DEVICE = /^PJSIP\/[A-Za-z0-9_.-]{1,64}$/;

export class OutboundGuard {
  private readonly trunk: RegExp;
  /** The trunk's own endpoint (`PJSIP/trunk` of `PJSIP/{number}@trunk`): dialled bare it reaches outside too. */
  private readonly trunkDevice: string | undefined;

  constructor(
    private readonly policies: OutboundPolicies | undefined,
    trunkEndpoint: string,
    private readonly logger: Logger,
  ) {
    const [before, after] = trunkEndpoint.split('{number}') as [string, string];
    this.trunk = new RegExp(`^${escape(before)}(.+)${escape(after)}$`);
    const host = /^@([A-Za-z0-9_.-]+)$/.exec(after)?.[1];
    this.trunkDevice = host && `${before.replace(/\/$/, '')}/${host}`;
  }

  /**
   * Checks one outside number; returns the number to dial (E.164, or 110/112 as dialled). Refused:
   * PERMISSION_DENIED with the policy's reason (counted), or INVALID_ARGUMENT when it is no
   * number at all.
   */
  check(tenantId: string, number: string, path: OutboundPath, party: OutboundParty): string {
    const tenant = this.policies?.outbound(tenantId);
    const siteId = party.siteId || (party.device ? tenant?.deviceSites.get(party.device) : undefined);
    const decision = checkOutbound(number, tenant?.policy, siteId ? tenant?.siteOverrides.get(siteId) : undefined);
    if (decision.allowed) return decision.number;
    if (decision.category === 'invalid') throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, decision.reason);
    recordOutboundDenied(decision.category, path);
    this.logger.info(
      { tenantId, path, siteId, category: decision.category, reason: decision.reason },
      'outside call refused by the outbound policy',
    );
    throw new GrpcStatusError(grpc.status.PERMISSION_DENIED, decision.reason);
  }

  /**
   * A Dial/DialAll endpoint: a staff device (`PJSIP/<device>`) passes; the trunk with a number is
   * checked as an outside call; any other dial string is refused, since it could reach an outside
   * number past the policy (another trunk, a dial-string URI, a dialplan `Local/` channel).
   */
  checkEndpoint(tenantId: string, endpoint: string, path: OutboundPath, party: OutboundParty): void {
    const number = this.trunk.exec(endpoint)?.[1];
    if (number !== undefined) {
      this.check(tenantId, number, path, party);
      return;
    }
    if (DEVICE.test(endpoint) && endpoint !== this.trunkDevice) return;
    throw new GrpcStatusError(
      grpc.status.INVALID_ARGUMENT,
      `endpoint "${endpoint}" is neither a device (PJSIP/<device>) nor the trunk with a number: only those are dialled, so no outside call passes the outbound policy`,
    );
  }
}
