import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { KV_BUCKETS, rpcSubject } from '@switchboard/events';
import { directorySnapshotV1 } from '@switchboard/proto';
import {
  mirrorKv,
  natsRpcClient,
  type KvMirror,
  type Logger,
  type NatsHandle,
  type RpcClient,
} from '@switchboard/service-kit';
import { DirectoryModel } from './model.js';

// The directory's snapshots followed into memory: the bucket `directory-snapshots` (key = tenant
// id, value = a TenantSnapshot) mirrored with the kit's mirrorKv. A tenant's view is built once
// per snapshot the bucket delivers, on the first look-up after it arrived, never per call. A
// tenant the bucket does not hold yet is asked for once over NATS (GetSnapshot).

/** The bucket, as its owner (directory) and its readers create it when they find none: the latest value per tenant. */
export function openSnapshotBucket(nats: NatsHandle): Promise<KV> {
  return new Kvm(nats.js).create(KV_BUCKETS.directorySnapshots, { history: 1 });
}

const { getSnapshot } = directorySnapshotV1.DirectorySnapshotServiceService;
/** GetSnapshot over NATS request/reply: `sb.<tenant>.directory.rpc.GetSnapshot`. */
export const SNAPSHOT_RPC_DEFINITION = { getSnapshot };
export type SnapshotSource = RpcClient<typeof SNAPSHOT_RPC_DEFINITION>;

export function snapshotRpcClient(nats: NatsHandle, timeoutMs = 2_000): SnapshotSource {
  return natsRpcClient(nats, {
    definition: SNAPSHOT_RPC_DEFINITION,
    subjectFor: (method, request) => rpcSubject('directory', request.tenantId, method),
    timeoutMs,
  });
}

interface Held<View> {
  view?: View;
  /** A snapshot the bucket delivered that no look-up has needed yet. */
  pending?: Uint8Array;
}

export interface SnapshotMirrorOptions<View> {
  /** Builds the reader's view of a tenant (called once per snapshot). */
  toView: (model: DirectoryModel) => View;
  /** Asked for a tenant the bucket does not hold (yet). */
  source: SnapshotSource;
  logger: Logger;
}

export class SnapshotMirror<View> {
  private readonly tenants = new Map<string, Held<View>>();
  private readonly loading = new Map<string, Promise<View>>();
  /** Counts the bucket's changes: an answer of GetSnapshot is kept only if none arrived meanwhile. */
  private changes = 0;
  private mirror?: KvMirror;

  constructor(private readonly options: SnapshotMirrorOptions<View>) {}

  /** Follows the bucket; resolves once every snapshot stored at that moment has been taken in. */
  async follow(kv: KV): Promise<void> {
    this.mirror = await mirrorKv(kv, (entry) => this.apply(entry), {
      logger: this.options.logger,
      what: 'directory snapshots',
    });
  }

  /** True while the bucket is followed; without it the copies go stale (report it in /readyz). */
  get following(): boolean {
    return this.mirror?.following ?? false;
  }

  stop(): void {
    this.mirror?.stop();
  }

  /** The tenant's view; asks GetSnapshot once when the bucket has none. Rejects NOT_FOUND for no such tenant. */
  get(tenantId: string): Promise<View> {
    const view = this.current(tenantId);
    if (view !== undefined) return Promise.resolve(view);
    let loading = this.loading.get(tenantId);
    if (!loading) {
      loading = this.load(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, loading);
    }
    return loading;
  }

  private apply(entry: KvEntry): void {
    this.changes += 1;
    if (entry.operation !== 'PUT') {
      this.tenants.delete(entry.key);
      return;
    }
    const held = this.tenants.get(entry.key) ?? {};
    held.pending = entry.value;
    this.tenants.set(entry.key, held);
  }

  private current(tenantId: string): View | undefined {
    const held = this.tenants.get(tenantId);
    if (!held?.pending) return held?.view;
    const bytes = held.pending;
    held.pending = undefined;
    try {
      held.view = this.options.toView(new DirectoryModel(directorySnapshotV1.TenantSnapshot.decode(bytes)));
    } catch (error) {
      this.options.logger.error({ err: error, tenantId }, 'undecodable directory snapshot; the previous copy stays');
    }
    return held.view;
  }

  private async load(tenantId: string): Promise<View> {
    const changes = this.changes;
    const { snapshot } = await this.options.source.getSnapshot({ tenantId });
    // The bucket's order wins: a snapshot or a deletion it delivered meanwhile is newer.
    const arrived = this.current(tenantId);
    if (arrived !== undefined) return arrived;
    const view = this.options.toView(
      new DirectoryModel(snapshot ?? directorySnapshotV1.TenantSnapshot.fromPartial({ tenantId })),
    );
    if (this.changes === changes) this.tenants.set(tenantId, { view });
    return view;
  }
}
