import * as grpc from '@grpc/grpc-js';
import { directoryServiceV1, directoryV1 } from '@switchboard/proto';
import { createAuthenticator } from '@switchboard/service-kit';
import { ADAPTER_TOKENS } from './harness.js';

/** One tenant as the stand-in serves it: its numbers, one staff member per device, the credentials. */
export interface StandInTenant {
  numbers: string[];
  devices: string[];
  credentials: directoryServiceV1.DeviceCredential[];
  /** The tenant's outbound policy; absent: none stored (the defaults). */
  outboundPolicy?: directoryV1.OutboundPolicy;
  /** Sites, with their overrides. */
  sites?: Array<{ siteId: string; outboundOverride?: directoryV1.OutboundPolicy }>;
  /** The site of a device's staff member. */
  deviceSites?: Record<string, string>;
}

/**
 * The directory's read API as the adapter uses it, over real gRPC with the role check the
 * directory makes (every method here answers role `service`): the tests change what it holds
 * and publish the change events themselves.
 */
export class StandInDirectory {
  readonly tenants = new Map<string, StandInTenant>();
  /** While false every request fails UNAVAILABLE, as while the directory starts. */
  up = false;
  /** The methods asked, in order, with their tenant. */
  readonly requests: Array<{ method: string; tenantId: string }> = [];
  /** Who asked (`role:subject` of the verified tokens). */
  readonly callers = new Set<string>();
  private readonly server = new grpc.Server();
  private readonly waiters = new Set<() => void>();
  private readonly authenticator = createAuthenticator({
    publicKeys: ADAPTER_TOKENS.publicKeys,
    issuer: 'switchboard',
    audience: 'switchboard',
  });

  async start(): Promise<string> {
    const tenantOrFail = (tenantId: string) => {
      const tenant = this.tenants.get(tenantId);
      if (!tenant) throw { code: grpc.status.NOT_FOUND, details: `tenant ${tenantId} not found` };
      return tenant;
    };
    this.server.addService(directoryServiceV1.DirectoryServiceService, {
      listTenants: this.serve('listTenants', () => ({
        tenants: [...this.tenants.keys()].map((tenantId) => directoryV1.Tenant.fromPartial({ tenantId })),
      })),
      getTenant: this.serve('getTenant', (tenantId) => ({
        tenant: directoryV1.Tenant.fromPartial({ tenantId, outboundPolicy: tenantOrFail(tenantId).outboundPolicy }),
      })),
      listSites: this.serve('listSites', (tenantId) => ({
        sites: (tenantOrFail(tenantId).sites ?? []).map((site) => directoryV1.Site.fromPartial(site)),
      })),
      listNumbers: this.serve('listNumbers', (tenantId) => ({
        numbers: tenantOrFail(tenantId).numbers.map((number) =>
          directoryV1.PhoneNumber.fromPartial({ number, kind: directoryV1.NumberKind.NUMBER_KIND_MAIN }),
        ),
      })),
      listStaff: this.serve('listStaff', (tenantId) => ({
        staff: tenantOrFail(tenantId).devices.map((device) =>
          directoryV1.Staff.fromPartial({
            staffId: `staff-${device}`,
            devices: [device],
            siteId: tenantOrFail(tenantId).deviceSites?.[device] ?? '',
          }),
        ),
      })),
      listDeviceCredentials: this.serve('listDeviceCredentials', (tenantId) => ({
        devices: tenantOrFail(tenantId).credentials,
      })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    return `127.0.0.1:${port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }

  /** Resolves at the next request for `method` (of `tenantId`, if given) from now on. */
  nextRequest(method: string, tenantId?: string): Promise<void> {
    const from = this.requests.length;
    return new Promise((resolve) => {
      const check = () => {
        const seen = this.requests
          .slice(from)
          .some((request) => request.method === method && (!tenantId || request.tenantId === tenantId));
        if (!seen) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private serve<Res>(method: string, answer: (tenantId: string) => Res) {
    return (call: grpc.ServerUnaryCall<{ tenantId: string }, Res>, callback: grpc.sendUnaryData<Res>) => {
      const done = (error: Partial<grpc.StatusObject> | null, response?: Res) => {
        callback(error, response);
        this.requests.push({ method, tenantId: call.request.tenantId });
        for (const waiter of [...this.waiters]) waiter();
      };
      if (!this.up) return done({ code: grpc.status.UNAVAILABLE, details: 'starting' });
      const bearer = String(call.metadata.get('authorization')[0] ?? '').replace(/^Bearer /, '');
      this.authenticator.verify(bearer).then(
        (principal) => {
          this.callers.add(`${principal.role}:${principal.subject}`);
          if (principal.role !== 'service')
            return done({ code: grpc.status.PERMISSION_DENIED, details: principal.role });
          try {
            done(null, answer(call.request.tenantId));
          } catch (error) {
            done(error as grpc.StatusObject);
          }
        },
        () => done({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' }),
      );
    };
  }
}
