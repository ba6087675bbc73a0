import type { KV } from '@nats-io/kv';
import { DuplicateKeyError } from '@switchboard/service-kit';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { AuditLog } from './audit-log.js';
import { type DirectoryCache, TenantView } from './cache.js';
import type { ChangePublisher } from './change-events.js';
import { type DeviceCredential, type DeviceCredentials, deviceOwners } from './device-credentials.js';
import {
  ValidationError,
  departmentSchema,
  documentSchema,
  numberSchema,
  parseOrThrow,
  siteSchema,
  staffSchema,
  tenantSchema,
  type DirectoryDocument,
  type PhoneNumber,
  type Staff,
  type Tenant,
} from './model.js';
import { referenceProblems } from './references.js';
import { SnapshotPublisher } from './snapshot.js';
import { type DirectoryStore, NotFoundError, entityKey, type EntityKind } from './store.js';

/** A delete or change that other entities still depend on. */
export class InUseError extends Error {
  override readonly name = 'InUseError';
}

export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
}

type Entity<K extends EntityKind> = DirectoryDocument[K][number];

const SCHEMAS = { sites: siteSchema, numbers: numberSchema, departments: departmentSchema, staff: staffSchema };
/** How a request names the entity, for field errors such as `site.address.postalCode`. */
const SINGULAR: Record<EntityKind, string> = {
  sites: 'site',
  numbers: 'number',
  departments: 'department',
  staff: 'staff',
};

/**
 * The directory's operations. Every write validates the whole tenant as it would be afterwards
 * (schema and references), writes MongoDB, then writes the tenant's snapshot to the
 * `directory-snapshots` bucket (what routing follows; reading the tenant for it refreshes this
 * replica's cache) and publishes the change event, on which other replicas refresh theirs.
 * Writes that add or remove devices bring the devices' SIP credentials along before the event,
 * so whoever provisions them re-reads the final state.
 */
export class Directory {
  private readonly reloads = new Map<string, Promise<void>>();
  readonly snapshots: SnapshotPublisher;

  constructor(
    private readonly store: DirectoryStore,
    readonly cache: DirectoryCache,
    private readonly events: ChangePublisher,
    private readonly credentials: DeviceCredentials,
    /** Every service's changes to the tenant, kept here (append-only) and listed to its admins. */
    readonly audit: AuditLog,
    /** The `directory-snapshots` bucket and the largest message the NATS server takes. */
    snapshotBucket: { kv: KV; maxPayload: () => number },
  ) {
    // The snapshot reads the tenant through this replica's cache: one MongoDB read per write.
    this.snapshots = new SnapshotPublisher(
      snapshotBucket.kv,
      async (tenantId) => {
        await this.refresh(tenantId);
        return this.cache.get(tenantId)?.document;
      },
      snapshotBucket.maxPayload,
    );
  }

  /**
   * Loads every tenant and forgets those that no longer exist, through their snapshots: each whose
   * content is missing or differs in the bucket is written, so one a failed or lost write left
   * behind heals. A snapshot that cannot be written (too large, NATS away) does not keep the other
   * tenants from loading: the tenant is loaded into the cache anyway and named in the answer.
   */
  async loadAll(): Promise<Array<{ tenantId: string; error: unknown }>> {
    const failures: Array<{ tenantId: string; error: unknown }> = [];
    const load = async (tenantId: string) => {
      try {
        await this.snapshots.publish(tenantId);
      } catch (error) {
        failures.push({ tenantId, error });
        await this.refresh(tenantId);
      }
    };
    const tenantIds = await this.store.tenantIds();
    for (const tenantId of tenantIds) await load(tenantId);
    // Tenants missing from the list are reloaded too (the load finds none and drops them) rather
    // than dropped here, which could drop one created after the list was read.
    for (const tenantId of this.cache.tenantIds()) {
      if (!tenantIds.includes(tenantId)) await load(tenantId);
    }
    return failures;
  }

  /**
   * Reloads one tenant from MongoDB into the cache (on a change, never per call). Reloads of a
   * tenant run one after another, so a slow older load never overwrites a newer one.
   */
  refresh(tenantId: string): Promise<void> {
    const load = async () => {
      const loaded = await this.store.load(tenantId);
      this.cache.set(tenantId, loaded && new TenantView(loaded.document, loaded.version));
    };
    const next = (this.reloads.get(tenantId) ?? Promise.resolve()).then(load, load);
    this.reloads.set(tenantId, next);
    const forget = () => {
      if (this.reloads.get(tenantId) === next) this.reloads.delete(tenantId);
    };
    next.then(forget, forget);
    return next;
  }

