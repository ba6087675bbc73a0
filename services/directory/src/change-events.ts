import { DirectoryEvents, type EventPayload, type EventType } from '@switchboard/events';
import { directoryEventsV1 } from '@switchboard/proto';
import { newEventMeta } from '@switchboard/service-kit';
import { departmentOut, numberOut, siteOut, staffOut, tenantOut } from './convert.js';
import type { DirectoryDocument, Tenant } from './model.js';
import type { EntityKind } from './store.js';

export type Change = 'created' | 'updated' | 'deleted' | 'imported';
type Entity<K extends EntityKind> = DirectoryDocument[K][number];

const CHANGE_KINDS: Record<Change, directoryEventsV1.ChangeKind> = {
  created: directoryEventsV1.ChangeKind.CHANGE_KIND_CREATED,
  updated: directoryEventsV1.ChangeKind.CHANGE_KIND_UPDATED,
  deleted: directoryEventsV1.ChangeKind.CHANGE_KIND_DELETED,
  imported: directoryEventsV1.ChangeKind.CHANGE_KIND_IMPORTED,
};

export interface ChangePublisher {
  tenant(tenantId: string, change: Change, tenant: Tenant | undefined, version: string): Promise<void>;
  entity<K extends EntityKind>(
    tenantId: string,
    kind: K,
    change: Change,
    key: string,
    entity: Entity<K> | undefined,
  ): Promise<void>;
}

type Publish = <T extends EventPayload>(type: EventType<T>, payload: T) => Promise<unknown>;

/** `sb.<tenant>.directory.<entity>_changed` events carrying the entity after the change. */
export function changePublisher(publish: Publish, producer: string): ChangePublisher {
  const base = (tenantId: string, change: Change) => ({
    meta: newEventMeta(tenantId, producer),
    change: CHANGE_KINDS[change],
  });
  return {
    async tenant(tenantId, change, tenant, version) {
      await publish(DirectoryEvents.tenantChanged, {
        ...base(tenantId, change),
        tenant: tenant && tenantOut(tenant),
        version,
      });
    },
    async entity(tenantId, kind, change, key, entity) {
      const common = base(tenantId, change);
      const value = entity as never;
      switch (kind) {
        case 'sites':
          await publish(DirectoryEvents.siteChanged, { ...common, siteId: key, site: entity && siteOut(value) });
          break;
        case 'numbers':
          await publish(DirectoryEvents.numberChanged, {
            ...common,
            number: key,
            phoneNumber: entity && numberOut(value),
          });
          break;
        case 'departments':
          await publish(DirectoryEvents.departmentChanged, {
            ...common,
            departmentId: key,
            department: entity && departmentOut(value),
          });
          break;
        case 'staff':
          await publish(DirectoryEvents.staffChanged, { ...common, staffId: key, staff: entity && staffOut(value) });
          break;
      }
    },
  };
}
