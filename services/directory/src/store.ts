import { randomUUID } from 'node:crypto';
import { withTypedErrors, type IndexDeclaration } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';
import { storedTenant, type DirectoryDocument, type Tenant } from './model.js';

// Storage: one pointer document per tenant naming its active snapshot `version`, and the
// entities in one collection per kind, each row tagged with the snapshot it belongs to.
// FerretDB has no transactions, so an import writes a new snapshot beside the active one and
// then switches the pointer in one single-document update: until the switch every reader sees
// the old snapshot, and a failed import only leaves rows of an unused version, deleted at once.

export const ENTITY_KINDS = ['sites', 'numbers', 'departments', 'staff'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];
type Entity<K extends EntityKind> = DirectoryDocument[K][number];

interface TenantRow {
  _id: string;
  tenant: Tenant;
  version: string;
  updatedAt: Date;
}

interface EntityRow<K extends EntityKind = EntityKind> {
  tenantId: string;
  version: string;
  key: string;
  data: Entity<K>;
}

const TENANTS = 'directory_tenants';
const collectionName = (kind: EntityKind) => `directory_${kind}`;

export const STORE_INDEXES: IndexDeclaration[] = [
  ...ENTITY_KINDS.map((kind) => ({
    collection: collectionName(kind),
    key: { tenantId: 1, version: 1, key: 1 },
    options: { name: 'tenant_version_key', unique: true },
  })),
  {
    collection: collectionName('staff'),
    key: { tenantId: 1, version: 1, 'data.extension': 1 },
    options: { name: 'tenant_version_extension', unique: true },
  },
];

export const entityKey = {
  sites: (site: Entity<'sites'>) => site.siteId,
  numbers: (number: Entity<'numbers'>) => number.number,
  departments: (department: Entity<'departments'>) => department.departmentId,
  staff: (staff: Entity<'staff'>) => staff.staffId,
} satisfies { [K in EntityKind]: (entity: Entity<K>) => string };

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class DirectoryStore {
  private readonly tenants: Collection<TenantRow>;

  constructor(private readonly db: Db) {
    this.tenants = db.collection<TenantRow>(TENANTS);
  }

  private entities<K extends EntityKind>(kind: K): Collection<EntityRow<K>> {
    return this.db.collection<EntityRow<K>>(collectionName(kind));
  }

  async tenantIds(): Promise<string[]> {
    const rows = await this.tenants.find({}, { projection: { _id: 1 } }).toArray();
    return rows.map((row) => row._id);
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.tenants.find({}).sort({ _id: 1 }).toArray();
    return rows.map((row) => storedTenant(row.tenant));
  }

  /** The tenant's active snapshot, or undefined when there is no such tenant. */
  async load(tenantId: string): Promise<{ document: DirectoryDocument; version: string } | undefined> {
    const pointer = await this.tenants.findOne({ _id: tenantId });
    if (!pointer) return undefined;
    const read = async <K extends EntityKind>(kind: K) => {
      const rows = await this.entities(kind).find({ tenantId, version: pointer.version }).sort({ key: 1 }).toArray();
      return rows.map((row) => row.data as Entity<K>);
    };
    const [sites, numbers, departments, staff] = await Promise.all([
      read('sites'),
      read('numbers'),
      read('departments'),
      read('staff'),
    ]);
    return {
      document: { tenant: storedTenant(pointer.tenant), sites, numbers, departments, staff },
      version: pointer.version,
    };
  }

  async createTenant(tenant: Tenant): Promise<string> {
    const version = randomUUID();
    await withTypedErrors(this.tenants, (tenants) =>
      tenants.insertOne({ _id: tenant.tenantId, tenant, version, updatedAt: new Date() }),
    );
    return version;
  }

  async updateTenant(tenant: Tenant): Promise<void> {
    const result = await this.tenants.updateOne({ _id: tenant.tenantId }, { $set: { tenant, updatedAt: new Date() } });
    if (result.matchedCount === 0) throw new NotFoundError(`tenant ${tenant.tenantId} not found`);
  }

  async deleteTenant(tenantId: string): Promise<void> {
    const result = await this.tenants.deleteOne({ _id: tenantId });
    if (result.deletedCount === 0) throw new NotFoundError(`tenant ${tenantId} not found`);
    await Promise.all(ENTITY_KINDS.map((kind) => this.entities(kind).deleteMany({ tenantId })));
  }

  private async activeVersion(tenantId: string): Promise<string> {
    const pointer = await this.tenants.findOne({ _id: tenantId }, { projection: { version: 1 } });
    if (!pointer) throw new NotFoundError(`tenant ${tenantId} not found`);
    return pointer.version;
  }

  async insert<K extends EntityKind>(tenantId: string, kind: K, entity: Entity<K>): Promise<void> {
    const version = await this.activeVersion(tenantId);
    const row = { tenantId, version, key: entityKey[kind](entity as never), data: entity } as EntityRow<K>;
    await withTypedErrors(this.entities(kind), (rows) => rows.insertOne(row as never));
  }

  async replace<K extends EntityKind>(tenantId: string, kind: K, entity: Entity<K>): Promise<void> {
    const version = await this.activeVersion(tenantId);
    const key = entityKey[kind](entity as never);
    const result = await withTypedErrors(this.entities(kind), (rows) =>
      rows.updateOne({ tenantId, version, key } as never, { $set: { data: entity } } as never),
    );
    if (result.matchedCount === 0) throw new NotFoundError(`${kind} ${key} not found in tenant ${tenantId}`);
  }

  async remove(tenantId: string, kind: EntityKind, key: string): Promise<void> {
    const version = await this.activeVersion(tenantId);
    const result = await this.entities(kind).deleteOne({ tenantId, version, key });
    if (result.deletedCount === 0) throw new NotFoundError(`${kind} ${key} not found in tenant ${tenantId}`);
  }

  /**
   * Replaces the whole tenant (stage and swap, see above). Returns the new version; on failure the
   * previous snapshot stays active and the staged rows are removed.
   */
  async replaceTenant(document: DirectoryDocument): Promise<string> {
    const tenantId = document.tenant.tenantId;
    const version = randomUUID();
    try {
      for (const kind of ENTITY_KINDS) {
        const rows = (document[kind] as Entity<EntityKind>[]).map((entity) => ({
          tenantId,
          version,
          key: entityKey[kind](entity as never),
          data: entity,
        }));
        if (rows.length > 0) {
          await withTypedErrors(this.entities(kind), (collection) =>
            collection.insertMany(rows as never[], { ordered: false }),
          );
        }
      }
      await this.tenants.updateOne(
        { _id: tenantId },
        { $set: { tenant: document.tenant, version, updatedAt: new Date() } },
        { upsert: true },
      );
    } catch (error) {
      await this.dropOtherVersions(tenantId, version, 'only');
      throw error;
    }
    await this.dropOtherVersions(tenantId, version, 'except');
    return version;
  }

  private async dropOtherVersions(tenantId: string, version: string, which: 'only' | 'except'): Promise<void> {
    const filter = { tenantId, version: which === 'only' ? version : { $ne: version } };
    await Promise.all(ENTITY_KINDS.map((kind) => this.entities(kind).deleteMany(filter as never)));
  }
}
