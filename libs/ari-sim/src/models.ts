/**
 * Swagger 1.1 model declarations, written for this emulator from Asterisk's documented data
 * models. ari-client dispatches WebSocket events by looking up `models[event.type]` in the
 * `events` declaration and promotes properties whose `type` is a known resource (Channel,
 * Bridge, Playback, Endpoint...), so every event type the emulator sends is declared here.
 */
type Property = { type: string; description?: string; required?: boolean };
export type Model = {
  id: string;
  description: string;
  properties: Record<string, Property>;
  subTypes?: string[];
  discriminator?: string;
};

const str = (required = true): Property => ({ type: 'string', required });
const ref = (type: string, required = true): Property => ({ type, required });

export const resourceModels: Record<string, Model> = {
  CallerID: { id: 'CallerID', description: 'Caller identification', properties: { name: str(), number: str() } },
  DialplanCEP: {
    id: 'DialplanCEP',
    description: 'Dialplan location (context/extension/priority)',
    properties: { context: str(), exten: str(), priority: ref('long'), app_name: str(), app_data: str() },
  },
  Channel: {
    id: 'Channel',
    description: 'A specific communication connection between Asterisk and an Endpoint.',
    properties: {
      id: str(),
      name: str(),
      state: str(),
      protocol_id: str(),
      caller: ref('CallerID'),
      connected: ref('CallerID'),
      accountcode: str(),
      dialplan: ref('DialplanCEP'),
      creationtime: ref('Date'),
      language: str(),
      channelvars: ref('object', false),
    },
  },
  Bridge: {
    id: 'Bridge',
    description: 'The merging of media from one or more channels.',
    properties: {
      id: str(),
      technology: str(),
      bridge_type: str(),
      bridge_class: str(),
      creator: str(),
      name: str(),
      channels: ref('List[string]'),
      creationtime: ref('Date'),
      video_mode: str(false),
    },
  },
  Playback: {
    id: 'Playback',
    description: 'Object representing the playback of media to a channel',
    properties: {
      id: str(),
      media_uri: str(),
      next_media_uri: str(false),
      target_uri: str(),
      language: str(false),
      state: str(),
    },
  },
  LiveRecording: {
    id: 'LiveRecording',
    description: 'A recording that is in progress',
    properties: {
      name: str(),
      format: str(),
      target_uri: str(),
      state: str(),
      duration: ref('int', false),
      talking_duration: ref('int', false),
      silence_duration: ref('int', false),
      cause: str(false),
    },
  },
  StoredRecording: {
    id: 'StoredRecording',
    description: 'A past recording that may be played back.',
    properties: { name: str(), format: str() },
  },
  Endpoint: {
    id: 'Endpoint',
    description: 'An external device that may offer/accept calls to/from Asterisk.',
    properties: { technology: str(), resource: str(), state: str(false), channel_ids: ref('List[string]') },
  },
  Application: {
    id: 'Application',
    description: 'Details of a Stasis application',
    properties: {
      name: str(),
      channel_ids: ref('List[string]'),
      bridge_ids: ref('List[string]'),
      endpoint_ids: ref('List[string]'),
      device_names: ref('List[string]'),
      events_allowed: ref('List[object]'),
      events_disallowed: ref('List[object]'),
    },
  },
  Variable: { id: 'Variable', description: 'The value of a channel variable', properties: { value: str() } },
  AsteriskInfo: {
    id: 'AsteriskInfo',
    description: 'Asterisk system information',
    properties: {
      build: ref('BuildInfo', false),
      system: ref('SystemInfo', false),
      config: ref('ConfigInfo', false),
      status: ref('StatusInfo', false),
    },
  },
  BuildInfo: {
    id: 'BuildInfo',
    description: 'Info about how Asterisk was built',
    properties: { os: str(), kernel: str(), options: str(), machine: str(), date: str(), user: str() },
  },
  SystemInfo: {
    id: 'SystemInfo',
    description: 'Info about Asterisk',
    properties: { version: str(), entity_id: str() },
  },
  ConfigInfo: {
    id: 'ConfigInfo',
    description: 'Info about Asterisk configuration',
    properties: { name: str(), default_language: str(), setid: ref('SetId') },
  },
  SetId: { id: 'SetId', description: 'Effective user/group id', properties: { user: str(), group: str() } },
  StatusInfo: {
    id: 'StatusInfo',
    description: 'Info about Asterisk status',
    properties: { startup_time: ref('Date'), last_reload_time: ref('Date') },
  },
  ConfigTuple: {
    id: 'ConfigTuple',
    description: 'A key/value pair that makes up part of a configuration object.',
    properties: { attribute: str(), value: str() },
  },
  AsteriskPing: {
    id: 'AsteriskPing',
    description: 'Asterisk ping information',
    properties: { asterisk_id: str(), ping: str(), timestamp: str() },
  },
};

