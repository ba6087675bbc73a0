import { tenantOfSubject } from '@switchboard/events';
import { directoryServiceV1 } from '@switchboard/proto';
import type { Logger, NatsHandle } from '@switchboard/service-kit';

// A tenant's directory kept in memory by a service that reads it: loaded over NATS (ExportTenant
// as JSON) on the tenant's first use and again after each of its change events, so no request of
// the service reads the directory's database. Each service turns the document into its own view.

/** The directory's ExportTenant, as `directoryRpcClient` of `@switchboard/rpc-clients` offers it. */
export interface DirectoryExporter {
  exportTenant(request: directoryServiceV1.ExportTenantRequest): Promise<directoryServiceV1.ExportTenantResponse>;
}

export class DirectoryCache<View, Document = unknown> {
  private readonly views = new Map<string, Promise<View>>();
  /** Reloads started per tenant: a slow older reload must not replace a newer one's copy. */
  private readonly reloads = new Map<string, number>();

  constructor(
    private readonly rpc: DirectoryExporter,
    private readonly logger: Logger,
    /** Builds the service's view from the export document (the parts it declares in `Document`). */
    private readonly toView: (tenantId: string, document: Document) => View,
  ) {}

  /** The tenant's directory; loads it on first use. Rejects when the directory cannot be reached. */
  get(tenantId: string): Promise<View> {
    let view = this.views.get(tenantId);
    if (!view) {
      view = this.load(tenantId);
      this.views.set(tenantId, view);
      // A failed load is not cached: the next call asks again.
      view.catch(() => {
        if (this.views.get(tenantId) === view) this.views.delete(tenantId);
      });
    }
    return view;
  }

  /** Reloads a tenant already in memory; the old view serves until the new one is there. */
  refresh(tenantId: string): void {
    if (!this.views.has(tenantId)) return;
    const generation = (this.reloads.get(tenantId) ?? 0) + 1;
    this.reloads.set(tenantId, generation);
    const next = this.load(tenantId);
    next.then(
      () => {
        if (this.reloads.get(tenantId) === generation) this.views.set(tenantId, next);
      },
      (error: unknown) => this.logger.warn({ err: error, tenantId }, 'directory reload failed; keeping the old copy'),
    );
  }

  /** Follows `sb.*.directory.*` change events (plain subscription: every replica reloads). */
  follow(nats: NatsHandle): () => void {
    const subscription = nats.connection.subscribe('sb.*.directory.*', {
      callback: (error, message) => {
        const tenantId = error ? undefined : tenantOfSubject(message.subject);
        if (tenantId && message.subject.endsWith('_changed')) this.refresh(tenantId);
      },
    });
    return () => subscription.unsubscribe();
  }

  private async load(tenantId: string): Promise<View> {
    // fromPartial: fields the export request gains later keep their defaults here.
    const { document } = await this.rpc.exportTenant(
      directoryServiceV1.ExportTenantRequest.fromPartial({
        tenantId,
        format: directoryServiceV1.DocumentFormat.DOCUMENT_FORMAT_JSON,
      }),
    );
    return this.toView(tenantId, JSON.parse(document) as Document);
  }
}
