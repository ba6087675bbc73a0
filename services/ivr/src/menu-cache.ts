import type { Logger } from '@switchboard/service-kit';
import { compileMenuSet, type CompiledMenuSet } from '@switchboard/ivr-menus';
import type { MenuStore, StoredMenuSet } from './menu-store.js';

const EMPTY: CompiledMenuSet = { revision: 0, menus: new Map() };
/** A tenant is re-read for a menu it lacks at most this often, so unknown menu ids cannot load MongoDB. */
const MISS_RELOAD_INTERVAL_MS = 1_000;

/**
 * Validated menus of every tenant in memory, for EvaluateStep without a database read. A replica
 * learns of changes from menu_changed events and, as a safety net, from a periodic comparison of
 * revisions; it only ever moves forward, so repeated or late events change nothing.
 */
export class MenuCache {
  private readonly sets = new Map<string, CompiledMenuSet>();
  private readonly missReloads = new Map<string, { at: number; done: Promise<void> }>();

  constructor(
    private readonly store: MenuStore,
    private readonly logger: Logger,
  ) {}

  get(tenantId: string): CompiledMenuSet {
    return this.sets.get(tenantId) ?? EMPTY;
  }

  /**
   * The tenant's menus, re-read first when `menuId` is missing: a replica that has not yet seen the
   * menu_changed event of a save on another replica then answers as that one would.
   */
  async withMenu(tenantId: string, menuId: string): Promise<CompiledMenuSet> {
    if (this.get(tenantId).menus.has(menuId)) return this.get(tenantId);
    let reload = this.missReloads.get(tenantId);
    if (!reload || Date.now() - reload.at >= MISS_RELOAD_INTERVAL_MS) {
      reload = { at: Date.now(), done: this.store.load(tenantId).then((set) => this.offer(set)) };
      this.missReloads.set(tenantId, reload);
    }
    await reload.done;
    return this.get(tenantId);
  }

  revision(tenantId: string): number {
    return this.get(tenantId).revision;
  }

  /** Every tenant held, with its menus as stored (for the snapshots routing mirrors). */
  *stored(): IterableIterator<StoredMenuSet> {
    for (const [tenantId, set] of this.sets) {
      yield { tenantId, revision: set.revision, menus: [...set.menus.values()].map((compiled) => compiled.menu) };
    }
  }

  /** Takes a set read from (or just written to) MongoDB if it is newer than the one held. */
  offer(set: StoredMenuSet): void {
    if (set.revision <= this.revision(set.tenantId)) return;
    this.sets.set(set.tenantId, compileMenuSet(set.revision, set.menus));
    this.logger.debug({ tenantId: set.tenantId, revision: set.revision }, 'menus refreshed');
  }

  async loadAll(): Promise<void> {
    for (const set of await this.store.loadAll()) this.offer(set);
  }

  /** Reloads a tenant when it is behind `revision` (from a menu_changed event). */
  async refresh(tenantId: string, revision: number): Promise<void> {
    if (revision <= this.revision(tenantId)) return;
    this.offer(await this.store.load(tenantId));
  }

  async resync(): Promise<void> {
    for (const [tenantId, revision] of await this.store.revisions()) await this.refresh(tenantId, revision);
  }
}
