import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { presenceV1 } from '@switchboard/proto';
import { mirrorKv, type KvMirror, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { encodeKeyToken } from './call-state.js';

// Department queues shared by all replicas: one KV entry per waiting caller in `routing-queue`,
// key `<tenant>.<department>.<arrival ms, 15 digits>-<callId>`, so key order is arrival order.
// Every replica mirrors the bucket through a watch; a caller may try to reserve an agent only
// when every caller ahead of it is already ringing an agent (first come, first served).

export interface QueueEntry {
  key: string;
  callId: string;
  enqueuedAt: number;
  ringing: boolean;
}

export interface QueuePosition {
  /** 1 is next. */
  position: number;
  /** Everyone ahead is ringing an agent: this caller may reserve. */
  mayReserve: boolean;
}

const ARRIVAL_DIGITS = 15;

export function queueKey(tenantId: string, departmentId: string, arrivalMs: number, callId: string): string {
  return `${tenantId}.${departmentId}.${String(arrivalMs).padStart(ARRIVAL_DIGITS, '0')}-${encodeKeyToken(callId)}`;
}

const byKey = (a: QueueEntry, b: QueueEntry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Position of `key` among the department's entries, and whether it may reserve. */
export function positionIn(entries: Iterable<QueueEntry>, key: string): QueuePosition | undefined {
  return positionInSorted([...entries].sort(byKey), key);
}

function positionInSorted(sorted: readonly QueueEntry[], key: string): QueuePosition | undefined {
  let mayReserve = true;
  for (let index = 0; index < sorted.length; index++) {
    const entry = sorted[index]!;
    if (entry.key === key) return { position: index + 1, mayReserve };
    mayReserve &&= entry.ringing;
  }
  return undefined;
}

/**
 * The departments whose waiting callers a change of an agent in presence's bucket may help: the
 * agent's departments when the agent is available now (nobody else can be reserved), none
 * otherwise; undefined when the value cannot be read (then every department of the tenant).
 */
export function departmentsToWake(entry: Pick<KvEntry, 'operation' | 'value'>): string[] | undefined {
  // A removed agent serves nobody.
  if (entry.operation !== 'PUT') return [];
  let agent: presenceV1.Agent;
  try {
    agent = presenceV1.Agent.decode(entry.value);
  } catch {
    return undefined;
  }
  if (agent.state !== presenceV1.AgentState.AGENT_STATE_AVAILABLE) return [];
  return agent.departments.map((membership) => membership.departmentId);
}

type Waiter = () => void;

/**
 * Callers waiting for a change, by `<tenant>.<department>` and queue key. A change wakes only the
 * caller it can let reserve (the first one not ringing), not the whole queue: with hundreds
 * waiting, waking everyone at every change cost each of them a position look-up per change.
 * The others look again at their periodic retry (position announcements, a lost queue entry).
 */
export class Wakeups {
  private readonly waiters = new Map<string, Map<string, Waiter>>();

  /** Wakes the caller with queue key `key` in the department, or every one of its callers. */
  wake(tenantId: string, departmentId: string, key?: string): void {
    const scope = `${tenantId}.${departmentId}`;
    const waiting = this.waiters.get(scope);
    if (!waiting) return;
    if (key === undefined) {
      this.waiters.delete(scope);
      for (const waiter of waiting.values()) waiter();
      return;
    }
    waiting.get(key)?.();
  }

  /** Wakes every waiting caller of the tenant. */
  wakeTenant(tenantId: string): void {
    const prefix = `${tenantId}.`;
    for (const scope of [...this.waiters.keys()]) {
      const [, departmentId] = scope.split('.');
      if (scope.startsWith(prefix) && departmentId) this.wake(tenantId, departmentId);
    }
  }

  /** Resolves when the caller `key` is woken, after `timeoutMs` at the latest, or when `signal` aborts. */
  wait(tenantId: string, departmentId: string, key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const scope = `${tenantId}.${departmentId}`;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        const waiting = this.waiters.get(scope);
        if (waiting?.get(key) === done) {
          waiting.delete(key);
          if (waiting.size === 0) this.waiters.delete(scope);
        }
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done);
      let waiting = this.waiters.get(scope);
      if (!waiting) this.waiters.set(scope, (waiting = new Map()));
      waiting.set(key, done);
    });
  }
}

/** Presence owns its bucket: bind to it as it is, create it (as presence would) only when missing. */
async function openShared(nats: NatsHandle, kvm: Kvm, bucket: string): Promise<KV> {
  try {
    await nats.jsm.streams.info(`KV_${bucket}`);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    return kvm.create(bucket, { history: 1 });
  }
  return kvm.open(bucket);
}

