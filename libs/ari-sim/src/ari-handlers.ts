import { type World } from './world.js';

/** Parsed request: path and query parameters by name (arrays already split), JSON body. */
export interface AriRequest {
  params: Record<string, string | number | boolean | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

export interface AriContext {
  world: World;
  asteriskInfo: (only: string[] | undefined) => Record<string, unknown>;
  ping: () => Record<string, unknown>;
}

type Handler = (ctx: AriContext, req: AriRequest) => unknown;

/** A 201 Created answer with a Location header, as Asterisk gives for a new playback. */
export class Created {
  constructor(
    readonly location: string,
    readonly body: unknown,
  ) {}
}

const playbackCreated = async (playback: Promise<{ id: string }> | { id: string }) => {
  const created = await playback;
  return new Created(`/playbacks/${created.id}`, created);
};

const s = (req: AriRequest, name: string): string | undefined => {
  const v = req.params[name];
  return v === undefined ? undefined : String(v);
};
const n = (req: AriRequest, name: string): number | undefined => {
  const v = req.params[name];
  return typeof v === 'number' ? v : undefined;
};
const list = (req: AriRequest, name: string): string[] => {
  const v = req.params[name];
  return Array.isArray(v) ? v : v === undefined ? [] : [String(v)];
};
const variables = (req: AriRequest): Record<string, string> | undefined => {
  const v = req.body?.variables;
  if (!v || typeof v !== 'object') return undefined;
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, String(val)]));
};

const configObject = (req: AriRequest): [string, string, string] => [
  s(req, 'configClass') ?? '',
  s(req, 'objectType') ?? '',
  s(req, 'id') ?? '',
];

const b = (req: AriRequest, name: string): boolean | undefined => {
  const v = req.params[name];
  return typeof v === 'boolean' ? v : undefined;
};

const originate: Handler = ({ world }, req) =>
  world.originate({
    endpoint: s(req, 'endpoint'),
    app: s(req, 'app'),
    appArgs: s(req, 'appArgs'),
    callerId: s(req, 'callerId'),
    timeout: n(req, 'timeout'),
    channelId: s(req, 'channelId'),
    variables: variables(req),
  });

