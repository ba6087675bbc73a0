import type { IndexDeclaration } from '@switchboard/service-kit';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import type { Staff } from './model.js';
import { SecretBoxError, type SecretBox, type SealedSecret } from './secret-box.js';
import { digestHa1, newSipPassword } from './sip-digest.js';

// The SIP digest credentials of a tenant's devices, one row per device beside the directory's
// snapshots (a credential outlives imports of an unchanged document). Only the HA1 is kept,
// sealed with the directory's key; the clear password exists once, in the answer to a rotation.

interface CredentialRow {
  tenantId: string;
  deviceId: string;
  staffId: string;
  ha1: SealedSecret;
  updatedAt: Date;
}

/** What Asterisk's PJSIP auth needs for one device; `username` is the device id. */
export interface DeviceCredential {
  deviceId: string;
  staffId: string;
  username: string;
  realm: string;
  md5Cred: string;
}

const COLLECTION = 'directory_device_credentials';

export const CREDENTIAL_INDEXES: IndexDeclaration[] = [
  { collection: COLLECTION, key: { tenantId: 1, deviceId: 1 }, options: { name: 'tenant_device', unique: true } },
];

/** Device id → the staff member it belongs to (device ids are unique in a tenant). */
export function deviceOwners(staff: readonly Staff[]): Map<string, string> {
  return new Map(staff.flatMap((member) => member.devices.map((deviceId) => [deviceId, member.staffId] as const)));
}

export class DeviceCredentials {
  private readonly rows: Collection<CredentialRow>;

  constructor(
    db: Db,
    private readonly box: SecretBox,
    readonly realm: string,
  ) {
    this.rows = db.collection<CredentialRow>(COLLECTION);
  }

  /** Binds a sealed HA1 to its row, so it cannot be copied to another device. */
  private context(tenantId: string, deviceId: string): string {
    return `${tenantId}/${deviceId}`;
  }

  private sealedHa1(tenantId: string, deviceId: string, password: string): SealedSecret {
    return this.box.seal(digestHa1(deviceId, this.realm, password), this.context(tenantId, deviceId));
  }

  /**
   * Makes the stored credentials match the tenant's devices: a new device gets a random password
   * nobody is told (it cannot register until an admin rotates it), a removed one loses its
   * credential, a moved one keeps it. Returns the staff ids whose devices' credentials changed.
   */
  async sync(tenantId: string, staff: readonly Staff[]): Promise<Set<string>> {
    const owners = deviceOwners(staff);
    const rows = await this.rows.find({ tenantId }).toArray();
    const changed = new Set<string>();
    const operations: AnyBulkWriteOperation<CredentialRow>[] = [];
    for (const row of rows) {
      const owner = owners.get(row.deviceId);
      if (owner === row.staffId) continue;
      changed.add(row.staffId);
      if (owner === undefined) {
        operations.push({ deleteOne: { filter: { tenantId, deviceId: row.deviceId } } });
      } else {
        changed.add(owner);
        operations.push({
          updateOne: { filter: { tenantId, deviceId: row.deviceId }, update: { $set: { staffId: owner } } },
        });
      }
    }
    const known = new Set(rows.map((row) => row.deviceId));
    for (const [deviceId, staffId] of owners) {
      if (known.has(deviceId)) continue;
      changed.add(staffId);
      // An upsert that only inserts: a concurrent write that created the row first wins.
      const row = { tenantId, deviceId, staffId, ha1: this.sealedHa1(tenantId, deviceId, newSipPassword()) };
      operations.push({
        updateOne: {
          filter: { tenantId, deviceId },
          update: { $setOnInsert: { ...row, updatedAt: new Date() } },
          upsert: true,
        },
      });
    }
    if (operations.length > 0) await this.rows.bulkWrite(operations, { ordered: false });
    return changed;
  }

  /** The credentials of the given devices (a tenant's current ones), sorted by device id. */
  async list(tenantId: string, owners: ReadonlyMap<string, string>): Promise<DeviceCredential[]> {
    const rows = await this.rows.find({ tenantId }).sort({ deviceId: 1 }).toArray();
    return rows
      .filter((row) => owners.has(row.deviceId))
      .map((row) => ({
        deviceId: row.deviceId,
        staffId: owners.get(row.deviceId)!,
        username: row.deviceId,
        realm: this.realm,
        md5Cred: this.box.open(row.ha1, this.context(tenantId, row.deviceId)),
      }));
  }

  /** Gives the device a new random password, keeps its HA1 and returns the password (once). */
  async rotate(tenantId: string, deviceId: string, staffId: string): Promise<string> {
    const password = newSipPassword();
    await this.rows.updateOne(
      { tenantId, deviceId },
      { $set: { staffId, ha1: this.sealedHa1(tenantId, deviceId, password), updatedAt: new Date() } },
      { upsert: true },
    );
    return password;
  }

  /** Deletes every credential of the tenant; returns the staff ids that had one. */
  async removeTenant(tenantId: string): Promise<Set<string>> {
    const rows = await this.rows.find({ tenantId }, { projection: { staffId: 1 } }).toArray();
    await this.rows.deleteMany({ tenantId });
    return new Set(rows.map((row) => row.staffId));
  }

  /** Reseals records of previous keys with the current one (after a key change); returns how many. */
  async reseal(): Promise<number> {
    const stale = await this.rows.find({ 'ha1.keyId': { $ne: this.box.keyId } }).toArray();
    for (const row of stale) {
      const context = this.context(row.tenantId, row.deviceId);
      let clear: string;
      try {
        clear = this.box.open(row.ha1, context);
      } catch (error) {
        throw new SecretBoxError(
          `device credential ${context}: ${(error as Error).message}; give the key it was sealed with in DEVICE_SECRET_KEY or DEVICE_SECRET_KEYS_PREVIOUS`,
          { cause: error },
        );
      }
      const ha1 = this.box.seal(clear, context);
      await this.rows.updateOne(
        { tenantId: row.tenantId, deviceId: row.deviceId, 'ha1.keyId': row.ha1.keyId },
        {
          $set: { ha1 },
        },
      );
    }
    return stale.length;
  }
}
