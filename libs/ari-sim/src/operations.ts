/**
 * The ARI operations the emulator implements, declared once: the api-docs are generated from
 * this table and the router matches requests against it. Names, paths, parameter kinds and
 * error reasons follow Asterisk's ARI documentation.
 */
export type ParamType = 'string' | 'int' | 'long' | 'boolean' | 'containers';

export interface ParamSpec {
  name: string;
  paramType: 'path' | 'query' | 'body';
  dataType: ParamType;
  required: boolean;
  allowMultiple: boolean;
  description: string;
  allowableValues?: string[];
  defaultValue?: string;
}

export interface OperationSpec {
  resource: string;
  path: string;
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE';
  nickname: string;
  summary: string;
  responseClass: string;
  parameters: ParamSpec[];
  errorResponses: { code: number; reason: string }[];
}

interface ParamOptions {
  required?: boolean;
  multiple?: boolean;
  values?: string[];
  defaultValue?: string;
}

const q = (name: string, description: string, dataType: ParamType = 'string', o: ParamOptions = {}): ParamSpec => ({
  name,
  paramType: 'query',
  dataType,
  required: o.required ?? false,
  allowMultiple: o.multiple ?? false,
  description,
  ...(o.values ? { allowableValues: o.values } : {}),
  ...(o.defaultValue !== undefined ? { defaultValue: o.defaultValue } : {}),
});
const req = (name: string, description: string, dataType: ParamType = 'string', o: ParamOptions = {}) =>
  q(name, description, dataType, { ...o, required: true });
const path = (name: string, description: string): ParamSpec => ({
  name,
  paramType: 'path',
  dataType: 'string',
  required: true,
  allowMultiple: false,
  description,
});
const variablesBody: ParamSpec = {
  name: 'variables',
  paramType: 'body',
  dataType: 'containers',
  required: false,
  allowMultiple: false,
  description:
    'The "variables" key in the body object holds variable key/value pairs to set on the channel on creation.',
};
const err = (code: number, reason: string) => ({ code, reason });

const channelId = path('channelId', "Channel's id");
const dynamicConfigPath = [
  path('configClass', 'The configuration class containing dynamic configuration objects.'),
  path('objectType', 'The type of configuration object to retrieve.'),
  path('id', 'The unique identifier of the object to retrieve.'),
];
const bridgeId = path('bridgeId', "Bridge's id");
const channelErrors = [
  err(404, 'Channel not found'),
  err(409, 'Channel not in a Stasis application'),
  err(412, 'Channel in invalid state'),
];
const mediaParams = [
  req('media', 'Media URIs to play.', 'string', { multiple: true }),
  q('lang', 'For sounds, selects language for sound.'),
  q('offsetms', 'Number of milliseconds to skip before playing.', 'int'),
  q('skipms', 'Number of milliseconds to skip for forward/reverse operations.', 'int', { defaultValue: '3000' }),
];
const originateParams = [
  req('endpoint', 'Endpoint to call.'),
  q('extension', 'The extension to dial after the endpoint answers.'),
  q('context', 'The context to dial after the endpoint answers.'),
  q('priority', 'The priority to dial after the endpoint answers.', 'long'),
  q('label', 'The label to dial after the endpoint answers.'),
  q('app', 'The application that is subscribed to the originated channel.'),
  q('appArgs', 'The application arguments to pass to the Stasis application.'),
  q('callerId', 'CallerID to use when dialing the endpoint or extension.'),
  q('timeout', 'Timeout (in seconds) before giving up dialing, or -1 for no timeout.', 'int', { defaultValue: '30' }),
  q('otherChannelId', 'The unique id to assign the second channel when using local channels.'),
  q('originator', 'The unique id of the channel which is originating this one.'),
  q('formats', 'The format name capability list to use if originator is not specified.'),
  variablesBody,
];
const originateErrors = [
  err(400, 'Invalid parameters for originating a channel.'),
  err(409, 'Channel with given unique ID already exists.'),
];

function op(
  resource: string,
  httpMethod: OperationSpec['httpMethod'],
  opPath: string,
  nickname: string,
  responseClass: string,
  summary: string,
  parameters: ParamSpec[],
  errorResponses: OperationSpec['errorResponses'] = [],
): OperationSpec {
  return { resource, path: opPath, httpMethod, nickname, summary, responseClass, parameters, errorResponses };
}

export const resourceDescriptions: Record<string, string> = {
  asterisk: 'Asterisk resources',
  endpoints: 'Endpoint resources',
  channels: 'Channel resources',
  bridges: 'Bridge resources',
  playbacks: 'Playback control resources',
  recordings: 'Recording resources',
  events: 'WebSocket resource',
  applications: 'Stasis application resources',
};