export class DepartmentQueues {
  /** `<tenant>.<department>` → key → entry. */
  private readonly mirror = new Map<string, Map<string, QueueEntry>>();
  /** Sorted entries per department, rebuilt after a change (every waiter of it asks its position). */
  private readonly sorted = new Map<string, QueueEntry[]>();
  private readonly wakeups = new Wakeups();
  private readonly stops: Array<() => void> = [];
  private queueMirror: KvMirror | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  /** Opens the queue bucket, mirrors it, and watches presence to wake callers when agents change. */
  static async open(
    nats: NatsHandle,
    options: { bucket: string; presenceBucket: string; ttlMs: number; logger: Logger },
  ): Promise<DepartmentQueues> {
    const kvm = new Kvm(nats.js);
    const kv = await kvm.create(options.bucket, { history: 1, ttl: options.ttlMs });
    const queues = new DepartmentQueues(kv, options.logger);
    await queues.follow();
    await queues.followPresence(await openShared(nats, kvm, options.presenceBucket));
    return queues;
  }

  get following(): boolean {
    return this.queueMirror?.following ?? false;
  }

  private async follow(): Promise<void> {
    const mirror = await mirrorKv(this.kv, (entry) => this.apply(entry), { logger: this.logger, what: 'queue' });
    this.queueMirror = mirror;
    this.stops.push(() => mirror.stop());
  }

  private async followPresence(presence: KV): Promise<void> {
    const watch = await presence.watch({ include: KvWatchInclude.UpdatesOnly });
    this.stops.push(() => void watch.stop());
    void (async () => {
      for await (const entry of watch) {
        const tenantId = entry.key.split('.')[0];
        if (!tenantId) continue;
        const departments = departmentsToWake(entry);
        if (!departments) {
          this.logger.warn({ key: entry.key }, 'undecodable presence entry: waking every caller of the tenant');
          this.wakeups.wakeTenant(tenantId);
          continue;
        }
        for (const departmentId of departments) this.wakeHead(tenantId, departmentId);
      }
    })().catch((error: unknown) => this.logger.error({ err: error }, 'presence KV watch failed'));
  }

  private apply(entry: KvEntry): void {
    const [tenantId, departmentId] = entry.key.split('.');
    if (!tenantId || !departmentId) return;
    const department = `${tenantId}.${departmentId}`;
    this.sorted.delete(department);
    let entries = this.mirror.get(department);
    if (entry.operation !== 'PUT') {
      entries?.delete(entry.key);
    } else {
      if (!entries) this.mirror.set(department, (entries = new Map()));
      try {
        const value = entry.json<Omit<QueueEntry, 'key'>>();
        entries.set(entry.key, { key: entry.key, ...value });
      } catch (error) {
        this.logger.error({ err: error, key: entry.key }, 'undecodable queue entry; ignored');
      }
    }
    this.wakeHead(tenantId, departmentId);
  }

  /** Wakes the department's first caller not ringing: the one a change may let reserve. */
  private wakeHead(tenantId: string, departmentId: string): void {
    const head = this.entries(tenantId, departmentId).find((entry) => !entry.ringing);
    if (head) this.wakeups.wake(tenantId, departmentId, head.key);
  }

  async put(tenantId: string, departmentId: string, entry: QueueEntry): Promise<void> {
    const { key, ...value } = entry;
    await this.kv.put(key, JSON.stringify(value));
    // Our own write is in the mirror at once, not only when the watch delivers it; a caller now
    // ringing lets the next one reserve without waiting for the write to come back by the watch.
    const department = `${tenantId}.${departmentId}`;
    this.sorted.delete(department);
    let entries = this.mirror.get(department);
    if (!entries) this.mirror.set(department, (entries = new Map()));
    entries.set(key, entry);
    if (entry.ringing) this.wakeHead(tenantId, departmentId);
  }

  async remove(key: string): Promise<void> {
    await this.kv.delete(key);
    const [tenantId, departmentId] = key.split('.');
    if (!tenantId || !departmentId) return;
    this.sorted.delete(`${tenantId}.${departmentId}`);
    if (this.mirror.get(`${tenantId}.${departmentId}`)?.delete(key)) this.wakeHead(tenantId, departmentId);
  }

  position(tenantId: string, departmentId: string, key: string): QueuePosition | undefined {
    return positionInSorted(this.entries(tenantId, departmentId), key);
  }

  /** The department's waiting callers, first come first. */
  entries(tenantId: string, departmentId: string): QueueEntry[] {
    const department = `${tenantId}.${departmentId}`;
    let sorted = this.sorted.get(department);
    if (!sorted) {
      sorted = [...(this.mirror.get(department)?.values() ?? [])].sort(byKey);
      this.sorted.set(department, sorted);
    }
    return sorted;
  }

  /**
   * Resolves when a change of the department's queue or an agent of it becoming available may let
   * the caller `key` reserve (it is the first not ringing), after `timeoutMs` at the latest (the
   * periodic retry), or when `signal` aborts.
   */
  waitForChange(
    tenantId: string,
    departmentId: string,
    key: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    return this.wakeups.wait(tenantId, departmentId, key, timeoutMs, signal);
  }

  close(): void {
    for (const stop of this.stops) stop();
  }
}
