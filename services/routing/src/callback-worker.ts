import { setTimeout as delay } from 'node:timers/promises';
import type { KV, KvEntry } from '@nats-io/kv';
import { openState } from '@switchboard/opening-hours';
import { callV1 } from '@switchboard/proto';
import { recordOutboundDenied, type Logger } from '@switchboard/service-kit';
import type { FlowClients, TenantViews } from './clients.js';
import type { RoutingConfig } from './config.js';
import { queueKey, type DepartmentQueues } from './department-queue.js';
import { routingMetrics } from './metrics.js';

const { LegDisposition } = callV1;

/** A stored callback request, bucket `routing-callbacks`, key `<tenant>.<callId>`. */
export interface CallbackRequest {
  tenantId: string;
  /** The call that overflowed into the request. */
  callId: string;
  /** The citizen's number, dialled back. */
  number: string;
  departmentId: string;
  requestedAt: string;
  // Added with the dial-back; requests stored before lack them.
  /** The adapter that handled the original call; it places the callback. */
  adapterId?: string;
  /** Epoch ms of the original call's arrival: the callback queues by it. */
  arrivedAt?: number;
  /** Left the queue with the callback key: dialled only once every caller who arrived before is served. */
  keepsPlace?: boolean;
  /** Dial-back attempts that were not answered. */
  attempts?: number;
  /** Epoch ms before which the next attempt waits (back-off). */
  nextAttemptAt?: number;
  /**
   * Why the tenant's outbound policy refuses the number: the request is not dialled (it is still
   * dialled should the policy change before the request expires).
   */
  barred?: string;
}

export type CallbackOutcome = 'answered' | 'busy' | 'no_answer' | 'unavailable' | 'failed' | 'dropped' | 'barred';

const LEASE_KEY = 'callback-worker';

interface Lease {
  owner: string;
  expiresAt: number;
}

const OUTCOMES: Partial<Record<callV1.LegDisposition, CallbackOutcome>> = {
  [LegDisposition.LEG_DISPOSITION_ANSWERED]: 'answered',
  [LegDisposition.LEG_DISPOSITION_BUSY]: 'busy',
  [LegDisposition.LEG_DISPOSITION_NO_ANSWER]: 'no_answer',
  [LegDisposition.LEG_DISPOSITION_UNAVAILABLE]: 'unavailable',
};

export interface CallbackWorkerDeps {
  replicaId: string;
  config: RoutingConfig;
  logger: Logger;
  callbacks: KV;
  /** Bucket holding the worker lease: one replica at a time dials callbacks. */
  leases: KV;
  directory: TenantViews;
  clients: FlowClients;
  queues: DepartmentQueues;
}

/**
 * Dials stored callback requests back, only while their department is open. One replica at a
 * time works the bucket: it holds a lease key (compare-and-set on its revision, with an expiry
 * time in the value), renewed before every dial, so a crashed holder is replaced once the lease
 * runs out. A KV scan rather than a work queue, because requests must stay (and be looked at
 * again) while their department is closed.
 */
export class CallbackWorker {
  private readonly controller = new AbortController();
  private leaseRevision: number | undefined;
  /** Requests already logged as waiting for opening hours (logged once per replica). */
  private readonly waitingLogged = new Set<string>();

  constructor(private readonly deps: CallbackWorkerDeps) {}

  start(): void {
    void this.loop();
  }

