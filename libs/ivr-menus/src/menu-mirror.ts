import type { KvEntry } from '@nats-io/kv';
import { KV_BUCKETS } from '@switchboard/events';
import { mirrorKv, type KvMirror, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { compileMenuSet, type CompiledMenuSet } from './evaluate.js';
import { decodeMenuSnapshot, openMenuBucket } from './snapshot.js';

/** A tenant's compiled menus as mirrored, with when ivr published them. */
export interface MirroredMenus {
  readonly set: CompiledMenuSet;
  readonly publishedAt: Date | undefined;
}

export interface MenuMirrorOptions {
  logger: Logger;
  /** Default `ivr-menus` (KV_BUCKETS.ivrMenus). */
  bucket?: string;
}

/**
 * Every tenant's menus from the ivr's snapshots, compiled once per new revision, for evaluating
 * menu steps in memory. Follows the whole bucket; a snapshot older than or equal to the one held
 * changes nothing, so a replayed or late entry never moves a tenant back.
 */
export class MenuMirror {
  private readonly tenants = new Map<string, MirroredMenus>();
  private kvMirror: KvMirror | undefined;

  private constructor(private readonly logger: Logger) {}

  /** Opens the bucket (creating it when ivr has not yet) and resolves once every stored snapshot is compiled. */
  static async open(nats: NatsHandle, options: MenuMirrorOptions): Promise<MenuMirror> {
    const kv = await openMenuBucket(nats, options.bucket ?? KV_BUCKETS.ivrMenus);
    const mirror = new MenuMirror(options.logger);
    mirror.kvMirror = await mirrorKv(kv, (entry) => mirror.apply(entry), { logger: options.logger, what: 'ivr menus' });
    return mirror;
  }

  /** The tenant's menus, or undefined when no snapshot of the tenant has been seen. */
  get(tenantId: string): MirroredMenus | undefined {
    return this.tenants.get(tenantId);
  }

  /** False once the watch has ended: the copy no longer changes (report it in `/readyz`). */
  get following(): boolean {
    return this.kvMirror?.following ?? false;
  }

  stop(): void {
    this.kvMirror?.stop();
  }

  private apply(entry: KvEntry): void {
    const tenantId = entry.key;
    if (entry.operation !== 'PUT') {
      // ivr never deletes a snapshot; an operator's purge means "forget this tenant's menus".
      this.tenants.delete(tenantId);
      this.logger.info({ tenantId }, 'ivr menus removed');
      return;
    }
    let snapshot: ReturnType<typeof decodeMenuSnapshot>;
    try {
      snapshot = decodeMenuSnapshot(entry.value);
    } catch (error) {
      // The tenant keeps what it had; ivr's next write for it replaces the bad value.
      this.logger.error({ err: error, tenantId, kvRevision: entry.revision }, 'malformed ivr menu snapshot skipped');
      return;
    }
    if (snapshot.tenantId !== tenantId) {
      this.logger.error(
        { tenantId, snapshotTenantId: snapshot.tenantId },
        'ivr menu snapshot of another tenant skipped',
      );
      return;
    }
    const revision = Number(snapshot.revision);
    const held = this.tenants.get(tenantId);
    if (held && held.set.revision >= revision) return;
    this.tenants.set(tenantId, {
      set: compileMenuSet(revision, snapshot.menus),
      publishedAt: snapshot.publishedAt,
    });
    this.logger.debug({ tenantId, revision }, 'ivr menus mirrored');
  }
}