  /** The tenant's active snapshot as stored (MongoDB, not the cache). */
  async current(tenantId: string): Promise<DirectoryDocument> {
    const loaded = await this.store.load(tenantId);
    if (!loaded) throw new NotFoundError(`tenant ${tenantId} not found`);
    return loaded.document;
  }

  private check(document: DirectoryDocument, error: new (problems: string[]) => Error = ValidationError): void {
    const problems = referenceProblems(document);
    for (const number of this.cache.claimedElsewhere(document.tenant.tenantId, document.numbers)) {
      problems.push(`numbers[${number}].number: belongs to another tenant`);
    }
    for (const [staffId, device] of this.cache.devicesClaimedElsewhere(document.tenant.tenantId, document.staff)) {
      problems.push(
        `staff[${staffId}].devices: "${device}" belongs to another tenant (a device id is an Asterisk endpoint name, unique across all tenants)`,
      );
    }
    if (problems.length > 0) throw new error(problems);
  }

  async getTenant(tenantId: string): Promise<Tenant> {
    return (await this.current(tenantId)).tenant;
  }

  listTenants(): Promise<Tenant[]> {
    return this.store.listTenants();
  }

  async createTenant(input: unknown): Promise<Tenant> {
    const tenant = parseOrThrow(tenantSchema, input, 'tenant');
    try {
      await this.store.createTenant(tenant);
    } catch (error) {
      if ((error as Error).name === 'DuplicateKeyError') {
        throw new AlreadyExistsError(`tenant ${tenant.tenantId} already exists`);
      }
      throw error;
    }
    await this.snapshots.publish(tenant.tenantId);
    await this.events.tenant(tenant.tenantId, 'created', tenant, this.cache.get(tenant.tenantId)?.version ?? '');
    return tenant;
  }

  async updateTenant(input: unknown): Promise<Tenant> {
    const tenant = parseOrThrow(tenantSchema, input, 'tenant');
    await this.store.updateTenant(tenant);
    await this.snapshots.publish(tenant.tenantId);
    await this.events.tenant(tenant.tenantId, 'updated', tenant, this.cache.get(tenant.tenantId)?.version ?? '');
    return tenant;
  }

  async deleteTenant(tenantId: string): Promise<void> {
    await this.store.deleteTenant(tenantId);
    const owners = await this.credentials.removeTenant(tenantId);
    this.cache.set(tenantId, undefined);
    await this.snapshots.publish(tenantId);
    await this.events.tenant(tenantId, 'deleted', undefined, '');
    await this.publishStaffChanges(tenantId, owners, []);
  }

  async get<K extends EntityKind>(tenantId: string, kind: K, key: string): Promise<Entity<K>> {
    const document = await this.current(tenantId);
    const found = (document[kind] as Entity<K>[]).find((entity) => entityKey[kind](entity as never) === key);
    if (!found) throw new NotFoundError(`${SINGULAR[kind]} ${key} not found in tenant ${tenantId}`);
    return found;
  }

  async list<K extends EntityKind>(tenantId: string, kind: K): Promise<Entity<K>[]> {
    return (await this.current(tenantId))[kind] as Entity<K>[];
  }

  async put<K extends EntityKind>(
    tenantId: string,
    kind: K,
    input: unknown,
    mode: 'create' | 'update',
  ): Promise<Entity<K>> {
    const entity = parseOrThrow(SCHEMAS[kind], input, SINGULAR[kind]) as Entity<K>;
    const key = entityKey[kind](entity as never);
    const document = await this.current(tenantId);
    const entities = document[kind] as Entity<K>[];
    const exists = entities.some((other) => entityKey[kind](other as never) === key);
    if (mode === 'create' && exists) throw new AlreadyExistsError(`${SINGULAR[kind]} ${key} already exists`);
    if (mode === 'update' && !exists)
      throw new NotFoundError(`${SINGULAR[kind]} ${key} not found in tenant ${tenantId}`);
    const next = {
      ...document,
      [kind]: [...entities.filter((other) => entityKey[kind](other as never) !== key), entity],
    };
    this.check(next);
    if (mode === 'create') await this.store.insert(tenantId, kind, entity);
    else await this.store.replace(tenantId, kind, entity);
    if (kind === 'staff') await this.credentials.sync(tenantId, next.staff);
    await this.snapshots.publish(tenantId);
    await this.events.entity(tenantId, kind, mode === 'create' ? 'created' : 'updated', key, entity);
    return entity;
  }

