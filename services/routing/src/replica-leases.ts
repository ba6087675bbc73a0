import { randomBytes } from 'node:crypto';
import { KvWatchInclude, type KV } from '@nats-io/kv';
import type { Logger, NatsHandle } from '@switchboard/service-kit';

// Which routing replicas are alive: each puts its own key in the `routing-replicas` bucket every
// ROUTING_LEASE_RENEW_MS and watches the whole bucket. A replica whose key was not renewed for
// ROUTING_LEASE_MS, by the watcher's own clock (when it received the renewals, never the time a
// writer put in them: no clock-skew dependence), is dead, and the survivors take its calls over.

/** This process's name in call state and the lease bucket: unique per start (a restarted pod keeps its hostname and pid 1). */
export function instanceId(replicaId: string): string {
  return `${replicaId}.${randomBytes(4).toString('hex')}`;
}

export interface LivenessOptions {
  /** This replica's instance id: its own renewals tell the watcher that its view is current. */
  self: string;
  leaseMs: number;
}

/**
 * The judgement, without I/O (tested with an injected clock). A replica is judged only once its
 * lease was seen: an owner that never had one (a routing that predates leases) is left to the
 * redelivery of its call.started. The watcher judges nobody while it cannot trust its own view —
 * its own renewal did not come back through the watch for more than half a lease (its connection,
 * its watch or its event loop stalled) or its connection is down — and once its view is back it
 * restarts everyone's clock instead of counting the time it could not see as silence.
 */
export class ReplicaLiveness {
  private readonly lastSeen = new Map<string, number>();
  private readonly dead = new Set<string>();
  private selfSeenAt: number | undefined;
  private connected = true;

  constructor(private readonly options: LivenessOptions) {}

  /** A lease key was written (the replica renewed) at `now`, by the watcher's clock. */
  renewed(replica: string, now: number): void {
    if (replica === this.options.self) {
      if (this.selfSeenAt === undefined || now - this.selfSeenAt > this.trustWindow) this.restartClocks(now);
      this.selfSeenAt = now;
      return;
    }
    this.lastSeen.set(replica, now);
    this.dead.delete(replica);
  }

  /** A lease key was deleted: its replica stopped (it deletes its key last on shutdown). */
  removed(replica: string): void {
    if (replica === this.options.self || !this.lastSeen.has(replica)) return;
    this.dead.add(replica);
  }

  /** The connection is down: nobody is judged until it is back and the own renewal was seen again. */
  disconnected(): void {
    this.connected = false;
  }

  reconnected(now: number): void {
    this.connected = true;
    this.restartClocks(now);
  }

  /** Whether this watcher may judge others now. */
  trusted(now: number): boolean {
    return this.connected && this.selfSeenAt !== undefined && now - this.selfSeenAt <= this.trustWindow;
  }

  /**
   * Replicas found dead by `now` that were not dead before (each reported once until it renews
   * again). Nothing while the view is not trusted.
   */
  check(now: number): string[] {
    if (!this.trusted(now)) return [];
    const found: string[] = [];
    for (const [replica, seenAt] of this.lastSeen) {
      if (this.dead.has(replica) || now - seenAt <= this.options.leaseMs) continue;
      this.dead.add(replica);
      found.push(replica);
    }
    return found;
  }

  /** Dead: its lease ran out or was deleted. An owner whose lease was never seen is not (see the class). */
  isDead(replica: string): boolean {
    return this.dead.has(replica);
  }

  /** Live: its lease was seen and has not run out. */
  isLive(replica: string): boolean {
    return replica === this.options.self || (this.lastSeen.has(replica) && !this.dead.has(replica));
  }

  /** A dead replica that owns no call any more is forgotten (its key expires with the bucket's TTL). */
  forget(replica: string): void {
    this.lastSeen.delete(replica);
    this.dead.delete(replica);
  }

  get deadReplicas(): ReadonlySet<string> {
    return this.dead;
  }

  private get trustWindow(): number {
    return this.options.leaseMs / 2;
  }

  private restartClocks(now: number): void {
    for (const replica of this.lastSeen.keys()) if (!this.dead.has(replica)) this.lastSeen.set(replica, now);
  }
}

/**
 * Tells when this replica's own renewals were further apart than a lease: the others may have
 * found it dead meanwhile and taken its calls.
 */
