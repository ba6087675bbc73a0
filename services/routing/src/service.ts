import { Kvm } from '@nats-io/kv';
import { CALLS_STREAM } from '@switchboard/events';
import { routingV1 } from '@switchboard/proto';
import { openSnapshotBucket, snapshotRpcClient } from '@switchboard/directory-cache';
import { MenuMirror } from '@switchboard/ivr-menus';
import { directoryRpcClient, servePrivacyErase, startPrivacySweep } from '@switchboard/rpc-clients';
import { grpcImplementation, type ServiceDefinition } from '@switchboard/service-kit';
import { CallRouter } from './call-router.js';
import { InFlightCalls } from './in-flight-calls.js';
import { instanceId, ReplicaLeases } from './replica-leases.js';
import { CallbackWorker } from './callback-worker.js';
import { CallStateStore } from './call-state.js';
import { flowClients, ivrRpcClient } from './clients.js';
import { routingConfigSchema } from './config.js';
import { DepartmentQueues } from './department-queue.js';
import { directoryLookups } from './directory-lookups.js';
import { mirroredMenuSteps } from './menus.js';
import { RoutingPrivacy } from './privacy.js';
import { routingApi } from './server.js';
import { ServiceLevels } from './service-level.js';
import { SnapshotDirectory } from './tenant-directory.js';
import { WaitEstimates } from './wait-estimates.js';
import { routingPolicy } from './policy.js';

const CLAIMS_AT_ONCE = 32;