  /**
   * Adds several numbers at once, all or none: validated together with the tenant, inserted one
   * by one, and when an insert fails (another replica took the number meanwhile) the ones this
   * call inserted are removed again before the error goes to the caller.
   */
  async addNumbers(tenantId: string, inputs: readonly unknown[]): Promise<PhoneNumber[]> {
    const numbers = inputs.map((input) => parseOrThrow(numberSchema, input, 'number'));
    const document = await this.current(tenantId);
    const next = { ...document, numbers: [...document.numbers, ...numbers] };
    this.check(next);
    const inserted: PhoneNumber[] = [];
    try {
      for (const number of numbers) {
        await this.store.insert(tenantId, 'numbers', number);
        inserted.push(number);
      }
    } catch (error) {
      for (const number of inserted) await this.store.remove(tenantId, 'numbers', number.number);
      if (error instanceof DuplicateKeyError) {
        const taken = numbers[inserted.length]!.number;
        throw new AlreadyExistsError(`number ${taken} was taken meanwhile; nothing was added, ask again`);
      }
      throw error;
    }
    await this.snapshots.publish(tenantId);
    for (const number of numbers) await this.events.entity(tenantId, 'numbers', 'created', number.number, number);
    return numbers;
  }

  async remove(tenantId: string, kind: EntityKind, key: string): Promise<void> {
    const document = await this.current(tenantId);
    const entities = document[kind] as Entity<EntityKind>[];
    if (!entities.some((entity) => entityKey[kind](entity as never) === key)) {
      throw new NotFoundError(`${SINGULAR[kind]} ${key} not found in tenant ${tenantId}`);
    }
    const next = { ...document, [kind]: entities.filter((entity) => entityKey[kind](entity as never) !== key) };
    this.check(next, InUseWithProblems);
    await this.store.remove(tenantId, kind, key);
    if (kind === 'staff') await this.credentials.sync(tenantId, next.staff);
    await this.snapshots.publish(tenantId);
    await this.events.entity(tenantId, kind, 'deleted', key, undefined);
  }

  /** Parses and validates a whole document; nothing is written unless all of it is valid. */
  parseDocument(tenantId: string, text: string): DirectoryDocument {
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw new ValidationError([`document: not YAML or JSON: ${(error as Error).message}`]);
    }
    const document = parseOrThrow(documentSchema, raw, 'document');
    if (document.tenant.tenantId !== tenantId) {
      throw new ValidationError([`document.tenant.tenantId: is "${document.tenant.tenantId}", expected "${tenantId}"`]);
    }
    this.check(document);
    return document;
  }

  async importTenant(tenantId: string, text: string): Promise<{ document: DirectoryDocument; version: string }> {
    const document = this.parseDocument(tenantId, text);
    const version = await this.store.replaceTenant(document);
    const changed = await this.credentials.sync(tenantId, document.staff);
    await this.snapshots.publish(tenantId);
    await this.events.tenant(tenantId, 'imported', document.tenant, version);
    await this.publishStaffChanges(tenantId, changed, document.staff);
    return { document, version };
  }

  /**
   * The tenant as one document; with `includeAudit` its audit log follows (`audit`, oldest first),
   * which an import ignores: the log is append-only and never replaced.
   */
  async exportTenant(tenantId: string, format: 'yaml' | 'json', includeAudit = false): Promise<string> {
    const document = await this.current(tenantId);
    const exported = includeAudit ? { ...document, audit: await this.audit.exportTenant(tenantId) } : document;
    return format === 'json' ? `${JSON.stringify(exported, null, 2)}\n` : stringifyYaml(exported);
  }

  /** The digest credentials of the tenant's current devices. */
  async listDeviceCredentials(tenantId: string): Promise<DeviceCredential[]> {
    return this.credentials.list(tenantId, deviceOwners((await this.current(tenantId)).staff));
  }

  /** A new random password for one device of the tenant, returned once. */
  async rotateDevicePassword(tenantId: string, deviceId: string): Promise<{ username: string; password: string }> {
    const { staff } = await this.current(tenantId);
    const owner = staff.find((member) => member.devices.includes(deviceId));
    if (!owner) throw new NotFoundError(`device ${deviceId} not found in tenant ${tenantId}`);
    const password = await this.credentials.rotate(tenantId, deviceId, owner.staffId);
    await this.events.entity(tenantId, 'staff', 'updated', owner.staffId, owner);
    return { username: deviceId, password };
  }

  /**
   * A staff event for each member whose devices' credentials changed in a bulk write (import,
   * tenant deleted), so whoever provisions devices need not follow tenant events too.
   */
  private async publishStaffChanges(tenantId: string, staffIds: Set<string>, staff: readonly Staff[]): Promise<void> {
    for (const staffId of staffIds) {
      const member = staff.find((entry) => entry.staffId === staffId);
      await this.events.entity(tenantId, 'staff', member ? 'updated' : 'deleted', staffId, member);
    }
  }
}

class InUseWithProblems extends InUseError {
  constructor(problems: string[]) {
    super(`still referenced: ${problems.join('; ')}`);
  }
}