export class OwnLease {
  private lastRenewedAt: number | undefined;

  constructor(private readonly leaseMs: number) {}

  /** A renewal was stored at `now`; true when the one before was more than a lease ago. */
  stored(now: number): boolean {
    const lapsed = this.lastRenewedAt !== undefined && now - this.lastRenewedAt > this.leaseMs;
    this.lastRenewedAt = now;
    return lapsed;
  }
}

export interface ReplicaLeasesOptions {
  self: string;
  leaseMs: number;
  renewMs: number;
  logger: Logger;
  /** Replicas just found dead (their calls are to be taken over). */
  onDead(replicas: string[]): void;
  /** Runs every quarter renewal period, after the dead are judged: the takeover pass. */
  onTick(): void;
  /** This replica's own lease lapsed (renewals further apart than a lease): it may have lost calls. */
  onLapsed(): void;
  now?: () => number;
}

/** The lease bucket's I/O: this replica's renewals, the watch of everyone's, the connection's state. */
export class ReplicaLeases {
  readonly liveness: ReplicaLiveness;
  private readonly own: OwnLease;
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  private watch: Awaited<ReturnType<KV['watch']>> | undefined;
  private watching = false;
  private stopped = false;
  private renewing = false;
  private failedRenewals = 0;

  constructor(
    private readonly kv: KV,
    private readonly options: ReplicaLeasesOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.liveness = new ReplicaLiveness({ self: options.self, leaseMs: options.leaseMs });
    this.own = new OwnLease(options.leaseMs);
  }

  /** True while the bucket's watch runs (`/readyz`). */
  get following(): boolean {
    return this.watching;
  }

  /** Puts this replica's key, then follows the bucket; resolves once the own key came back through the watch. */
  async start(nats: NatsHandle): Promise<void> {
    await this.renew();
    const watch = await this.kv.watch({ include: KvWatchInclude.LastValue });
    this.watch = watch;
    this.watching = true;
    let markSeen: () => void = () => undefined;
    const ownSeen = new Promise<void>((resolve) => (markSeen = resolve));
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation === 'PUT') {
          this.liveness.renewed(entry.key, this.now());
          if (entry.key === this.options.self) markSeen();
        } else {
          this.liveness.removed(entry.key);
        }
      }
    })()
      .catch((error: unknown) => {
        if (!this.stopped) this.options.logger.error({ err: error }, 'routing-replicas KV watch failed');
      })
      .finally(() => {
        this.watching = false;
        if (!this.stopped) this.options.logger.error('routing-replicas KV watch ended; this replica judges nobody');
      });
    void this.followConnection(nats);
    this.timers.push(
      setInterval(() => void this.renew(), this.options.renewMs),
      // A quarter renewal: a death is acted on at most that long after the lease ran out.
      setInterval(() => this.tick(), Math.max(this.options.renewMs / 4, 10)),
    );
    await ownSeen;
  }

  /** Stops renewing and deletes the own key: the others see this replica gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.watch?.stop();
    await this.kv.delete(this.options.self).catch(() => undefined);
  }

  private tick(): void {
    const dead = this.liveness.check(this.now());
    if (dead.length > 0) this.options.onDead(dead);
    this.options.onTick();
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    try {
      await this.kv.put(this.options.self, JSON.stringify({ renewedAt: new Date().toISOString() }), {
        timeout: this.options.leaseMs,
      });
      if (this.failedRenewals > 0) {
        this.options.logger.info({ failed: this.failedRenewals }, 'replica lease renewed again');
        this.failedRenewals = 0;
      }
      if (this.own.stored(this.now())) {
        this.options.logger.warn('own replica lease lapsed: the others may have taken calls over');
        this.options.onLapsed();
      }
    } catch (error) {
      // Logged once per outage, not at every renewal.
      if (this.failedRenewals++ === 0) this.options.logger.warn({ err: error }, 'replica lease not renewed');
    } finally {
      this.renewing = false;
    }
  }

  /** Ends when the connection closes. */
  private async followConnection(nats: NatsHandle): Promise<void> {
    for await (const status of nats.connection.status()) {
      if (status.type === 'disconnect') this.liveness.disconnected();
      if (status.type === 'reconnect') this.liveness.reconnected(this.now());
    }
  }
}
