import * as grpc from '@grpc/grpc-js';
import { IvrEvents } from '@switchboard/events';
import { type ivrServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, newEventMeta, type Logger, type ServiceContext } from '@switchboard/service-kit';
import type { MenuCache } from './menu-cache.js';
import type { MenuSnapshots } from './menu-snapshots.js';
import type { MenuStore, StoredMenuSet } from './menu-store.js';
import { MenuValidationError, validateMenuSet } from './menu-validation.js';

type Menu = ivrServiceV1.Menu;

export interface MenuChange {
  upserts: readonly Menu[];
  deletes: readonly string[];
  /** Only save when the tenant's menus are at this revision (ABORTED otherwise). */
  expectedRevision?: number;
  /** For single-menu create/update: the menus must not exist / must exist yet. */
  mustExist?: boolean;
}

export interface SavedMenus {
  revision: number;
  menus: Menu[];
}

// Concurrent saves of one tenant retry on the fresh set; a save that keeps losing gives up.
const MAX_ATTEMPTS = 5;

/**
 * Writes a tenant's menus: applies a change, validates the whole resulting set, saves, then
 * publishes the tenant's snapshot (routing) and tells the other replicas.
 */
export class MenuCatalog {
  constructor(
    private readonly store: MenuStore,
    private readonly cache: MenuCache,
    private readonly snapshots: MenuSnapshots,
    private readonly publish: ServiceContext<unknown>['publish'],
    private readonly logger: Logger,
  ) {}

  async list(tenantId: string): Promise<{ revision: number; menus: readonly Menu[] }> {
    return this.store.load(tenantId);
  }

  async get(tenantId: string, menuId: string): Promise<Menu> {
    const menu = (await this.store.load(tenantId)).menus.find((candidate) => candidate.menuId === menuId);
    if (!menu) throw notFound(tenantId, menuId);
    return menu;
  }

  async save(tenantId: string, change: MenuChange): Promise<SavedMenus> {
    const named = [...change.upserts.map((menu) => menu.menuId), ...change.deletes];
    const repeated = named.filter((menuId, index) => named.indexOf(menuId) !== index);
    if (repeated.length > 0) {
      throw new GrpcStatusError(
        grpc.status.INVALID_ARGUMENT,
        `menus named more than once in one save: ${[...new Set(repeated)].map((id) => `"${id}"`).join(', ')}`,
      );
    }
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const current = await this.store.load(tenantId);
      if (change.expectedRevision !== undefined && current.revision !== change.expectedRevision) {
        throw new GrpcStatusError(
          grpc.status.ABORTED,
          `menus of tenant ${tenantId} are at revision ${current.revision}, not ${change.expectedRevision}`,
        );
      }
      const now = new Date();
      const revision = current.revision + 1;
      const byId = new Map(current.menus.map((menu) => [menu.menuId, menu]));
      for (const menuId of change.deletes) {
        if (!byId.delete(menuId)) throw notFound(tenantId, menuId);
      }
      const saved = change.upserts.map((menu) => {
        if (menu.tenantId !== '' && menu.tenantId !== tenantId) {
          throw new GrpcStatusError(
            grpc.status.INVALID_ARGUMENT,
            `menu "${menu.menuId}" names tenant ${menu.tenantId}, the request tenant ${tenantId}`,
          );
        }
        if (change.mustExist === true && !byId.has(menu.menuId)) throw notFound(tenantId, menu.menuId);
        if (change.mustExist === false && byId.has(menu.menuId)) {
          throw new GrpcStatusError(grpc.status.ALREADY_EXISTS, `menu "${menu.menuId}" exists in tenant ${tenantId}`);
        }
        const stored = { ...menu, tenantId, revision: String(revision), updatedAt: now };
        byId.set(menu.menuId, stored);
        return stored;
      });
      const menus = [...byId.values()];
      try {
        validateMenuSet(menus);
      } catch (error) {
        if (error instanceof MenuValidationError)
          throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, error.message);
        throw error;
      }
      if (!(await this.store.replace(tenantId, current.revision, menus, now))) {
        if (change.expectedRevision !== undefined) {
          throw new GrpcStatusError(grpc.status.ABORTED, `menus of tenant ${tenantId} changed while saving`);
        }
        continue;
      }
      this.cache.offer({ tenantId, revision, menus });
      await this.publishSnapshot({ tenantId, revision, menus });
      await this.announce(tenantId, revision, saved, change.deletes);
      return { revision, menus: saved };
    }
    throw new GrpcStatusError(grpc.status.ABORTED, `menus of tenant ${tenantId} keep changing; try again`);
  }

  private async publishSnapshot(set: StoredMenuSet): Promise<void> {
    try {
      await this.snapshots.publish(set);
    } catch (error) {
      // The save stands; a replica's next resync writes the snapshot it finds missing.
      this.logger.error({ err: error, tenantId: set.tenantId, revision: set.revision }, 'menu snapshot not published');
    }
  }

  private async announce(tenantId: string, revision: number, saved: Menu[], deleted: readonly string[]) {
    try {
      await this.publish(IvrEvents.menuChanged, {
        meta: newEventMeta(tenantId, 'ivr'),
        revision: String(revision),
        changedMenuIds: saved.map((menu) => menu.menuId),
        deletedMenuIds: [...deleted],
      });
    } catch (error) {
      // The save stands; other replicas catch up at their next resync.
      this.logger.error({ err: error, tenantId, revision }, 'menu_changed not published');
    }
  }
}

function notFound(tenantId: string, menuId: string): GrpcStatusError {
  return new GrpcStatusError(grpc.status.NOT_FOUND, `menu "${menuId}" not found in tenant ${tenantId}`);
}
