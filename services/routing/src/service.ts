import { Kvm } from '@nats-io/kv';
import { CALLS_STREAM } from '@switchboard/events';
import { routingV1 } from '@switchboard/proto';
import { openSnapshotBucket, snapshotRpcClient } from '@switchboard/directory-cache';
import { MenuMirror } from '@switchboard/ivr-menus';
import { directoryRpcClient, servePrivacyErase, startPrivacySweep } from '@switchboard/rpc-clients';
import { grpcImplementation, type ServiceDefinition } from '@switchboard/service-kit';
import { CallRouter } from './call-router.js';
import { CallbackWorker } from './callback-worker.js';
import { CallStateStore } from './call-state.js';
import { flowClients, ivrRpcClient } from './clients.js';
import { routingConfigSchema } from './config.js';
import { DepartmentQueues } from './department-queue.js';
import { directoryLookups } from './directory-lookups.js';
import { mirroredMenuSteps } from './menus.js';
import { RoutingPrivacy } from './privacy.js';
import { routingApi } from './server.js';
import { SnapshotDirectory } from './tenant-directory.js';
import { WaitEstimates } from './wait-estimates.js';
import { routingPolicy } from './policy.js';

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
    const clients = flowClients(nats, config.ROUTING_RPC_TIMEOUT_MS, {
      directory: directoryLookups(directory),
      ivr: mirroredMenuSteps(menus, ivrRpcClient(nats, config.ROUTING_RPC_TIMEOUT_MS), logger),
    });

    const router = new CallRouter({
      replicaId: config.ROUTING_REPLICA_ID,
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
    onShutdown(router.followCallEnds(nats, logger));
    onShutdown(router.followKeys(nats, logger));

    const worker = new CallbackWorker({
      replicaId: config.ROUTING_REPLICA_ID,
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
    // The kit stops consumers first and waits for their handlers: hand the calls over at once so
    // the handlers return (checkpointed, nak'ed) and another replica resumes each call.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => router.handOverAll());

    grpc!.addService(
      'switchboard.routing.v1.RoutingService',
      routingV1.RoutingServiceService,
      grpcImplementation(routingV1.RoutingServiceService, routingApi(states, queues)),
      routingPolicy,
    );

    // Both handlers are idempotent, so their acks need no round trip: a repeated call.ended finds
    // the call ended (the cleanup's write is compare-and-set), a repeated call.started finds it
    // bridged, handed off or ended and is acked without routing it again.
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
      concurrency: config.ROUTING_MAX_CALLS,
      maxDeliver: 20,
      backoffMs: [100, 1_000, 5_000],
    });
  },
};
