import { Kvm, type KV } from '@nats-io/kv';
import { type ivrServiceV1, ivrSnapshotV1 } from '@switchboard/proto';
import type { NatsHandle } from '@switchboard/service-kit';

// The contract between the ivr service (the only writer) and the services that mirror its menus:
// bucket `ivr-menus` (KV_BUCKETS.ivrMenus), key = tenant id, value = a binary MenuSnapshot.

export type MenuSnapshot = ivrSnapshotV1.MenuSnapshot;

/** The bucket's settings; the owner and a reader that finds it missing create it alike. */
export const MENU_BUCKET_CONFIG = { history: 1 } as const;

/** The KV key of a tenant's snapshot: the tenant id itself (tenant ids are valid KV keys). */
export function snapshotKey(tenantId: string): string {
  return tenantId;
}

export function encodeMenuSnapshot(snapshot: {
  tenantId: string;
  revision: number;
  publishedAt: Date;
  menus: readonly ivrServiceV1.Menu[];
}): Uint8Array {
  return ivrSnapshotV1.MenuSnapshot.encode({
    tenantId: snapshot.tenantId,
    revision: String(snapshot.revision),
    publishedAt: snapshot.publishedAt,
    menus: [...snapshot.menus],
  }).finish();
}

export function decodeMenuSnapshot(value: Uint8Array): MenuSnapshot {
  return ivrSnapshotV1.MenuSnapshot.decode(value);
}

/**
 * The menu bucket, created with MENU_BUCKET_CONFIG when missing (a reader may start before ivr);
 * an existing bucket is bound as it is, so nobody changes the settings it was made with.
 */
export async function openMenuBucket(nats: NatsHandle, bucket: string): Promise<KV> {
  return new Kvm(nats.js).create(bucket, MENU_BUCKET_CONFIG);
}
