import { ExponentialBackoff, handleAll, retry, type RetryPolicy } from 'cockatiel';
import { tenantOfSubject } from '@switchboard/events';
import type { Logger, NatsHandle } from '@switchboard/service-kit';
import { isNotFound, type DirectoryClient } from './directory-client.js';
import type { AdapterMetrics } from './metrics.js';
import type { OutboundPolicies, TenantOutbound } from './outbound-guard.js';
import { TenantResolver, type TenantLookup, type TenantMap, type TenantMatch } from './tenant-resolver.js';

// The number plan as the directory has it: every tenant's numbers (each a prefix, so a direct-dial
// range's base number claims its extensions) and its staff's devices, with the tenant's outbound
// policy, its sites' overrides and its devices' sites for call control's barring. Read at start, again per
// tenant on its change events and completely every refresh interval (an event missed while NATS
// was away is repaired then). Calls only read the resolver in memory.

type TenantEntry = TenantMap['tenants'][number] & { outbound: TenantOutbound };

const CHANGES = /\.directory\.(tenant|site|number|staff)_changed$/;

export interface DirectoryTenantMapOptions {
  directory: DirectoryClient;
  fallbackTenant: string;
  logger: Logger;
  metrics: AdapterMetrics;
  /** After a load: `undefined` after a complete one, else the tenants re-read. */
  onLoaded?: (tenantIds: readonly string[] | undefined) => void;
  /** First wait after a failed load; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export class DirectoryTenantMap implements TenantLookup, OutboundPolicies {
  private tenants = new Map<string, TenantEntry>();
  private resolver: TenantResolver;
  private loaded = false;
  private readonly policy: RetryPolicy;
  private readonly abort = new AbortController();
  /** Loads asked for while one runs: every tenant, or these. */
  private pending: { all: boolean; tenantIds: Set<string> } = { all: false, tenantIds: new Set() };
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DirectoryTenantMapOptions) {
    this.resolver = new TenantResolver({ fallbackTenant: o.fallbackTenant, tenants: [] });
    this.policy = retry(handleAll, {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({ initialDelay: o.retryDelayMs ?? 1_000, maxDelay: o.maxRetryDelayMs ?? 30_000 }),
    });
  }

  /** The whole plan was read once; until then every call would go to the fallback tenant. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  resolve(dialedNumber: string, endpoint: string | undefined): TenantMatch {
    return this.resolver.resolve(dialedNumber, endpoint);
  }

  outbound(tenantId: string): TenantOutbound | undefined {
    return this.tenants.get(tenantId)?.outbound;
  }

  /** The tenant whose staff has the device, if any. */
  ownerOf(device: string): string | undefined {
    return this.resolver.ownerOf(device);
  }

  /** Reads everything now and every `intervalMs`; resolves after the first attempt, loaded or not. */
  start(intervalMs: number): Promise<void> {
    this.timer = setInterval(() => this.request(undefined), intervalMs);
    this.timer.unref();
    return this.request(undefined);
  }

  /** Follows `sb.<tenant>.directory.{tenant,site,number,staff}_changed` (plain subscription: no event is shared). */
  follow(nats: NatsHandle): () => void {
    const subscription = nats.connection.subscribe('sb.*.directory.*', {
      callback: (error, message) => {
        const tenantId = error ? undefined : tenantOfSubject(message.subject);
        if (tenantId && CHANGES.test(message.subject)) void this.request(tenantId);
      },
    });
    return () => subscription.unsubscribe();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await this.running;
  }

  /**
   * One load at a time, so an older read never overwrites a newer one; requests meanwhile fold
   * into the next. Resolves when the first attempt of the load that covers the request ended.
   */
  private request(tenantId: string | undefined): Promise<void> {
    if (tenantId) this.pending.tenantIds.add(tenantId);
    else this.pending.all = true;
    if (this.running) return this.running;
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.running = this.drain(firstAttempt).finally(() => {
      this.running = undefined;
      firstAttempt();
    });
    return attempted;
  }

  private async drain(firstAttempt: () => void): Promise<void> {
    while (!this.abort.signal.aborted && (this.pending.all || this.pending.tenantIds.size > 0)) {
      const { all, tenantIds } = this.pending;
      this.pending = { all: false, tenantIds: new Set() };
      try {
        await this.policy.execute(async () => {
          try {
            if (all) await this.loadAll();
            else for (const tenantId of tenantIds) await this.loadTenant(tenantId);
          } catch (error) {
            this.o.metrics.numberPlanLoadFailures.add(1);
            this.o.logger.warn(
              { err: error, tenants: all ? 'all' : [...tenantIds] },
              'reading the number plan from the directory failed; trying again with back-off',
            );
            throw error;
          } finally {
            firstAttempt();
          }
        }, this.abort.signal);
      } catch (error) {
        if (!this.abort.signal.aborted) throw error;
        return;
      }
      this.o.onLoaded?.(all ? undefined : [...tenantIds]);
    }
  }

  private async loadAll(): Promise<void> {
    const { tenants } = await this.o.directory.listTenants();
    const next = new Map<string, TenantEntry>();
    for (const { tenantId } of tenants) {
      const entry = await this.readTenant(tenantId);
      if (entry) next.set(tenantId, entry);
    }
    this.install(next);
    if (!this.loaded) {
      this.o.logger.info({ tenants: next.size }, 'number plan read from the directory');
      this.loaded = true;
    }
  }

  private async loadTenant(tenantId: string): Promise<void> {
    const entry = await this.readTenant(tenantId);
    const next = new Map(this.tenants);
    if (entry) next.set(tenantId, entry);
    else next.delete(tenantId);
    this.install(next);
  }

  /** The tenant's numbers and devices, or undefined when it no longer exists. */
  private async readTenant(tenantId: string): Promise<TenantEntry | undefined> {
    try {
      const [{ numbers }, { staff }, { sites }, { tenant }] = await Promise.all([
        this.o.directory.listNumbers(tenantId),
        this.o.directory.listStaff(tenantId),
        this.o.directory.listSites(tenantId),
        this.o.directory.getTenant(tenantId),
      ]);
      return {
        tenantId,
        numberPrefixes: numbers.map((number) => number.number),
        devices: staff.flatMap((member) => member.devices),
        outbound: {
          policy: tenant?.outboundPolicy,
          siteOverrides: new Map(
            sites.flatMap((site) => (site.outboundOverride ? [[site.siteId, site.outboundOverride] as const] : [])),
          ),
          deviceSites: new Map(
            staff.flatMap((member) =>
              member.siteId ? member.devices.map((device) => [device, member.siteId] as const) : [],
            ),
          ),
        },
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private install(tenants: Map<string, TenantEntry>): void {
    this.tenants = tenants;
    this.resolver = new TenantResolver({ fallbackTenant: this.o.fallbackTenant, tenants: [...tenants.values()] });
  }
}