/** Implementations by `<resource>.<nickname>`; a handler returning undefined answers 204. */
export const handlers: Record<string, Handler> = {
  'asterisk.getInfo': (ctx, req) => ctx.asteriskInfo(req.params.only === undefined ? undefined : list(req, 'only')),
  'asterisk.ping': (ctx) => ctx.ping(),
  'asterisk.getObject': ({ world }, req) => world.pjsip.get(...configObject(req)),
  'asterisk.updateObject': ({ world }, req) => world.pjsip.put(...configObject(req), req.body),
  'asterisk.deleteObject': ({ world }, req) => world.pjsip.delete(...configObject(req)),

  'endpoints.list': ({ world }) => world.listEndpoints(),
  'endpoints.listByTech': ({ world }, req) => world.listEndpoints(s(req, 'tech')),
  'endpoints.get': ({ world }, req) => world.getEndpoint(s(req, 'tech') ?? '', s(req, 'resource') ?? ''),

  'channels.list': ({ world }) => world.listChannels(),
  'channels.originate': originate,
  'channels.originateWithId': originate,
  'channels.create': ({ world }, req) =>
    world.create({
      endpoint: s(req, 'endpoint'),
      app: s(req, 'app'),
      appArgs: s(req, 'appArgs'),
      channelId: s(req, 'channelId'),
      variables: variables(req),
    }),
  'channels.get': ({ world }, req) => world.getChannel(s(req, 'channelId') ?? ''),
  'channels.hangup': ({ world }, req) =>
    world.hangupByApp(s(req, 'channelId') ?? '', s(req, 'reason'), s(req, 'reason_code')),
  'channels.continueInDialplan': ({ world }, req) =>
    world.continueInDialplan(s(req, 'channelId') ?? '', {
      context: s(req, 'context'),
      extension: s(req, 'extension'),
      priority: n(req, 'priority'),
    }),
  'channels.redirect': ({ world }, req) => world.redirect(s(req, 'channelId') ?? '', s(req, 'endpoint')),
  'channels.answer': ({ world }, req) => world.answer(s(req, 'channelId') ?? ''),
  'channels.ring': ({ world }, req) => world.indicateRinging(s(req, 'channelId') ?? '', true),
  'channels.ringStop': ({ world }, req) => world.indicateRinging(s(req, 'channelId') ?? '', false),
  'channels.sendDTMF': ({ world }, req) => world.sendDtmf(s(req, 'channelId') ?? '', s(req, 'dtmf')),
  'channels.mute': ({ world }, req) => world.mute(s(req, 'channelId') ?? '', true),
  'channels.unmute': ({ world }, req) => world.mute(s(req, 'channelId') ?? '', false),
  'channels.hold': ({ world }, req) => world.hold(s(req, 'channelId') ?? '', true),
  'channels.unhold': ({ world }, req) => world.hold(s(req, 'channelId') ?? '', false),
  'channels.startMoh': ({ world }, req) => world.channelMoh(s(req, 'channelId') ?? '', s(req, 'mohClass')),
  'channels.stopMoh': ({ world }, req) => world.stopChannelMoh(s(req, 'channelId') ?? ''),
  'channels.play': ({ world }, req) =>
    playbackCreated(
      world.playOnChannel(s(req, 'channelId') ?? '', list(req, 'media'), s(req, 'playbackId'), s(req, 'lang')),
    ),
  'channels.playWithId': ({ world }, req) =>
    playbackCreated(
      world.playOnChannel(s(req, 'channelId') ?? '', list(req, 'media'), s(req, 'playbackId'), s(req, 'lang')),
    ),
  'channels.getChannelVar': ({ world }, req) => world.getVariable(s(req, 'channelId') ?? '', s(req, 'variable')),
  'channels.setChannelVar': ({ world }, req) =>
    world.setVariable(s(req, 'channelId') ?? '', s(req, 'variable'), s(req, 'value')),
  'channels.dial': ({ world }, req) => world.dial(s(req, 'channelId') ?? '', s(req, 'caller'), n(req, 'timeout')),

  'bridges.list': ({ world }) => world.listBridges(),
  'bridges.create': ({ world }, req) =>
    world.createBridge({ bridgeId: s(req, 'bridgeId'), type: s(req, 'type'), name: s(req, 'name') }),
  'bridges.createWithId': ({ world }, req) =>
    world.updateBridge({ bridgeId: s(req, 'bridgeId') ?? '', type: s(req, 'type'), name: s(req, 'name') }),
  'bridges.get': ({ world }, req) => world.getBridge(s(req, 'bridgeId') ?? ''),
  'bridges.destroy': ({ world }, req) => world.destroyBridge(s(req, 'bridgeId') ?? ''),
  'bridges.addChannel': ({ world }, req) => world.addToBridge(s(req, 'bridgeId') ?? '', list(req, 'channel')),
  'bridges.removeChannel': ({ world }, req) => world.removeFromBridge(s(req, 'bridgeId') ?? '', list(req, 'channel')),
  'bridges.startMoh': ({ world }, req) => world.bridgeMoh(s(req, 'bridgeId') ?? '', s(req, 'mohClass')),
  'bridges.stopMoh': ({ world }, req) => world.stopBridgeMoh(s(req, 'bridgeId') ?? ''),
  'bridges.play': ({ world }, req) =>
    playbackCreated(
      world.playOnBridge(s(req, 'bridgeId') ?? '', list(req, 'media'), s(req, 'playbackId'), s(req, 'lang')),
    ),
  'bridges.playWithId': ({ world }, req) =>
    playbackCreated(
      world.playOnBridge(s(req, 'bridgeId') ?? '', list(req, 'media'), s(req, 'playbackId'), s(req, 'lang')),
    ),

  'channels.record': ({ world }, req) => {
    const recording = world.recordChannel(s(req, 'channelId') ?? '', {
      name: s(req, 'name'),
      format: s(req, 'format'),
      maxDurationSeconds: n(req, 'maxDurationSeconds'),
      maxSilenceSeconds: n(req, 'maxSilenceSeconds'),
      ifExists: s(req, 'ifExists'),
      beep: b(req, 'beep'),
      terminateOn: s(req, 'terminateOn'),
    });
    return new Created(`/recordings/live/${encodeURIComponent(recording.name)}`, recording);
  },

  'recordings.listStored': ({ world }) => world.listStoredRecordings(),
  'recordings.getStored': ({ world }, req) => world.getStoredRecording(s(req, 'recordingName') ?? ''),
  'recordings.deleteStored': ({ world }, req) => world.deleteStoredRecording(s(req, 'recordingName') ?? ''),
  'recordings.getStoredFile': ({ world }, req) => world.storedRecordingFile(s(req, 'recordingName') ?? ''),
  'recordings.getLive': ({ world }, req) => world.getLiveRecording(s(req, 'recordingName') ?? ''),
  'recordings.cancel': ({ world }, req) => world.stopLiveRecording(s(req, 'recordingName') ?? '', true),
  'recordings.stop': ({ world }, req) => world.stopLiveRecording(s(req, 'recordingName') ?? '', false),

  'playbacks.get': ({ world }, req) => world.getPlayback(s(req, 'playbackId') ?? ''),
  'playbacks.stop': ({ world }, req) => world.stopPlayback(s(req, 'playbackId') ?? ''),

  'applications.list': ({ world }) => world.listApplications(),
  'applications.get': ({ world }, req) => world.getApplication(s(req, 'applicationName') ?? ''),
};
