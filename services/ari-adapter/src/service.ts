import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import {
  CALLS_STREAM,
  FAX_INBOX_BUCKET,
  FAX_STREAM,
  KV_BUCKETS,
  VOICEMAIL_INBOX_BUCKET,
  callControlServeSubject,
} from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import { grpcImplementation, serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { AriLink } from './ari-link.js';
import { AriOps } from './ari-ops.js';
import { CallControl } from './call-control.js';
import { CallTracker } from './call-tracker.js';
import { CallRegistry } from './calls.js';
import { CommandLog } from './command-log.js';
import { adapterConfigSchema, tenantSource } from './config.js';
import { DeviceProvisioner } from './device-provisioning.js';
import { directoryClient } from './directory-client.js';
import { DirectoryTenantMap } from './directory-tenant-map.js';
import { FaxHandoff } from './fax-handoff.js';
import { CallHandover } from './handover.js';
import { OutboundGuard } from './outbound-guard.js';
import { createAdapterMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { TenantResolver, type TenantLookup } from './tenant-resolver.js';
import { VoicemailRecorder } from './voicemail.js';
import { callControlPolicy } from './policy.js';

const CALL_CONTROL = 'switchboard.callcontrol.v1.CallControlService';

export const ariAdapter: ServiceDefinition<typeof adapterConfigSchema> = {
  name: 'ari-adapter',
  version: '0.1.0',
  config: adapterConfigSchema,
  nats: { streams: [CALLS_STREAM, FAX_STREAM] },
  grpc: { reflectionProtos: ['switchboard/callcontrol/v1/call_control.proto'] },
  start: async ({
    config,
    logger,
    nats,
    grpc,
    serviceToken,
    publish,
    track,
    onShutdown,
    addReadinessCheck,
    stopping,
  }) => {
    const source = tenantSource(config);
    const metrics = createAdapterMetrics();
    const registry = new CallRegistry();
    let directory: ReturnType<typeof directoryClient> | undefined;
    let tenants: DirectoryTenantMap | undefined;
    let resolver: TenantLookup;
    if (source.kind === 'directory') {
      // Fails the start at once, with the reason, when the adapter has no usable token of its own.
      await serviceToken();
      directory = directoryClient(source.address, serviceToken, config.DIRECTORY_TIMEOUT_MS);
      tenants = new DirectoryTenantMap({
        directory,
        fallbackTenant: source.fallbackTenant,
        logger,
        metrics,
        // Devices follow the plan: a new device is pushed once calls from it find their tenant.
        onLoaded: (tenantIds) => {
          if (!tenantIds) devices?.pushAll();
          else for (const tenantId of tenantIds) devices?.pushChanges(tenantId);
        },
      });
      resolver = tenants;
    } else {
      resolver = new TenantResolver(source.plan);
    }
    // The tracker calls back into the fax hand-off, the voicemail recorder and call control, which need the tracker.
    const late: { fax?: FaxHandoff; voicemail?: VoicemailRecorder; control?: CallControl } = {};
    const link = new AriLink({
      url: config.ARI_URL,
      username: config.ARI_USERNAME,
      password: config.ARI_PASSWORD,
      app: config.ARI_APP,
      logger,
      metrics,
      onEvent: (event) => tracker.handle(event),
      // ARI does not replay what happened while the WebSocket was down: compare with what is live.
      // Asterisk may have restarted meanwhile and forgotten the pushed devices: push them again.
      onConnected: () => {
        devices?.pushAll();
        return reconciler.afterConnect();
      },
      onReplaced: () => {
        // The calls' channels are the new holder's now: ending them here would publish twice.
        reconciler.stop();
        const calls = tracker.handOverAll();
        logger.error({ calls }, 'live calls left to the connection that took the Stasis app over');
      },
    });
    const ari = new AriOps({
      url: config.ARI_URL,
      username: config.ARI_USERNAME,
      password: config.ARI_PASSWORD,
      requestTimeoutMs: config.ARI_REQUEST_TIMEOUT_MS,
      metrics,
    });
    // Registered first, so it runs last: the other hooks may still send ARI requests.
    onShutdown(() => ari.close());
    const objm = new Objm(nats!.connection);
    const inbox = await objm.create(FAX_INBOX_BUCKET);
    const voicemailInbox = await objm.create(VOICEMAIL_INBOX_BUCKET);
    const handover = new CallHandover(
      await new Kvm(nats!.js).create(KV_BUCKETS.adapterHandover, { history: 1 }),
      config.ADAPTER_ID,
      logger,
    );
    const tracker = new CallTracker({
      adapterId: config.ADAPTER_ID,
      registry,
      ari,
      resolver,
      publish,
      track: (work) => void track(work),
      onFaxDone: (call, args) => late.fax!.done(call, args),
      onRecording: (event) => late.voicemail!.onRecording(event),
      onTakenOver: (call) => late.control!.resume(call),
      metrics,
      logger,
    });
    const fax = new FaxHandoff({
      ari,
      tracker,
      inbox,
      adapterId: config.ADAPTER_ID,
      context: config.FAX_CONTEXT,
      extension: config.FAX_EXTENSION,
      logger,
    });
    late.fax = fax;
    const voicemail = new VoicemailRecorder({
      ari,
      tracker,
      inbox: voicemailInbox,
      adapterId: config.ADAPTER_ID,
      metrics,
      logger,
    });
    late.voicemail = voicemail;
    const control = new CallControl({
      app: config.ARI_APP,
      trunkEndpoint: config.TRUNK_ENDPOINT,
      registry,
      tracker,
      ari,
      commands: new CommandLog(config.COMMAND_ID_TTL_MS),
      fax,
      voicemail,
      // Without the directory there are no policies: every tenant gets the safe defaults.
      outbound: new OutboundGuard(tenants, config.TRUNK_ENDPOINT, logger),
      stasisStartTimeoutMs: config.STASIS_START_TIMEOUT_MS,
      metrics,
      logger,
    });
    late.control = control;
    const devices =
      directory && tenants ? new DeviceProvisioner({ owners: tenants, directory, ari, logger, metrics }) : undefined;
    const reconciler = new Reconciler({
      app: config.ARI_APP,
      ari,
      registry,
      tracker,
      handover,
      track: (work) => void track(work),
      logger,
    });

    if (directory && tenants && devices) {
      const unfollow = tenants.follow(nats!);
      addReadinessCheck('number-plan', () => tenants.isLoaded);
      addReadinessCheck('devices', () => tenants.isLoaded && devices.isReady);
      onShutdown(async () => {
        unfollow();
        await tenants.stop();
        await devices.stop();
        directory.close();
      });
      // Normally the plan is there before the first call; with the directory down the adapter
      // still starts, and calls meanwhile go to the fallback tenant (logged and counted).
      await tenants.start(config.DIRECTORY_REFRESH_INTERVAL_MS);
    } else {
      logger.warn('DIRECTORY_ADDRESS is not set: the number plan is NUMBER_PLAN and no device is provisioned');
    }

    await link.start();
    addReadinessCheck('asterisk', () => link.isConnected);
    addReadinessCheck('stasis-app', () => link.holdsApp);
    reconciler.start(config.RECONCILE_INTERVAL_MS);

    // A stop hands the calls on rather than waiting for them: they live on in Asterisk and the next
    // process takes them over. The events connection closes at once, so new callers wait in the
    // dialplan for that process instead of entering this one; commands still in hand are answered as
    // not served, so routing sends them again (same command id) instead of waiting for a reply that
    // would never come — a PlayAndCollect waits minutes for one.
    stopping.addEventListener(
      'abort',
      () => {
        reconciler.stop();
        link.close();
        // Written down first, for calls that end entirely before the next process looks (handover.ts).
        const leaving = handover
          .leave([...registry.all()])
          .catch((error: unknown) =>
            logger.error({ err: error }, 'live calls could not be written for the next process'),
          );
        void track(leaving);
        const calls = tracker.handOverAll();
        logger.info({ calls }, 'stopping: live calls left in Asterisk for the next process');
      },
      { once: true },
    );
    const definition = callControlV1.CallControlServiceService;
    const handlers = control.handlers();
    serveNatsRpc(nats!, {
      definition,
      handlers,
      logger,
      track,
      stopServing: stopping,
      subjectFor: (method) => callControlServeSubject(config.ADAPTER_ID, method),
    });
    grpc!.addService(CALL_CONTROL, definition, grpcImplementation(definition, handlers), callControlPolicy);
    logger.info({ adapterId: config.ADAPTER_ID, app: config.ARI_APP, ari: config.ARI_URL }, 'connected to Asterisk');
  },
};
