import * as grpc from '@grpc/grpc-js';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { presenceV1 } from '@switchboard/proto';
import { GrpcStatusError, mirrorKv, type KvMirror, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { LineIndex } from './lines.js';
import { presenceMetrics } from './metrics.js';
import { deadlineOf, expire } from './transitions.js';

type Agent = presenceV1.Agent;

/** An agent as stored, with the KV revision a compare-and-set must match. */
export interface StoredAgent {
  readonly agent: Agent;
  readonly revision: number;
}

// Ids become KV key tokens; NATS refuses long subjects without an answer, so the length is bounded.
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
/** `presence.returned{reason}` by the state the sweeper ends. */
const RETURN_REASONS: Partial<Record<presenceV1.AgentState, string>> = {
  [presenceV1.AgentState.AGENT_STATE_RINGING]: 'lease_expired',
  [presenceV1.AgentState.AGENT_STATE_WRAP_UP]: 'wrap_up_over',
  [presenceV1.AgentState.AGENT_STATE_PHONE_BUSY]: 'busy_over',
};
const MAX_ATTEMPTS = 20;

export function checkId(kind: string, value: string): string {
  if (!TOKEN.test(value)) {
    throw new GrpcStatusError(
      grpc.status.INVALID_ARGUMENT,
      `${kind} "${value.slice(0, 40)}${value.length > 40 ? '…' : ''}" must be 1–128 letters, digits, "-" or "_"`,
    );
  }
  return value;
}

export function agentKey(tenantId: string, agentId: string): string {
  return `${checkId('tenant_id', tenantId)}.${checkId('agent_id', agentId)}`;
}

function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export interface AgentStoreOptions {
  bucket: string;
  replicas: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * Live agents in a NATS KV bucket (keys `<tenantId>.<agentId>`, protobuf `Agent` values). Every
 * replica keeps a copy in memory from a KV watch, so reads on the hot path cost nothing; every
 * write is a compare-and-set on the revision it read, so two replicas never both win.
 *
 * The sweeper lives here too: each replica arms a timer for every lease, wrap-up and busy
 * back-off it sees and, when it fires, tries the revision-checked transition back to available.
 * Whichever replica writes first wins; the others find the agent already changed.
 */
export class AgentStore {
  private readonly agents = new Map<string, Map<string, StoredAgent>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => Date;
  private closed = false;
  private mirror: KvMirror | undefined;
  /** Highest bucket sequence the watch has applied. */
  private seen = 0;
  private readonly catchUpWaiters = new Set<{ sequence: number; resolve(): void }>();
  /** Devices and home-office numbers to agents, for call legs that carry no agent id. */
  private readonly lines = new LineIndex();
  /** Per tenant, each department's members by id: Reserve looks at the department's members only. */
  private readonly members = new Map<string, Map<string, Map<string, Agent>>>();

  private constructor(
    readonly kv: KV,
    private readonly logger: Logger,
    now: (() => Date) | undefined,
  ) {
    this.now = now ?? (() => new Date());
  }

  /** Opens (or creates) the bucket and resolves once the in-memory copy holds every stored agent. */
  static async open(nats: NatsHandle, options: AgentStoreOptions): Promise<AgentStore> {
    const kv = await new Kvm(nats.js).create(options.bucket, { history: 1, replicas: options.replicas });
    const store = new AgentStore(kv, options.logger, options.now);
    await store.follow();
    return store;
  }

  private async follow(): Promise<void> {
    this.mirror = await mirrorKv(this.kv, (entry) => this.apply(entry), { logger: this.logger, what: 'presence' });
  }

  private apply(entry: KvEntry): void {
    this.seen = Math.max(this.seen, entry.revision);
    for (const waiter of this.catchUpWaiters) {
      if (waiter.sequence <= this.seen) {
        this.catchUpWaiters.delete(waiter);
        waiter.resolve();
      }
    }
    const [tenantId, agentId] = entry.key.split('.');
    if (!tenantId || !agentId) return;
    if (entry.operation !== 'PUT') {
      this.forget(tenantId, agentId);
      return;
    }
    // This replica's own writes come back through the watch: already remembered, not decoded again.
    const cached = this.get(tenantId, agentId);
    if (cached && cached.revision >= entry.revision) return;
    let agent: Agent;
    try {
      agent = presenceV1.Agent.decode(entry.value);
    } catch (error) {
      this.logger.error({ err: error, key: entry.key }, 'undecodable agent in the presence bucket; ignored');
      return;
    }
    this.remember(tenantId, agentId, { agent, revision: entry.revision });
  }

  /** Keeps the newer of what is cached and what arrived (a watch may lag behind our own write). */
  private remember(tenantId: string, agentId: string, stored: StoredAgent): StoredAgent {
    let tenant = this.agents.get(tenantId);
    if (!tenant) this.agents.set(tenantId, (tenant = new Map()));
    const cached = tenant.get(agentId);
    if (cached && cached.revision >= stored.revision) return cached;
    this.lines.update(tenantId, agentId, cached?.agent, stored.agent);
    this.updateMembers(tenantId, agentId, cached?.agent, stored.agent);
    tenant.set(agentId, stored);
    this.arm(`${tenantId}.${agentId}`, stored.agent);
    return stored;
  }

  private updateMembers(tenantId: string, agentId: string, before: Agent | undefined, after: Agent | undefined): void {
    let tenant = this.members.get(tenantId);
    if (!tenant) this.members.set(tenantId, (tenant = new Map()));
    for (const { departmentId } of before?.departments ?? []) {
      if (after?.departments.some((membership) => membership.departmentId === departmentId)) continue;
      const members = tenant.get(departmentId);
      members?.delete(agentId);
      if (members?.size === 0) tenant.delete(departmentId);
    }
    for (const { departmentId } of after?.departments ?? []) {
      let members = tenant.get(departmentId);
      if (!members) tenant.set(departmentId, (members = new Map()));
      members.set(agentId, after!);
    }
  }

  private arm(key: string, agent: Agent): void {
    this.disarm(key);
    const deadline = deadlineOf(agent);
    if (deadline === undefined || this.closed) return;
    const reason = RETURN_REASONS[agent.state] ?? 'wrap_up_over';
    const fire = () => {
      this.timers.delete(key);
      // Timers may fire a little early by the wall clock; a transition before the deadline is refused.
      const early = deadline - this.now().getTime();
      if (early > 0) return this.schedule(key, fire, early);
      this.mutate(agent.tenantId, agent.agentId, (current) => current && expire(current, this.now())).then(
        ({ changed }) => changed && presenceMetrics.returned.add(1, { reason }),
        (error: unknown) => {
          this.logger.error(
            { err: error, key },
            'returning an agent after its lease, wrap-up or back-off failed; retrying',
          );
          if (!this.closed && !this.timers.has(key)) this.schedule(key, fire, 1_000);
        },
      );
    };
    this.schedule(key, fire, Math.max(deadline - this.now().getTime(), 0));
  }

  private schedule(key: string, fire: () => void, delayMs: number): void {
    const timer = setTimeout(fire, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  private disarm(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  /**
   * Waits (up to `timeoutMs`) until the in-memory copy holds every write made before this call,
   * by any replica. One stream-info request; for the rare read that must not be stale.
   */
  async catchUp(timeoutMs = 500): Promise<void> {
    const sequence = (await this.kv.status()).streamInfo.state.last_seq;
    if (sequence <= this.seen) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const waiter = { sequence, resolve };
      this.catchUpWaiters.add(waiter);
      timer = setTimeout(() => {
        this.catchUpWaiters.delete(waiter);
        resolve();
      }, timeoutMs);
    });
    clearTimeout(timer);
  }

  /** True while the KV watch runs; `/readyz` reports it. */
  get following(): boolean {
    return this.mirror?.following ?? false;
  }

  get(tenantId: string, agentId: string): StoredAgent | undefined {
    return this.agents.get(tenantId)?.get(agentId);
  }

  /** Tenants this replica has agents of. */
  tenants(): string[] {
    return [...this.agents].filter(([, agents]) => agents.size > 0).map(([tenantId]) => tenantId);
  }

  /** The agent whose device or home-office number `line` is (see lines.ts), if exactly one. */
  ownerOf(tenantId: string, line: string): string | undefined {
    return this.lines.ownerOf(tenantId, line);
  }

  /** The tenant's agents as this replica last saw them. */
  list(tenantId: string): Agent[] {
    return [...(this.agents.get(tenantId)?.values() ?? [])].map((stored) => stored.agent);
  }

  /** The department's members as this replica last saw them. */
  departmentMembers(tenantId: string, departmentId: string): Agent[] {
    return [...(this.members.get(tenantId)?.get(departmentId)?.values() ?? [])];
  }

  private async fetch(tenantId: string, agentId: string): Promise<StoredAgent | undefined> {
    const entry = await this.kv.get(agentKey(tenantId, agentId));
    if (!entry || entry.operation !== 'PUT') return undefined;
    return this.remember(tenantId, agentId, {
      agent: presenceV1.Agent.decode(entry.value),
      revision: entry.revision,
    });
  }

  /**
   * Applies `change` to the agent and writes the result only if nobody wrote in between; on a
   * conflict it re-reads and applies `change` again. `change` returns undefined for "no change"
   * and throws to refuse. A refusal or "no change" decided on the in-memory copy is checked
   * once against the bucket first: this replica's copy may lag behind another replica's write.
   * Resolves to the agent after the change (or as it is) and whether this call changed it.
   */
  async mutate(
    tenantId: string,
    agentId: string,
    change: (current: Agent | undefined) => Agent | undefined,
  ): Promise<{ agent: Agent | undefined; changed: boolean }> {
    const key = agentKey(tenantId, agentId);
    let current = this.get(tenantId, agentId);
    let verified = false;
    const verify = async () => {
      const fresh = await this.fetch(tenantId, agentId);
      verified = true;
      const stale = fresh?.revision !== current?.revision;
      current = fresh;
      return stale;
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let next: Agent | undefined;
      try {
        next = change(current?.agent);
      } catch (error) {
        if (!verified && (await verify())) continue;
        throw error;
      }
      if (!next) {
        if (!verified && (await verify())) continue;
        return { agent: current?.agent, changed: false };
      }
      const value = presenceV1.Agent.encode(next).finish();
      try {
        const revision = current
          ? await this.kv.update(key, value, current.revision)
          : await this.kv.create(key, value);
        this.remember(tenantId, agentId, { agent: next, revision });
        return { agent: next, changed: true };
      } catch (error) {
        if (!isWrongRevision(error)) throw error;
        presenceMetrics.conflicts.add(1);
        await verify();
      }
    }
    throw new GrpcStatusError(grpc.status.ABORTED, `agent ${agentId} changed too often to update; retry`);
  }

  /** Deletes an agent (gone from the directory); a reservation or call of it is not waited for. */
  async remove(tenantId: string, agentId: string): Promise<void> {
    await this.kv.delete(agentKey(tenantId, agentId));
    this.forget(tenantId, agentId);
  }

  private forget(tenantId: string, agentId: string): void {
    this.lines.update(tenantId, agentId, this.get(tenantId, agentId)?.agent, undefined);
    this.updateMembers(tenantId, agentId, this.get(tenantId, agentId)?.agent, undefined);
    this.agents.get(tenantId)?.delete(agentId);
    this.disarm(`${tenantId}.${agentId}`);
  }

  close(): void {
    this.closed = true;
    this.mirror?.stop();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
