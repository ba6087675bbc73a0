import { ivrServiceV1 } from '@switchboard/proto';
import { DuplicateKeyError, withTypedErrors } from '@switchboard/service-kit';
import type { Collection, Db } from 'mongodb';

/**
 * All menus of a tenant live in one document, so a save that touches several menus (a new
 * submenu and its parent's option) is one atomic write, checked against the revision it was
 * validated at — no transactions needed, which FerretDB lacks.
 */
interface MenuSetDocument {
  _id: string;
  revision: number;
  menus: ivrServiceV1.Menu[];
  updatedAt: Date;
}

export interface StoredMenuSet {
  readonly tenantId: string;
  readonly revision: number;
  readonly menus: readonly ivrServiceV1.Menu[];
}

const COLLECTION = 'ivr_menu_sets';

// Stored as plain objects; Menu.fromPartial restores defaults for fields an older version lacked.
function fromDocument(document: MenuSetDocument): StoredMenuSet {
  return {
    tenantId: document._id,
    revision: document.revision,
    menus: document.menus.map((menu) => ivrServiceV1.Menu.fromPartial(menu)),
  };
}

export class MenuStore {
  private readonly collection: Collection<MenuSetDocument>;

  constructor(db: Db) {
    this.collection = db.collection<MenuSetDocument>(COLLECTION);
  }

  async load(tenantId: string): Promise<StoredMenuSet> {
    const document = await this.collection.findOne({ _id: tenantId });
    return document ? fromDocument(document) : { tenantId, revision: 0, menus: [] };
  }

  async loadAll(): Promise<StoredMenuSet[]> {
    return (await this.collection.find({}).toArray()).map(fromDocument);
  }

  /** Every tenant's current revision, to find what a replica missed. */
  async revisions(): Promise<Map<string, number>> {
    const documents = await this.collection.find({}, { projection: { revision: 1 } }).toArray();
    return new Map(documents.map((document) => [document._id, document.revision]));
  }

  /** Writes the set as revision `expected + 1`; false when someone else saved in between. */
  async replace(tenantId: string, expected: number, menus: ivrServiceV1.Menu[], now: Date): Promise<boolean> {
    const revision = expected + 1;
    if (expected === 0) {
      try {
        await withTypedErrors(this.collection, (c) => c.insertOne({ _id: tenantId, revision, menus, updatedAt: now }));
        return true;
      } catch (error) {
        if (error instanceof DuplicateKeyError) return false;
        throw error;
      }
    }
    const result = await this.collection.updateOne(
      { _id: tenantId, revision: expected },
      { $set: { revision, menus, updatedAt: now } },
    );
    return result.matchedCount === 1;
  }
}
