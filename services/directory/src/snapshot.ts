import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { metrics } from '@opentelemetry/api';
import { directorySnapshotV1 } from '@switchboard/proto';
import { KeyedCoalescer } from '@switchboard/service-kit';
import { departmentOut, numberOut, siteOut, staffOut, tenantOut } from './convert.js';
import type { DirectoryDocument } from './model.js';

// The tenant's read model in the KV bucket `directory-snapshots` (key = tenant id), which routing
// follows in memory (libs/directory-cache). Written after every committed change and, at start
// and on the periodic reload, for every tenant; a snapshot whose content is already there is
// left alone.

type TenantSnapshot = directorySnapshotV1.TenantSnapshot;
const { TenantSnapshot } = directorySnapshotV1;

/** Tries before a publish gives up when other replicas keep writing the same tenant's snapshot. */
const ATTEMPTS = 10;

const meter = metrics.getMeter('@switchboard/directory');
const snapshotSize = meter.createHistogram('directory.snapshot.size', {
  description: 'Size of each tenant snapshot written to the directory-snapshots bucket.',
  unit: 'By',
  advice: { explicitBucketBoundaries: [1_024, 4_096, 16_384, 65_536, 131_072, 262_144, 524_288, 1_048_576] },
});
const snapshotTooLarge = meter.createCounter('directory.snapshot.too_large', {
  description: 'Snapshots not written because they exceed the NATS server max_payload; readers keep the older one.',
  unit: '{snapshot}',
});

/**
 * The snapshot of a stored tenant. The store reads every kind sorted by its key, so the same
 * tenant always gives the same bytes. Device credentials are not part of the document.
 */
export function tenantSnapshot(document: DirectoryDocument, revision = '0', publishedAt?: Date): TenantSnapshot {
  return {
    tenantId: document.tenant.tenantId,
    revision,
    publishedAt,
    tenant: tenantOut(document.tenant),
    sites: document.sites.map(siteOut),
    numbers: document.numbers.map(numberOut),
    departments: document.departments.map(departmentOut),
    staff: document.staff.map(staffOut),
  };
}

/** A snapshot over the server's max_payload: the change is stored, but readers keep the older snapshot. */
export class SnapshotTooLargeError extends Error {
  override readonly name = 'SnapshotTooLargeError';
}

function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

const contentOf = (snapshot: TenantSnapshot) =>
  TenantSnapshot.encode({ ...snapshot, revision: '0', publishedAt: undefined }).finish();

function sameContent(stored: Uint8Array, next: Uint8Array): boolean {
  try {
    return Buffer.from(contentOf(TenantSnapshot.decode(stored))).equals(next);
  } catch {
    return false;
  }
}

export class SnapshotPublisher {
  /** One publish of a tenant at a time in this replica; requests meanwhile share the next one. */
  private readonly publishes = new KeyedCoalescer<TenantSnapshot | undefined>();

  constructor(
    private readonly kv: KV,
    /** The tenant as stored now (MongoDB), undefined when it does not exist. */
    private readonly load: (tenantId: string) => Promise<DirectoryDocument | undefined>,
    /** The largest message the NATS server takes (its max_payload). */
    private readonly maxPayload: () => number,
  ) {}

  /**
   * Writes the tenant's snapshot as stored now, unless the bucket holds one with the same content,
   * or deletes its key when the tenant is gone. Resolves with the snapshot in the bucket afterwards.
   * Publishes of a tenant run one at a time; requests while one runs share the next one, which
   * reads the database after they were made.
   */
  publish(tenantId: string): Promise<TenantSnapshot | undefined> {
    return this.publishes.run(tenantId, () => this.write(tenantId));
  }

  /** The snapshot in the bucket; written first when the bucket has none (GetSnapshot). */
  async current(tenantId: string): Promise<TenantSnapshot | undefined> {
    const entry = await this.kv.get(tenantId);
    if (entry?.operation === 'PUT') return TenantSnapshot.decode(entry.value);
    return this.publish(tenantId);
  }

  private async write(tenantId: string): Promise<TenantSnapshot | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      // Read the bucket before the database: a write that lands after this read conflicts below,
      // and the retry reads the database again, so an older state never replaces a newer one.
      const entry = await this.kv.get(tenantId);
      const stored = entry?.operation === 'PUT' ? entry : undefined;
      const previousSeq = entry?.revision ?? 0;
      const document = await this.load(tenantId);
      try {
        if (!document) {
          if (stored) await this.kv.delete(tenantId, { previousSeq });
          return undefined;
        }
        // Nothing changed (an update to the same values, the start and periodic passes): no new revision.
        if (stored && sameContent(stored.value, contentOf(tenantSnapshot(document)))) {
          return TenantSnapshot.decode(stored.value);
        }
        const snapshot = tenantSnapshot(document, String(previousSeq + 1), new Date());
        const bytes = TenantSnapshot.encode(snapshot).finish();
        const limit = this.maxPayload();
        if (bytes.length > limit) {
          snapshotTooLarge.add(1);
          throw new SnapshotTooLargeError(
            `the snapshot of tenant ${tenantId} is ${bytes.length} bytes, more than the NATS server's max_payload ` +
              `(${limit}); the change is stored, but readers keep the previous snapshot until max_payload is raised`,
          );
        }
        await this.kv.put(tenantId, bytes, { previousSeq });
        snapshotSize.record(bytes.length);
        return snapshot;
      } catch (error) {
        if (!isWrongRevision(error) || attempt === ATTEMPTS) throw error;
      }
    }
  }
}