  /**
   * Stops looking at requests and hands the lease on at once. A callback still ringing is not
   * waited for: a successor repeats its command id and the adapter answers with the same outcome.
   */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.releaseLease();
  }

  private async loop(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted) {
      try {
        await this.round();
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'callback round failed; retrying at the next one');
      }
      await delay(this.deps.config.ROUTING_CALLBACK_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private async round(): Promise<void> {
    if (!(await this.holdLease())) return;
    const keys: string[] = [];
    for await (const key of await this.deps.callbacks.keys()) keys.push(key);
    for (const key of keys) {
      if (this.controller.signal.aborted || !(await this.holdLease())) return;
      await this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    const { logger, config } = this.deps;
    const entry = await this.deps.callbacks.get(key);
    if (!entry || entry.operation !== 'PUT') return;
    let request: CallbackRequest;
    try {
      request = entry.json<CallbackRequest>();
    } catch (error) {
      return this.logOnce(key, () => logger.error({ err: error, key }, 'unreadable callback request; left as it is'));
    }
    if (!request.adapterId) {
      return this.logOnce(key, () =>
        logger.error({ key }, 'callback request without the adapter of its call (stored by an older routing)'),
      );
    }
    if ((request.nextAttemptAt ?? 0) > Date.now()) return;
    const tenantId = request.tenantId;
    // Open by the same copy of the directory the call flow decides by: a callback dialled while
    // that copy still has the department closed would only hear the closed notice.
    let view: Awaited<ReturnType<TenantViews['get']>>;
    try {
      view = await this.deps.directory.get(tenantId);
    } catch (error) {
      // An unreachable directory: the request waits rather than being lost.
      return this.logOnce(key, () =>
        logger.warn({ err: error, key }, 'could not tell whether the department is open; the callback waits'),
      );
    }
    const department = view.department(request.departmentId);
    if (!department) {
      return this.logOnce(key, () =>
        logger.warn(
          { key, department: request.departmentId },
          'callback for a department the directory does not know; it waits',
        ),
      );
    }
    const open = openState(view.schedule(department), new Date());
    if (open.state !== 'open') {
      return this.logOnce(key, () =>
        logger.info({ key, department: request.departmentId, reason: open.reason }, 'callback waits for opening hours'),
      );
    }
    if (request.keepsPlace) {
      // Waiting callers who arrived earlier (not yet ringing an agent) come first.
      const place = queueKey(tenantId, request.departmentId, request.arrivedAt ?? Date.parse(request.requestedAt), '');
      const ahead = this.deps.queues
        .entries(tenantId, request.departmentId)
        .filter((entry) => !entry.ringing && entry.key < place).length;
      if (ahead > 0) {
        return this.logOnce(`${key}#turn`, () =>
          logger.info({ key, ahead }, 'callback waits for its turn in the queue'),
        );
      }
    }
    this.waitingLogged.delete(key);
    this.waitingLogged.delete(`${key}#turn`);
    const attributes = { tenant: tenantId, department: request.departmentId };
    // The callback is an outside call of the department's site, as its site_id tag says.
    const decision = view.checkOutbound(request.number, department.siteId);
    if (!decision.allowed) {
      if (request.barred) return;
      logger.warn({ key, reason: decision.reason }, 'callback to a number the outbound policy bars; not dialled');
      routingMetrics.callbacks.add(1, { ...attributes, outcome: 'barred' });
      if (decision.category !== 'invalid') recordOutboundDenied(decision.category, 'callback');
      await this.update(entry, { ...request, barred: decision.reason });
      return;
    }
    const attempt = (request.attempts ?? 0) + 1;
    const ringSeconds = config.ROUTING_CALLBACK_RING_SECONDS;
    let outcome: CallbackOutcome;
    try {
      const response = await this.deps.clients
        .control(request.adapterId, ringSeconds * 1000 + config.ROUTING_RPC_TIMEOUT_MS * 2)
        .originate({
          tenantId,
          // Per attempt: a worker that takes over mid-ring repeats the command and gets its outcome.
          commandId: `callback:${key}:${attempt}`,
          number: decision.number,
          callerId: view.callerIdFor(department.siteId),
          ringTimeoutSeconds: ringSeconds,
          tags: {
            callback: 'true',
            department_id: request.departmentId,
            callback_of: request.callId,
            callback_arrived_at: String(request.arrivedAt ?? Date.parse(request.requestedAt)),
            ...(department.siteId ? { site_id: department.siteId } : {}),
          },
          waitForOutcome: true,
        });
      outcome = OUTCOMES[response.disposition] ?? 'failed';
    } catch (error) {
      logger.warn({ err: error, key, adapterId: request.adapterId }, 'callback originate failed');
      outcome = 'failed';
    }
    routingMetrics.callbacks.add(1, { ...attributes, outcome });
    if (outcome === 'answered') {
      logger.info({ key, attempt }, 'callback answered; the citizen joins the queue');
      await this.deps.callbacks.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
      return;
    }
    if (attempt >= config.ROUTING_CALLBACK_ATTEMPTS) {
      logger.warn({ key, number: request.number, attempt, outcome }, 'callback given up after its last attempt');
      routingMetrics.callbacks.add(1, { ...attributes, outcome: 'dropped' });
      await this.deps.callbacks.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
      return;
    }
    const backOff = config.ROUTING_CALLBACK_RETRY_MS * 2 ** (attempt - 1);
    logger.info({ key, attempt, outcome, retryInMs: backOff }, 'callback not answered; it is tried again later');
    // A request barred before and allowed now loses the mark (JSON leaves undefined out).
    await this.update(entry, { ...request, barred: undefined, attempts: attempt, nextAttemptAt: Date.now() + backOff });
  }

  private async update(entry: KvEntry, request: CallbackRequest): Promise<void> {
    await this.deps.callbacks.update(entry.key, JSON.stringify(request), entry.revision).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, key: entry.key }, 'callback request changed meanwhile; not updated');
    });
  }

  private logOnce(key: string, log: () => void): void {
    if (this.waitingLogged.has(key)) return;
    this.waitingLogged.add(key);
    log();
  }

  /** Takes or renews the lease; false while another live replica holds it. */
  private async holdLease(): Promise<boolean> {
    const { leases, replicaId, config } = this.deps;
    const value = JSON.stringify({ owner: replicaId, expiresAt: Date.now() + config.ROUTING_CALLBACK_LEASE_MS });
    if (this.leaseRevision !== undefined) {
      try {
        this.leaseRevision = await leases.update(LEASE_KEY, value, this.leaseRevision);
        return true;
      } catch {
        this.leaseRevision = undefined;
      }
    }
    const current = await leases.get(LEASE_KEY);
    try {
      if (!current || current.operation !== 'PUT') {
        this.leaseRevision = await leases.create(LEASE_KEY, value);
        return true;
      }
      const held = current.json<Lease>();
      if (held.owner !== replicaId && held.expiresAt > Date.now()) return false;
      this.leaseRevision = await leases.update(LEASE_KEY, value, current.revision);
      return true;
    } catch {
      // Another replica took it first.
      return false;
    }
  }

  private async releaseLease(): Promise<void> {
    if (this.leaseRevision === undefined) return;
    const value = JSON.stringify({ owner: this.deps.replicaId, expiresAt: 0 });
    await this.deps.leases.update(LEASE_KEY, value, this.leaseRevision).catch(() => undefined);
    this.leaseRevision = undefined;
  }
}
