import type { Db } from 'mongodb';
import type { callV1 } from '@switchboard/proto';
import { billableLegs } from '../legs.js';
import { COLLECTIONS, unpack, type BatchDoc } from '../store.js';

/**
 * What a test compares to decide "every billable leg rated exactly once": the keys
 * (`<call>\t<leg>`) of the legs rating rates for these ended calls, and the keys its chains hold.
 */
export function billableLegKeys(tenantId: string, ended: readonly callV1.CallEnded[]): string[] {
  return ended.flatMap((event) => billableLegs(tenantId, event).map((leg) => `${leg.callId}\t${leg.legId}`));
}

/** Every leg key stored in the tenant's chains of rating version 1, once per link that holds it. */
export async function storedLegKeys(db: Db, tenantId: string): Promise<string[]> {
  const links = await db.collection<BatchDoc>(COLLECTIONS.batches).find({ tenantId, ratingVersion: 1 }).toArray();
  return links.flatMap((link) => unpack<string[]>(link.keys));
}