const eventBase: Record<string, Property> = {
  type: str(),
  asterisk_id: str(false),
  application: str(),
  timestamp: ref('Date'),
};

const event = (id: string, description: string, properties: Record<string, Property>): Model => ({
  id,
  description,
  properties: { ...eventBase, ...properties },
});

/** The event types the emulator emits, and nothing it does not emit. */
export const eventModels: Record<string, Model> = {
  StasisStart: event('StasisStart', 'Notification that a channel has entered a Stasis application.', {
    args: ref('List[string]'),
    channel: ref('Channel'),
    replace_channel: ref('Channel', false),
  }),
  StasisEnd: event('StasisEnd', 'Notification that a channel has left a Stasis application.', {
    channel: ref('Channel'),
  }),
  ChannelStateChange: event('ChannelStateChange', "Notification of a channel's state change.", {
    channel: ref('Channel'),
  }),
  ChannelDtmfReceived: event('ChannelDtmfReceived', 'DTMF received on a channel.', {
    digit: str(),
    duration_ms: ref('int'),
    channel: ref('Channel'),
  }),
  ChannelHangupRequest: event('ChannelHangupRequest', 'A hangup was requested on the channel.', {
    cause: ref('int', false),
    soft: ref('boolean', false),
    channel: ref('Channel'),
  }),
  ChannelDestroyed: event('ChannelDestroyed', 'Notification that a channel has been destroyed.', {
    cause: ref('int'),
    cause_txt: str(),
    channel: ref('Channel'),
  }),
  ChannelVarset: event('ChannelVarset', 'Channel variable changed.', {
    variable: str(),
    value: str(),
    channel: ref('Channel', false),
  }),
  ChannelDialplan: event('ChannelDialplan', 'Channel changed location in the dialplan.', {
    dialplan_app: str(),
    dialplan_app_data: str(),
    channel: ref('Channel'),
  }),
  ChannelConnectedLine: event('ChannelConnectedLine', 'Channel changed Connected Line.', { channel: ref('Channel') }),
  ChannelEnteredBridge: event('ChannelEnteredBridge', 'Notification that a channel has entered a bridge.', {
    bridge: ref('Bridge'),
    channel: ref('Channel', false),
  }),
  ChannelLeftBridge: event('ChannelLeftBridge', 'Notification that a channel has left a bridge.', {
    bridge: ref('Bridge'),
    channel: ref('Channel'),
  }),
  BridgeDestroyed: event('BridgeDestroyed', 'Notification that a bridge has been destroyed.', {
    bridge: ref('Bridge'),
  }),
  Dial: event('Dial', 'Dialing state has changed.', {
    caller: ref('Channel', false),
    peer: ref('Channel'),
    forward: str(false),
    forwarded: ref('Channel', false),
    dialstring: str(false),
    dialstatus: str(),
  }),
  PlaybackStarted: event('PlaybackStarted', 'Event showing the start of a media playback operation.', {
    playback: ref('Playback'),
  }),
  PlaybackContinuing: event(
    'PlaybackContinuing',
    'Event showing the continuation of a media playback operation from one media URI to the next in the list.',
    { playback: ref('Playback') },
  ),
  PlaybackFinished: event('PlaybackFinished', 'Event showing the completion of a media playback operation.', {
    playback: ref('Playback'),
  }),
  RecordingStarted: event('RecordingStarted', 'Event showing the start of a recording operation.', {
    recording: ref('LiveRecording'),
  }),
  RecordingFinished: event('RecordingFinished', 'Event showing the completion of a recording operation.', {
    recording: ref('LiveRecording'),
  }),
  RecordingFailed: event('RecordingFailed', 'Event showing failure of a recording operation.', {
    recording: ref('LiveRecording'),
  }),
  ApplicationReplaced: event(
    'ApplicationReplaced',
    'Notification that another WebSocket has taken over for an application.',
    {},
  ),
};

export const eventsDeclarationModels: Record<string, Model> = {
  Message: {
    id: 'Message',
    description: 'Base type for errors and events',
    discriminator: 'type',
    properties: { type: str(), asterisk_id: str(false) },
    subTypes: ['Event'],
  },
  Event: {
    id: 'Event',
    description: 'Base type for asynchronous events from Asterisk.',
    properties: { ...eventBase },
    subTypes: Object.keys(eventModels),
  },
  ...eventModels,
};
