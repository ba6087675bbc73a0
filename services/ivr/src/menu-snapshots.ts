import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { decodeMenuSnapshot, encodeMenuSnapshot, openMenuBucket, snapshotKey } from '@switchboard/ivr-menus';
import type { NatsHandle } from '@switchboard/service-kit';
import type { StoredMenuSet } from './menu-store.js';

// A lost compare-and-set means another write landed, and ivr's writes only raise the revision, so
// retries end by themselves; the bound only guards against someone else writing the bucket.
const MAX_ATTEMPTS = 20;

function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * Writes each tenant's menus to the `ivr-menus` KV bucket for routing to mirror. Every write is a
 * compare-and-set on the entry it read, and only replaces a snapshot of a lower menu-set revision:
 * with several replicas (one saving, another publishing at start or resync from an older read) the
 * newest revision always stays.
 */
export class MenuSnapshots {
  /** Per tenant, the highest revision known to be in the bucket (written here or found there). */
  private readonly published = new Map<string, number>();

  constructor(
    private readonly kv: KV,
    private readonly now: () => Date = () => new Date(),
  ) {}

  static async open(nats: NatsHandle, bucket: string): Promise<MenuSnapshots> {
    return new MenuSnapshots(await openMenuBucket(nats, bucket));
  }

  /** Whether the bucket may lack `revision` of the tenant (nothing known there at or above it). */
  behind(tenantId: string, revision: number): boolean {
    return (this.published.get(tenantId) ?? 0) < revision;
  }

  /** Writes the set unless the bucket holds this revision or a newer one; true when it wrote. */
  async publish(set: StoredMenuSet): Promise<boolean> {
    const key = snapshotKey(set.tenantId);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const entry = await this.kv.get(key);
      const held = entry?.operation === 'PUT' ? this.revisionOf(entry.value) : 0;
      if (held >= set.revision) {
        this.note(set.tenantId, held);
        return false;
      }
      const value = encodeMenuSnapshot({ ...set, publishedAt: this.now() });
      try {
        // A deleted or purged key still has an entry (its marker) to compare against.
        await (entry ? this.kv.update(key, value, entry.revision) : this.kv.create(key, value));
        this.note(set.tenantId, set.revision);
        return true;
      } catch (error) {
        if (!isWrongRevision(error)) throw error;
      }
    }
    throw new Error(`the menu snapshot of tenant ${set.tenantId} kept changing while writing revision ${set.revision}`);
  }

  /** A value that does not decode is replaced, as any older snapshot would be. */
  private revisionOf(value: Uint8Array): number {
    try {
      return Number(decodeMenuSnapshot(value).revision);
    } catch {
      return 0;
    }
  }

  private note(tenantId: string, revision: number): void {
    if (revision > (this.published.get(tenantId) ?? 0)) this.published.set(tenantId, revision);
  }
}
