import type { KV } from '@nats-io/kv';
import { metrics, type Counter } from '@opentelemetry/api';
import { isShortened, normalizeNumber, sameNumber, shortenNumber } from '@switchboard/numbering';
import {
  PRIVACY_SHORTENED_METRIC,
  tenantRetentionCutoff,
  type DirectoryRpcClient,
  type ErasedCount,
} from '@switchboard/rpc-clients';
import type { Logger } from '@switchboard/service-kit';
import { isWrongRevision, type CallState } from './call-state.js';
import type { CallbackRequest } from './callback-worker.js';

// Data protection for what routing keeps in NATS KV (both buckets also expire with
// ROUTING_STATE_TTL_MS, a day by default): a callback request names the citizen to dial back, a
// call's state its caller and, for outbound and forwarded calls, the outside numbers dialled.
// Past the tenant's retention days — or on an erase — a callback request is withdrawn (deleted:
// a shortened number cannot be dialled back) and an ended call's numbers are shortened. A call
// still in progress is left alone: its state is the call's own (every write is compare-and-set,
// and a write from outside would make the replica running the call give it up); it is shortened
// by the next sweep once it has ended.

/** Every string in a call state that `due` picks as a number, shortened; undefined when none is. */
function shortenedState(state: CallState, due: (value: string) => boolean): CallState | undefined {
  let changed = false;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (isShortened(value) || !due(value)) return value;
      changed = true;
      return shortenNumber(value);
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, walk(field)]));
    }
    return value;
  };
  const next = walk(state) as CallState;
  return changed ? next : undefined;
}

/** A dialable outside number (E.164, national or international form), not an extension or id. */
const isOutsideNumber = (value: string) => normalizeNumber(value).kind === 'e164';

export class RoutingPrivacy {
  private readonly counter: Counter;

  constructor(
    private readonly calls: KV,
    private readonly callbacks: KV,
    private readonly directory: Pick<DirectoryRpcClient, 'exportTenant'>,
    private readonly logger: Logger,
  ) {
    this.counter = metrics.getMeter('@switchboard/routing').createCounter(PRIVACY_SHORTENED_METRIC.name, {
      description: PRIVACY_SHORTENED_METRIC.description,
      unit: PRIVACY_SHORTENED_METRIC.unit,
    });
  }

  async sweep(now: Date): Promise<number> {
    const cutoffs = new Map<string, Date | undefined>();
    const cutoffOf = async (tenantId: string): Promise<Date | undefined> => {
      if (!cutoffs.has(tenantId)) {
        cutoffs.set(
          tenantId,
          await tenantRetentionCutoff(this.directory, tenantId, now, this.logger, 'its calls wait'),
        );
      }
      return cutoffs.get(tenantId);
    };
    let total = 0;
    for (const key of await keysOf(this.callbacks, '>')) {
      const tenantId = key.split('.')[0]!;
      const cutoff = await cutoffOf(tenantId);
      const count = cutoff
        ? await this.withdrawCallback(key, (request) => Date.parse(request.requestedAt) < cutoff.getTime())
        : 0;
      this.count(tenantId, 'callback', 'retention', count);
      total += count;
    }
    for (const key of await keysOf(this.calls, '>')) {
      const tenantId = key.split('.')[0]!;
      const cutoff = await cutoffOf(tenantId);
      const count = cutoff
        ? await this.shortenCall(key, (state) => state.startedAt < cutoff.getTime(), isOutsideNumber)
        : 0;
      this.count(tenantId, 'call-state', 'retention', count);
      total += count;
    }
    if (total > 0) this.logger.info({ records: total }, 'retention shortened callback requests and call states');
    return total;
  }

  /** Withdraws the tenant's callback requests for `number` and shortens it in its ended calls. */
  async erase(tenantId: string, number: string): Promise<ErasedCount[]> {
    let callbacks = 0;
    for (const key of await keysOf(this.callbacks, `${tenantId}.>`)) {
      callbacks += await this.withdrawCallback(key, (request) => sameNumber(request.number, number));
    }
    let calls = 0;
    for (const key of await keysOf(this.calls, `${tenantId}.>`)) {
      calls += await this.shortenCall(
        key,
        () => true,
        (value) => sameNumber(value, number),
      );
    }
    this.count(tenantId, 'callback', 'erase', callbacks);
    this.count(tenantId, 'call-state', 'erase', calls);
    return [
      { kind: 'call-state', count: calls },
      { kind: 'callback', count: callbacks },
    ];
  }

  private count(tenantId: string, kind: string, reason: 'retention' | 'erase', count: number): void {
    if (count > 0) this.counter.add(count, { tenant: tenantId, kind, reason });
  }

  private async withdrawCallback(key: string, due: (request: CallbackRequest) => boolean): Promise<number> {
    const entry = await this.callbacks.get(key);
    if (!entry || entry.operation !== 'PUT') return 0;
    let request: CallbackRequest;
    try {
      request = entry.json<CallbackRequest>();
    } catch {
      return 0;
    }
    if (!due(request)) return 0;
    try {
      // `purge`, not `delete`: the bucket keeps no earlier revision holding the number either.
      await this.callbacks.purge(key, { previousSeq: entry.revision });
    } catch (error) {
      if (isWrongRevision(error)) return 0;
      throw error;
    }
    this.logger.info({ key }, 'callback request withdrawn by data protection');
    return 1;
  }

  private async shortenCall(
    key: string,
    old: (state: CallState) => boolean,
    due: (value: string) => boolean,
  ): Promise<number> {
    const entry = await this.calls.get(key);
    if (!entry || entry.operation !== 'PUT') return 0;
    const state = entry.json<CallState>();
    if (state.step !== 'ended' || !old(state)) return 0;
    const next = shortenedState(state, due);
    if (!next) return 0;
    try {
      await this.calls.update(key, JSON.stringify(next), entry.revision);
    } catch (error) {
      if (isWrongRevision(error)) return 0;
      throw error;
    }
    return 1;
  }
}

async function keysOf(kv: KV, filter: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  return keys;
}
