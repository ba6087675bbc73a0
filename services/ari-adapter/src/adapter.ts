import { Objm } from '@nats-io/obj';
import { CALLS_STREAM, FAX_INBOX_BUCKET, FAX_STREAM, callControlServeSubject } from '@switchboard/events';
import { callControlV1 } from '@switchboard/proto';
import { grpcImplementation, serveNatsRpc, type ServiceDefinition } from '@switchboard/service-kit';
import { AriLink } from './ari-link.js';
import { AriOps } from './ari-ops.js';
import type { AriChannel } from './ari-types.js';
import { CallControl } from './call-control.js';
import { CallTracker } from './call-tracker.js';
import { CallRegistry, isLive } from './calls.js';
import { CommandLog } from './command-log.js';
import { adapterConfigSchema } from './config.js';
import { FaxHandoff } from './fax-handoff.js';
import { TenantResolver } from './tenant-resolver.js';

const CALL_CONTROL = 'switchboard.callcontrol.v1.CallControlService';

/** The args of a channel sitting in `Stasis(<app>,<args>)`, or undefined when it is not in our app. */
function stasisArgsOf(channel: AriChannel, app: string): string[] | undefined {
  const data = channel.dialplan?.app_data ?? '';
  if (channel.dialplan?.app_name !== 'Stasis') return undefined;
  const [name, ...args] = data.split(',');
  return name === app ? args : undefined;
}

export const ariAdapter: ServiceDefinition<typeof adapterConfigSchema> = {
  name: 'ari-adapter',
  version: '0.1.0',
  config: adapterConfigSchema,
  nats: { streams: [CALLS_STREAM, FAX_STREAM] },
  grpc: { reflectionProtos: ['switchboard/callcontrol/v1/call_control.proto'] },
  start: async ({ config, logger, nats, grpc, publish, track, onShutdown, addReadinessCheck }) => {
    const registry = new CallRegistry();
    // The tracker calls back into the fax hand-off, which needs the tracker.
    const late: { fax?: FaxHandoff } = {};
    const link = await AriLink.connect({
      url: config.ARI_URL,
      username: config.ARI_USERNAME,
      password: config.ARI_PASSWORD,
      app: config.ARI_APP,
      logger,
      onEvent: (type, event) => tracker.handle(type, event),
      onConnected: () => resync(),
    });
    const ari = new AriOps(link.client);
    const inbox = await new Objm(nats!.connection).create(FAX_INBOX_BUCKET);
    const tracker = new CallTracker({
      adapterId: config.ADAPTER_ID,
      registry,
      ari,
      resolver: new TenantResolver(config.NUMBER_PLAN),
      publish,
      track: (work) => void track(work),
      onFaxDone: (call, args) => late.fax!.done(call, args),
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
    const control = new CallControl({
      app: config.ARI_APP,
      trunkEndpoint: config.TRUNK_ENDPOINT,
      registry,
      tracker,
      ari,
      commands: new CommandLog(config.COMMAND_ID_TTL_MS),
      fax,
      logger,
    });

    // ARI does not replay what happened while the WebSocket was down: compare with what is live.
    const resync = async () => {
      const channels = await ari.listChannels();
      const live = new Map(channels.map((channel) => [channel.id, channel]));
      for (const call of [...registry.all()]) {
        for (const leg of [...call.legs.values()].filter(isLive)) tracker.reconcile(call, leg, live.get(leg.channelId));
      }
      tracker.reconcileOriginates(new Set(live.keys()));
      for (const channel of channels) {
        const args = stasisArgsOf(channel, config.ARI_APP);
        if (args && args[0] !== 'dialed' && !registry.byChannelId(channel.id)) tracker.adopt(channel, args, new Date());
      }
    };

    await link.start();
    addReadinessCheck('asterisk', () => link.isConnected);
    onShutdown(() => link.close());

    const definition = callControlV1.CallControlServiceService;
    const handlers = control.handlers();
    serveNatsRpc(nats!, {
      definition,
      handlers,
      logger,
      track,
      subjectFor: (method) => callControlServeSubject(config.ADAPTER_ID, method),
    });
    grpc!.addService(CALL_CONTROL, definition, grpcImplementation(definition, handlers));
    logger.info({ adapterId: config.ADAPTER_ID, app: config.ARI_APP, ari: config.ARI_URL }, 'connected to Asterisk');
  },
};
