import * as grpc from '@grpc/grpc-js';
import { SNAPSHOT_RPC_DEFINITION, openSnapshotBucket } from '@switchboard/directory-cache';
import { AUDIT_STREAM, DIRECTORY_STREAM, rpcServeSubject, tenantOfSubject } from '@switchboard/events';
import { directoryServiceV1, type directorySnapshotV1 } from '@switchboard/proto';
import { GrpcStatusError, grpcImplementation, serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { DirectoryCache } from './cache.js';
import { AUDIT_INDEXES, AuditLog, auditConsumer } from './audit-log.js';
import { changePublisher } from './change-events.js';
import { directoryConfigSchema } from './config.js';
import { CREDENTIAL_INDEXES, DeviceCredentials } from './device-credentials.js';
import { Directory } from './directory.js';
import { DIRECTORY_RPC_DEFINITION, directoryRpcServeSubject } from '@switchboard/rpc-clients';
import { NumberPools, POOL_INDEXES } from './number-pools.js';
import { numberEraser } from './privacy-erase.js';
import { SecretBox, decodeSecretKey } from './secret-box.js';
import { createDirectoryHandlers } from './server.js';
import { DirectoryStore, STORE_INDEXES } from './store.js';
import { tenantSchema } from './model.js';
import { directoryPolicy } from './policy.js';

const NAME = 'directory';

/** Tenants, sites, numbers, departments and staff; admin API over gRPC, lookups from memory over NATS. */
export const directoryService: ServiceDefinition<typeof directoryConfigSchema> = {
  name: NAME,
  version: '0.1.0',
  config: directoryConfigSchema,
  nats: { streams: [DIRECTORY_STREAM, AUDIT_STREAM] },
  mongo: { indexes: [...STORE_INDEXES, ...CREDENTIAL_INDEXES, ...AUDIT_INDEXES, ...POOL_INDEXES] },
  grpc: {
    reflectionProtos: [
      'switchboard/directory/v1/directory.proto',
      'switchboard/directory/v1/directory_service.proto',
      'switchboard/directory/v1/directory_events.proto',
      'switchboard/directory/v1/directory_snapshot.proto',
    ],
  },
  async start(context) {
    const { config, logger } = context;
    const nats = context.nats!;
    // The config schema has checked every key's format.
    const previousKeys = config.DEVICE_SECRET_KEYS_PREVIOUS.split(',').filter((key) => key.trim() !== '');
    const box = new SecretBox(
      decodeSecretKey(config.DEVICE_SECRET_KEY)!,
      previousKeys.map((key) => decodeSecretKey(key.trim())!),
    );
    const credentials = new DeviceCredentials(context.mongo!.db, box, config.DEVICE_SIP_REALM);
    const resealed = await credentials.reseal();
    if (resealed > 0) logger.info({ resealed, keyId: box.keyId }, 'device credentials resealed with the current key');
    const directory = new Directory(
      new DirectoryStore(context.mongo!.db),
      new DirectoryCache(),
      changePublisher(context.publish, NAME),
      credentials,
      new AuditLog(context.mongo!.db),
      {
        kv: await openSnapshotBucket(nats),
        maxPayload: () => nats.connection.info?.max_payload ?? 1024 * 1024,
      },
    );
    const loadAll = async () => {
      for (const { tenantId, error } of await directory.loadAll()) {
        logger.error({ err: error, tenantId }, 'tenant snapshot not written; readers keep the one they have');
      }
    };
    await loadAll();
    // Every service's audit entries, this one's included, land in the directory's log.
    await context.consume(auditConsumer(directory.audit));
    logger.info({ tenants: directory.cache.tenantIds().length }, 'directory loaded');

    // Other replicas' writes arrive as change events: reload that tenant.
    const changes = nats.connection.subscribe('sb.*.directory.*', {
      callback: (error, message) => {
        const tenantId = error ? undefined : tenantOfSubject(message.subject);
        if (!tenantId) return;
        void context.track(
          directory
            .refresh(tenantId)
            .catch((reloadError: unknown) => logger.error({ err: reloadError, tenantId }, 'directory reload failed')),
        );
      },
    });

    const handlers = createDirectoryHandlers(
      directory,
      new NumberPools(context.mongo!.db, directory),
      numberEraser(nats, config.DIRECTORY_ERASE_TIMEOUT_MS),
    );
    context.grpc!.addService(
      'switchboard.directory.v1.DirectoryService',
      directoryServiceV1.DirectoryServiceService,
      grpcImplementation(directoryServiceV1.DirectoryServiceService, handlers),
      directoryPolicy,
    );
    const servedSnapshots = serveNatsRpc(nats, {
      definition: SNAPSHOT_RPC_DEFINITION,
      handlers: {
        async getSnapshot(request: directorySnapshotV1.GetSnapshotRequest) {
          // A name no tenant can have is not looked up (it would not even be a valid KV key).
          const known = tenantSchema.shape.tenantId.safeParse(request.tenantId).success;
          const snapshot = known ? await directory.snapshots.current(request.tenantId) : undefined;
          if (!snapshot) throw new GrpcStatusError(grpc.status.NOT_FOUND, `tenant ${request.tenantId} not found`);
          return { snapshot };
        },
      },
      subjectFor: (method) => rpcServeSubject('directory', method),
      logger,
      track: context.track,
      queue: NAME,
    });
    const served = serveNatsRpc(nats, {
      definition: DIRECTORY_RPC_DEFINITION,
      handlers: {
        resolveNumber: handlers.resolveNumber,
        isOpen: handlers.isOpen,
        exportTenant: handlers.exportTenant,
        listStaff: handlers.listStaff,
        listDepartments: handlers.listDepartments,
      },
      subjectFor: directoryRpcServeSubject,
      logger,
      track: context.track,
      queue: NAME,
    });
    let reloading: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      reloading = context.track(
        loadAll().catch((error: unknown) => logger.error({ err: error }, 'directory reload failed')),
      );
    }, config.DIRECTORY_RELOAD_INTERVAL_MS);
    timer.unref();
    context.onShutdown(async () => {
      clearInterval(timer);
      await reloading;
      changes.unsubscribe();
      for (const subscription of [...served, ...servedSnapshots]) subscription.unsubscribe();
    });
  },
};