/** The per-call flow: one durable work queue of call.started shared by every replica. */
export const routingService: ServiceDefinition<typeof routingConfigSchema> = {
  name: 'routing',
  version: '0.1.0',
  config: routingConfigSchema,
  nats: { streams: [CALLS_STREAM] },
  grpc: { reflectionProtos: ['switchboard/routing/v1/routing_service.proto'] },
  async start({ config, logger, nats: handle, grpc, consume, onShutdown, addReadinessCheck, track }) {
    const nats = handle!;
    const kvm = new Kvm(nats.js);
    const ttl = config.ROUTING_STATE_TTL_MS;
    const states = new CallStateStore(await kvm.create(config.ROUTING_CALLS_BUCKET, { history: 1, ttl }));
    const callbacks = await kvm.create(config.ROUTING_CALLBACKS_BUCKET, { history: 1, ttl });
    const privacy = new RoutingPrivacy(
      states.kv,
      callbacks,
      directoryRpcClient(nats, config.ROUTING_RPC_TIMEOUT_MS),
      logger,
    );
    const erasing = servePrivacyErase(nats, {
      service: 'routing',
      erase: (tenantId, number) => privacy.erase(tenantId, number),
      logger,
      track,
    });
    onShutdown(() => erasing.forEach((subscription) => subscription.unsubscribe()));
    onShutdown(
      startPrivacySweep({
        intervalMs: config.PRIVACY_SWEEP_INTERVAL_MS,
        sweep: (now) => privacy.sweep(now).then(() => undefined),
        logger,
        track,
      }),
    );
    const queues = await DepartmentQueues.open(nats, {
      bucket: config.ROUTING_QUEUE_BUCKET,
      presenceBucket: config.ROUTING_PRESENCE_BUCKET,
      ttlMs: ttl,
      logger,
    });
    onShutdown(() => queues.close());
    addReadinessCheck('routing-queue-watch', () => queues.following);

    // The directory and the menus in memory, from their owners' snapshots: no request per call
    // for a number, opening hours or a key press.
    const directory = new SnapshotDirectory(snapshotRpcClient(nats, config.ROUTING_RPC_TIMEOUT_MS), logger);
    await directory.follow(await openSnapshotBucket(nats));
    onShutdown(() => directory.stop());
    addReadinessCheck('directory-snapshots', () => directory.following);
    const menus = await MenuMirror.open(nats, { logger });
    onShutdown(() => menus.stop());
    addReadinessCheck('ivr-menus', () => menus.following);
    const clients = flowClients(
      nats,
      config.ROUTING_RPC_TIMEOUT_MS,
      {
        directory: directoryLookups(directory),
        ivr: mirroredMenuSteps(menus, ivrRpcClient(nats, config.ROUTING_RPC_TIMEOUT_MS), logger),
      },
      logger,
    );

    if (config.ROUTING_LEASE_MS < 3 * config.ROUTING_LEASE_RENEW_MS) {
      throw new Error(
        `ROUTING_LEASE_MS (${config.ROUTING_LEASE_MS}) must be at least three ROUTING_LEASE_RENEW_MS (${config.ROUTING_LEASE_RENEW_MS}): one late renewal must not look like a death`,
      );
    }
    const replicaId = instanceId(config.ROUTING_REPLICA_ID);
    const leases = new ReplicaLeases(await kvm.create(config.ROUTING_REPLICAS_BUCKET, { history: 1, ttl }), {
      self: replicaId,
      leaseMs: config.ROUTING_LEASE_MS,
      renewMs: config.ROUTING_LEASE_RENEW_MS,
      logger,
      onDead: (replicas) => logger.warn({ replicas }, 'routing replicas found dead; taking their calls over'),
      onTick: () => {
        router.takeOverOrphans();
        // A dead replica is remembered only while a call in flight still names it (known once
        // the calls in flight are loaded: forgotten before, its calls would never be judged).
        if (!inFlight.following) return;
        for (const dead of leases.liveness.deadReplicas) if (!inFlight.owns(dead)) leases.liveness.forget(dead);
      },
      onLapsed: () => void router.verifyOwnership(),
    });
    const serviceLevels = new ServiceLevels();
    const inFlight = new InFlightCalls({
      logger,
      onChange: (key, call) => router.onStateChange(key, call),
      serviceLevels,
    });

    const router = new CallRouter({
      replicaId,
      liveness: leases.liveness,
      inFlight,
      track,
      config,
      logger,
      states,
      queues,
      directory,
      clients,
      callbacks,
      waits: new WaitEstimates({
        windowMs: config.ROUTING_WAIT_ESTIMATE_WINDOW_MS,
        minSamples: config.ROUTING_WAIT_ESTIMATE_MIN_SAMPLES,
      }),
    });
    // This replica's lease is stored before it owns any call, so no other replica sees a call of
    // its before its lease; then the calls in flight, before any call.started is taken.
    await leases.start(nats);
    onShutdown(() => leases.stop());
    addReadinessCheck('routing-replicas', () => leases.following);
    await inFlight.follow(states.kv);
    onShutdown(() => inFlight.stop());
    addReadinessCheck('routing-calls', () => inFlight.following);
    onShutdown(router.followCallEnds(nats, logger));
    onShutdown(router.followKeys(nats, logger));

    const worker = new CallbackWorker({
      replicaId,
      config,
      logger,
      callbacks,
      leases: await kvm.create(config.ROUTING_CALLBACK_LEASE_BUCKET, { history: 1 }),
      directory,
      clients,
      queues,
    });
    worker.start();
    onShutdown(() => worker.stop());
    // Before the kit stops the consumers and waits for the flows (tracked work): every call is
    // checkpointed with its owner cleared, which the other replicas' watches see, and each takes
    // one over at once. The lease key goes last (a shutdown hook): a call whose handover write
    // failed moves as soon as the others see the key deleted.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => router.handOverAll());

    grpc!.addService(
      'switchboard.routing.v1.RoutingService',
      routingV1.RoutingServiceService,
      grpcImplementation(routingV1.RoutingServiceService, routingApi(states, queues, serviceLevels)),
      routingPolicy,
    );

    // Both handlers are idempotent, so their acks need no round trip: a repeated call.ended finds
    // the call ended (the cleanup's write is compare-and-set), a repeated call.started finds its
    // state and is acked without routing it again (unless its owner is dead: then taken over).
    // call.started is acked once the call's state is created, not when the flow ends: from then
    // on the lease, not the message, says who routes the call.
    await consume({
      stream: CALLS_STREAM,
      durable: 'routing-call-ended',
      filterSubjects: ['sb.*.call.ended'],
      handler: (message) => router.onCallEnded(message),
      concurrency: 16,
      ack: 'fire-and-forget',
    });
    await consume({
      stream: CALLS_STREAM,
      durable: 'routing-calls',
      filterSubjects: ['sb.*.call.started'],
      handler: (message) => router.onCallStarted(message),
      ack: 'fire-and-forget',
      ackWaitMs: config.ROUTING_ACK_WAIT_MS,
      // A handler lasts one create (a round trip), so a few at once keep up with any call rate.
      concurrency: CLAIMS_AT_ONCE,
      maxDeliver: 20,
      backoffMs: [100, 1_000, 5_000],
    });
  },
};
