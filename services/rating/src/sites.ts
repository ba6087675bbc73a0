import * as grpc from '@grpc/grpc-js';
import { metrics } from '@opentelemetry/api';
import { DirectoryCache, type DirectoryExporter } from '@switchboard/directory-cache';
import { GrpcStatusError, type Logger } from '@switchboard/service-kit';
import { UNASSIGNED_SITE } from './rate-leg.js';

// Sites belong to the directory. Rating keeps each tenant's site ids in memory through the shared
// DirectoryCache (ExportTenant over NATS on first use, reloaded on the tenant's change events), as
// routing and fax keep their views, so rating a leg never waits on the directory.

/** The tenant's site ids, or undefined while the directory cannot be reached. */
export interface SiteLookup {
  sitesOf(tenantId: string): Promise<ReadonlySet<string> | undefined>;
}

interface SitesDocument {
  sites?: Array<{ siteId?: string }>;
}

/** How long rating goes on with unverified sites before it asks an unreachable directory again. */
const RETRY_MS = 5_000;

export class DirectorySites implements SiteLookup {
  private readonly cache: DirectoryCache<ReadonlySet<string>, SitesDocument>;
  private readonly unreachableUntil = new Map<string, number>();

  constructor(
    rpc: DirectoryExporter,
    private readonly logger: Logger,
  ) {
    // A tenant the directory does not know has no sites: every leg goes to the default or unassigned.
    const exporter: DirectoryExporter = {
      exportTenant: (request) =>
        rpc.exportTenant(request).catch((error: unknown) => {
          if (error instanceof GrpcStatusError && error.code === grpc.status.NOT_FOUND) return { document: '{}' };
          throw error;
        }),
    };
    this.cache = new DirectoryCache(exporter, logger, (_tenantId, document) => {
      return new Set((document.sites ?? []).map((site) => site.siteId ?? '').filter(Boolean));
    });
  }

  /** For rating: never throws; undefined (keep the legs' sites, counted) while the directory is away. */
  async sitesOf(tenantId: string): Promise<ReadonlySet<string> | undefined> {
    if ((this.unreachableUntil.get(tenantId) ?? 0) > Date.now()) return undefined;
    try {
      const sites = await this.cache.get(tenantId);
      this.unreachableUntil.delete(tenantId);
      return sites;
    } catch (error) {
      this.unreachableUntil.set(tenantId, Date.now() + RETRY_MS);
      this.logger.warn({ err: error, tenantId }, 'directory unreachable: rating legs with their own sites unverified');
      return undefined;
    }
  }

  /** For SetTariff: the tenant's sites, or UNAVAILABLE when the directory cannot say. */
  async requireSites(tenantId: string): Promise<ReadonlySet<string>> {
    try {
      return await this.cache.get(tenantId);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GrpcStatusError(grpc.status.UNAVAILABLE, `cannot check sites with the directory: ${reason}`);
    }
  }

  /** Follows the directory's change events (every replica reloads the tenant). */
  follow(...args: Parameters<DirectoryCache<ReadonlySet<string>>['follow']>): () => void {
    return this.cache.follow(...args);
  }
}

/** How often one tenant's unknown site is logged (it is counted every time). */
const LOG_EVERY_MS = 600_000;

/** Counts (and now and then logs) legs rated to another site than the one they named. */
export class SiteReport {
  private readonly logged = new Map<string, number>();
  // Made here, not on import: a meter taken before the SDK starts (tests run services in process) stays a no-op.
  private readonly reassigned = metrics.getMeter('@switchboard/rating').createCounter('rating.legs.unknown_site', {
    description:
      "Legs rated to the tariff's default site or to `unassigned` because their site_id names no site of the tenant (or none, without a default).",
    unit: '{leg}',
  });

  constructor(private readonly logger: Logger) {}

  unknownSite(tenantId: string, site: string, ratedTo: string, callId: string, legId: string): void {
    this.reassigned.add(1, { tenant: tenantId, rated_to: ratedTo === UNASSIGNED_SITE ? 'unassigned' : 'default' });
    const key = `${tenantId}\t${site}`;
    if ((this.logged.get(key) ?? 0) > Date.now()) return;
    this.logged.set(key, Date.now() + LOG_EVERY_MS);
    this.logger.warn(
      { tenantId, site, ratedTo, callId, legId },
      'leg names a site the tenant does not have; rated to the default site or unassigned (logged once per 10 min per site)',
    );
  }
}