export const operations: OperationSpec[] = [
  op('asterisk', 'GET', '/asterisk/info', 'getInfo', 'AsteriskInfo', 'Gets Asterisk system information.', [
    q('only', 'Filter information returned', 'string', {
      multiple: true,
      values: ['build', 'system', 'config', 'status'],
    }),
  ]),
  op('asterisk', 'GET', '/asterisk/ping', 'ping', 'AsteriskPing', 'Response pong message.', []),
  op(
    'asterisk',
    'GET',
    '/asterisk/config/dynamic/{configClass}/{objectType}/{id}',
    'getObject',
    'List[ConfigTuple]',
    'Retrieve a dynamic configuration object.',
    dynamicConfigPath,
    [err(404, '{configClass|objectType|id} not found')],
  ),
  op(
    'asterisk',
    'PUT',
    '/asterisk/config/dynamic/{configClass}/{objectType}/{id}',
    'updateObject',
    'List[ConfigTuple]',
    'Create or update a dynamic configuration object.',
    [
      ...dynamicConfigPath,
      {
        name: 'fields',
        paramType: 'body',
        dataType: 'containers',
        required: false,
        allowMultiple: false,
        description:
          'The body object should have a value that is a list of ConfigTuples, which provide the fields to update. Ex. [ { "attribute": "directmedia", "value": "false" } ]',
      },
    ],
    [
      err(400, 'Bad request body'),
      err(403, 'Could not create or update object'),
      err(404, '{configClass|objectType} not found'),
    ],
  ),
  op(
    'asterisk',
    'DELETE',
    '/asterisk/config/dynamic/{configClass}/{objectType}/{id}',
    'deleteObject',
    'void',
    'Delete a dynamic configuration object.',
    dynamicConfigPath,
    [err(403, 'Could not delete object'), err(404, '{configClass|objectType|id} not found')],
  ),

  op('endpoints', 'GET', '/endpoints', 'list', 'List[Endpoint]', 'List all endpoints.', []),
  op(
    'endpoints',
    'GET',
    '/endpoints/{tech}',
    'listByTech',
    'List[Endpoint]',
    'List available endoints for a given endpoint technology.',
    [path('tech', 'Technology of the endpoints (pjsip,iax2,...)')],
    [err(404, 'Endpoints not found')],
  ),
  op(
    'endpoints',
    'GET',
    '/endpoints/{tech}/{resource}',
    'get',
    'Endpoint',
    'Details for an endpoint.',
    [path('tech', 'Technology of the endpoint'), path('resource', 'ID of the endpoint')],
    [err(400, 'Invalid parameters for sending a message.'), err(404, 'Endpoints not found')],
  ),

  op('channels', 'GET', '/channels', 'list', 'List[Channel]', 'List all active channels in Asterisk.', []),
  op(
    'channels',
    'POST',
    '/channels',
    'originate',
    'Channel',
    'Create a new channel (originate).',
    [...originateParams, q('channelId', 'The unique id to assign the channel on creation.')],
    originateErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/create',
    'create',
    'Channel',
    'Create channel.',
    [
      req('endpoint', 'Endpoint for channel communication'),
      req('app', 'Stasis Application to place channel into'),
      q('appArgs', 'The application arguments to pass to the Stasis application.'),
      q('channelId', 'The unique id to assign the channel on creation.'),
      q('otherChannelId', 'The unique id to assign the second channel when using local channels.'),
      q('originator', 'Unique ID of the calling channel'),
      q('formats', 'The format name capability list to use if originator is not specified.'),
      variablesBody,
    ],
    [err(409, 'Channel with given unique ID already exists.')],
  ),
  op(
    'channels',
    'GET',
    '/channels/{channelId}',
    'get',
    'Channel',
    'Channel details.',
    [channelId],
    [err(404, 'Channel not found')],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}',
    'originateWithId',
    'Channel',
    'Create a new channel (originate with id).',
    [path('channelId', 'The unique id to assign the channel on creation.'), ...originateParams],
    originateErrors,
  ),
  op(
    'channels',
    'DELETE',
    '/channels/{channelId}',
    'hangup',
    'void',
    'Delete (i.e. hangup) a channel.',
    [
      channelId,
      q('reason_code', 'The reason code for hanging up the channel for detail use.'),
      q('reason', 'Reason for hanging up the channel for simple use.', 'string', {
        values: [
          'normal',
          'busy',
          'congestion',
          'no_answer',
          'timeout',
          'rejected',
          'unallocated',
          'normal_unspecified',
          'number_incomplete',
          'codec_mismatch',
          'interworking',
          'failure',
          'answered_elsewhere',
        ],
      }),
    ],
    [err(400, 'Invalid reason for hangup provided'), err(404, 'Channel not found')],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/continue',
    'continueInDialplan',
    'void',
    'Exit application; continue execution in the dialplan.',
    [
      channelId,
      q('context', 'The context to continue to.'),
      q('extension', 'The extension to continue to.'),
      q('priority', 'The priority to continue to.', 'int'),
      q('label', "The label to continue to - will supersede 'priority' if both are provided."),
    ],
    channelErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/redirect',
    'redirect',
    'void',
    'Redirect the channel to a different location.',
    [channelId, req('endpoint', 'The endpoint to redirect the channel to')],
    [
      err(400, 'Endpoint parameter not provided'),
      err(404, 'Channel or endpoint not found'),
      err(409, 'Channel not in a Stasis application'),
      err(422, 'Endpoint is not the same type as the channel'),
      err(412, 'Channel in invalid state'),
    ],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/answer',
    'answer',
    'void',
    'Answer a channel.',
    [channelId],
    channelErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/ring',
    'ring',
    'void',
    'Indicate ringing to a channel.',
    [channelId],
    channelErrors,
  ),
  op(
    'channels',
    'DELETE',
    '/channels/{channelId}/ring',
    'ringStop',
    'void',
    'Stop ringing indication on a channel if locally generated.',
    [channelId],
    channelErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/dtmf',
    'sendDTMF',
    'void',
    'Send provided DTMF to a given channel.',
    [
      channelId,
      q('dtmf', 'DTMF To send.'),
      q('before', 'Amount of time to wait before DTMF digits (specified in milliseconds) start.', 'int'),
      q('between', 'Amount of time in between DTMF digits (specified in milliseconds).', 'int', {
        defaultValue: '100',
      }),
      q('duration', 'Length of each DTMF digit (specified in milliseconds).', 'int', { defaultValue: '100' }),
      q('after', 'Amount of time to wait after DTMF digits (specified in milliseconds) end.', 'int'),
    ],
    [err(400, 'DTMF is required'), ...channelErrors],
  ),
  ...(['mute', 'unmute'] as const).map((nickname) =>
    op(
      'channels',
      nickname === 'mute' ? 'POST' : 'DELETE',
      '/channels/{channelId}/mute',
      nickname,
      'void',
      nickname === 'mute' ? 'Mute a channel.' : 'Unmute a channel.',
      [
        channelId,
        q('direction', 'Direction in which to (un)mute audio', 'string', {
          values: ['both', 'in', 'out'],
          defaultValue: 'both',
        }),
      ],
      channelErrors,
    ),
  ),
  op('channels', 'POST', '/channels/{channelId}/hold', 'hold', 'void', 'Hold a channel.', [channelId], channelErrors),
  op(
    'channels',
    'DELETE',
    '/channels/{channelId}/hold',
    'unhold',
    'void',
    'Remove a channel from hold.',
    [channelId],
    channelErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/moh',
    'startMoh',
    'void',
    'Play music on hold to a channel.',
    [channelId, q('mohClass', 'Music on hold class to use')],
    channelErrors,
  ),
  op(
    'channels',
    'DELETE',
    '/channels/{channelId}/moh',
    'stopMoh',
    'void',
    'Stop playing music on hold to a channel.',
    [channelId],
    channelErrors,
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/play',
    'play',
    'Playback',
    'Start playback of media.',
    [channelId, ...mediaParams, q('playbackId', 'Playback ID.')],
    [
      err(404, 'Channel not found'),
      err(409, 'Channel not in a Stasis application'),
      err(412, 'Channel in invalid state'),
    ],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/play/{playbackId}',
    'playWithId',
    'Playback',
    'Start playback of media and specify the playbackId.',
    [channelId, path('playbackId', 'Playback ID.'), ...mediaParams],
    [
      err(404, 'Channel not found'),
      err(409, 'Channel not in a Stasis application'),
      err(412, 'Channel in invalid state'),
    ],
  ),
  op(
    'channels',
    'GET',
    '/channels/{channelId}/variable',
    'getChannelVar',
    'Variable',
    'Get the value of a channel variable or function.',
    [channelId, req('variable', 'The channel variable or function to get')],
    [
      err(400, 'Missing variable parameter.'),
      err(404, 'Channel or variable not found'),
      err(409, 'Channel not in a Stasis application'),
    ],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/variable',
    'setChannelVar',
    'void',
    'Set the value of a channel variable or function.',
    [
      channelId,
      req('variable', 'The channel variable or function to set'),
      q('value', 'The value to set the variable to'),
    ],
    [
      err(400, 'Missing variable parameter.'),
      err(404, 'Channel not found'),
      err(409, 'Channel not in a Stasis application'),
    ],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/record',
    'record',
    'LiveRecording',
    'Start a recording.',
    [
      channelId,
      req('name', "Recording's filename"),
      req('format', 'Format to encode audio in'),
      q('maxDurationSeconds', 'Maximum duration of the recording, in seconds. 0 for no limit', 'int', {
        defaultValue: '0',
      }),
      q('maxSilenceSeconds', 'Maximum duration of silence, in seconds. 0 for no limit', 'int', { defaultValue: '0' }),
      q('ifExists', 'Action to take if a recording with the same name already exists.', 'string', {
        values: ['fail', 'overwrite', 'append'],
        defaultValue: 'fail',
      }),
      q('beep', 'Play beep when recording begins', 'boolean', { defaultValue: 'false' }),
      q('terminateOn', 'DTMF input to terminate recording', 'string', {
        values: ['none', 'any', '*', '#'],
        defaultValue: 'none',
      }),
    ],
    [
      err(400, 'Invalid parameters'),
      err(404, 'Channel not found'),
      err(
        409,
        'Channel is not in a Stasis application; the channel is currently bridged with other channels; A recording with the same name already exists on the system and can not be overwritten because it is in progress or ifExists=fail',
      ),
      err(422, 'The format specified is unknown on this system'),
    ],
  ),
  op(
    'channels',
    'POST',
    '/channels/{channelId}/dial',
    'dial',
    'void',
    'Dial a created channel.',
    [channelId, q('caller', 'Channel ID of caller'), q('timeout', 'Dial timeout', 'int', { defaultValue: '0' })],
    [err(404, 'Channel cannot be found.'), err(409, 'Channel cannot be dialed.'), err(500, 'Failed to dial channel.')],
  ),

  op('bridges', 'GET', '/bridges', 'list', 'List[Bridge]', 'List all active bridges in Asterisk.', []),
  ...(['create', 'createWithId'] as const).map((nickname) =>
    op(
      'bridges',
      'POST',
      nickname === 'create' ? '/bridges' : '/bridges/{bridgeId}',
      nickname,
      'Bridge',
      nickname === 'create' ? 'Create a new bridge.' : 'Create a new bridge or updates an existing one.',
      [
        ...(nickname === 'create' ? [q('bridgeId', 'Unique ID to give to the bridge being created.')] : [bridgeId]),
        q('type', 'Comma separated list of bridge type attributes (mixing, holding, dtmf_events, proxy_media).'),
        q('name', 'Name to give to the bridge being created.'),
      ],
      [err(409, 'Bridge with the same bridgeId already exists')],
    ),
  ),
  op(
    'bridges',
    'GET',
    '/bridges/{bridgeId}',
    'get',
    'Bridge',
    'Get bridge details.',
    [bridgeId],
    [err(404, 'Bridge not found')],
  ),
  op(
    'bridges',
    'DELETE',
    '/bridges/{bridgeId}',
    'destroy',
    'void',
    'Shut down a bridge.',
    [bridgeId],
    [err(404, 'Bridge not found')],
  ),
  op(
    'bridges',
    'POST',
    '/bridges/{bridgeId}/addChannel',
    'addChannel',
    'void',
    'Add a channel to a bridge.',
    [
      bridgeId,
      req('channel', 'Ids of channels to add to bridge', 'string', { multiple: true }),
      q('role', "Channel's role in the bridge"),
      q('absorbDTMF', 'Absorb DTMF coming from this channel, preventing it to pass through to the bridge', 'boolean'),
      q('mute', 'Mute audio from this channel, preventing it to pass through to the bridge', 'boolean'),
      q(
        'inhibitConnectedLineUpdates',
        'Do not present the identity of the newly connected channel to other bridge members',
        'boolean',
      ),
    ],
    [
      err(400, 'Channel not found'),
      err(404, 'Bridge not found'),
      err(409, 'Bridge not in Stasis application; Channel currently recording'),
      err(422, 'Channel not in Stasis application'),
    ],
  ),
  op(
    'bridges',
    'POST',
    '/bridges/{bridgeId}/removeChannel',
    'removeChannel',
    'void',
    'Remove a channel from a bridge.',
    [bridgeId, req('channel', 'Ids of channels to remove from bridge', 'string', { multiple: true })],
    [
      err(400, 'Channel not found'),
      err(404, 'Bridge not found'),
      err(409, 'Bridge not in Stasis application'),
      err(422, 'Channel not in this bridge'),
    ],
  ),
  op(
    'bridges',
    'POST',
    '/bridges/{bridgeId}/moh',
    'startMoh',
    'void',
    'Play music on hold to a bridge or change the MOH class that is playing.',
    [bridgeId, q('mohClass', "Channel's id")],
    [err(404, 'Bridge not found'), err(409, 'Bridge not in Stasis application')],
  ),
  op(
    'bridges',
    'DELETE',
    '/bridges/{bridgeId}/moh',
    'stopMoh',
    'void',
    'Stop playing music on hold to a bridge.',
    [bridgeId],
    [err(404, 'Bridge not found'), err(409, 'Bridge not in Stasis application')],
  ),
  op(
    'bridges',
    'POST',
    '/bridges/{bridgeId}/play',
    'play',
    'Playback',
    'Start playback of media on a bridge.',
    [bridgeId, ...mediaParams, q('playbackId', 'Playback Id.')],
    [err(404, 'Bridge not found'), err(409, 'Bridge not in a Stasis application')],
  ),
  op(
    'bridges',
    'POST',
    '/bridges/{bridgeId}/play/{playbackId}',
    'playWithId',
    'Playback',
    'Start playback of media on a bridge.',
    [bridgeId, path('playbackId', 'Playback ID.'), ...mediaParams],
    [err(404, 'Bridge not found'), err(409, 'Bridge not in a Stasis application')],
  ),

  op(
    'recordings',
    'GET',
    '/recordings/stored',
    'listStored',
    'List[StoredRecording]',
    'List recordings that are complete.',
    [],
  ),
  op(
    'recordings',
    'GET',
    '/recordings/stored/{recordingName}',
    'getStored',
    'StoredRecording',
    "Get a stored recording's details.",
    [path('recordingName', 'The name of the recording')],
    [err(404, 'Recording not found')],
  ),
  op(
    'recordings',
    'DELETE',
    '/recordings/stored/{recordingName}',
    'deleteStored',
    'void',
    'Delete a stored recording.',
    [path('recordingName', 'The name of the recording')],
    [err(404, 'Recording not found')],
  ),
  op(
    'recordings',
    'GET',
    '/recordings/stored/{recordingName}/file',
    'getStoredFile',
    'binary',
    'Get the file associated with the stored recording.',
    [path('recordingName', 'The name of the recording')],
    [err(403, 'The recording file could not be opened'), err(404, 'Recording not found')],
  ),
  op(
    'recordings',
    'GET',
    '/recordings/live/{recordingName}',
    'getLive',
    'LiveRecording',
    'List live recordings.',
    [path('recordingName', 'The name of the recording')],
    [err(404, 'Recording not found')],
  ),
  op(
    'recordings',
    'DELETE',
    '/recordings/live/{recordingName}',
    'cancel',
    'void',
    'Stop a live recording and discard it.',
    [path('recordingName', 'The name of the recording')],
    [err(404, 'Recording not found')],
  ),
  op(
    'recordings',
    'POST',
    '/recordings/live/{recordingName}/stop',
    'stop',
    'void',
    'Stop a live recording and store it.',
    [path('recordingName', 'The name of the recording')],
    [err(404, 'Recording not found')],
  ),

  op(
    'playbacks',
    'GET',
    '/playbacks/{playbackId}',
    'get',
    'Playback',
    "Get a playback's details.",
    [path('playbackId', "Playback's id")],
    [err(404, 'The playback cannot be found')],
  ),
  op(
    'playbacks',
    'DELETE',
    '/playbacks/{playbackId}',
    'stop',
    'void',
    'Stop a playback.',
    [path('playbackId', "Playback's id")],
    [err(404, 'The playback cannot be found')],
  ),

  op('applications', 'GET', '/applications', 'list', 'List[Application]', 'List all applications.', []),
  op(
    'applications',
    'GET',
    '/applications/{applicationName}',
    'get',
    'Application',
    'Get details of an application.',
    [path('applicationName', "Application's name")],
    [err(404, 'Application does not exist.')],
  ),

  op('events', 'GET', '/events', 'eventWebsocket', 'Message', 'WebSocket connection for events.', [
    req('app', 'Applications to subscribe to.', 'string', { multiple: true }),
    q('subscribeAll', 'Subscribe to all Asterisk events.', 'boolean'),
  ]),
];
