import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { apiDeclaration, resourceListing } from './api-docs.js';
import { type AriContext, Created, handlers } from './ari-handlers.js';
import { Binary } from './binary.js';
import { handleControl } from './control-api.js';
import { AriError } from './errors.js';
import { EventsHub } from './events-hub.js';
import { type DelaySpec, delaySource, seededRandom } from './random.js';
import { match } from './router.js';
import { Clock, ariTimestamp } from './time.js';
import { type EndpointBehavior, type InboundCall } from './model.js';
import { World } from './world.js';
import { type MediaChange } from './media-timeline.js';
import { type CallRecord } from './records.js';
import { defaultSounds } from './sounds.js';

export interface AriSimOptions {
  /** 0 (default) picks a free port. The emulator always binds 127.0.0.1. */
  port?: number;
  username: string;
  password: string;
  /** Multiplies every simulated delay: 0.01 makes a 6 s script take 60 ms. Default 1. */
  timeScale?: number;
  /** The Stasis app inbound calls go to when `POST /sim/calls` names none. Default `switchboard`. */
  app?: string;
  /** Sent as `asterisk_id` in every event and as the system entity id. */
  asteriskId?: string;
  /** Where received faxes are stored as `<uniqueid>.tif`. Default: a new temp directory, removed by stop(). */
  spoolDir?: string;
  /** Dialplan location of ReceiveFAX. Default `switchboard-fax` / `receive`. */
  faxContext?: string;
  faxExtension?: string;
  /** Context inbound trunk calls run Stasis() from. Default `from-trunk`. */
  inboundContext?: string;
  /** PJSIP endpoint name of the carrier trunk; external numbers are `PJSIP/<number>@<trunk>`. */
  trunkName?: string;
  /** How external numbers without their own behaviour react. Default: answer after 1 s. */
  trunkBehavior?: EndpointBehavior;
  /** Desk phones known at start, by endpoint name (`agent1` for `PJSIP/agent1`). */
  endpoints?: Record<string, EndpointBehavior>;
  /**
   * Where the desk phones' PJSIP endpoints come from. `static` (default): each phone given a
   * behaviour (`endpoints`, `setEndpoint`) is also an endpoint of pjsip.conf. `pushed`: a behaviour
   * is only the phone (its contact); dialling `PJSIP/<name>` fails with 500 "Allocation failed"
   * unless `<name>` is in `staticEndpoints` or was pushed through ARI's dynamic configuration
   * (endpoint and one of its AORs), as on an Asterisk whose devices the ari-adapter provisions.
   */
  deviceEndpoints?: 'static' | 'pushed';
  /** Endpoints of pjsip.conf besides the trunk (each with an AOR of its name). Default none. */
  staticEndpoints?: Iterable<string>;
  /** Length of one `sound:`/`recording:` medium. Default 2000 ms. */
  soundDurationMs?: number;
  /** Length per character of `digits:`/`number:`/`characters:` media. Default 500 ms. */
  digitDurationMs?: number;
  /**
   * The `sound:` names that exist (`beep`, `switchboard/welcome`); a playback of any other fails
   * as on Asterisk. Default `defaultSounds()`: the core sounds and the prompts generated from
   * `docker/asterisk/sounds/`.
   */
  sounds?: Iterable<string>;
  /** musiconhold.conf's classes. Default `['default']`, as docker/asterisk/musiconhold.conf has. */
  mohClasses?: Iterable<string>;
  /** Like ari.conf `channelvars`: variables included in every channel snapshot. */
  channelVars?: string[];
  /**
   * How long after `POST /channels/create` has answered the channel enters Stasis, in wall-clock ms
   * (not scaled: it is Asterisk's latency, not the call's): a number, or `[min, max]` drawn per
   * channel from the seeded generator. Commands on the channel before then get 409, as on Asterisk.
   * Default `[1, 20]`.
   */
  stasisEntryDelayMs?: DelaySpec;
  /**
   * How long a call placed while no process holds its Stasis app waits for one, in whole seconds of
   * call time: as docker/asterisk/extensions.conf (STASIS_HOLD_SECONDS), the caller hears ringing
   * and Stasis() is tried again every second; an app that connects meanwhile gets the call
   * (StasisStart), else the call is answered, hears `switchboard/service-unavailable` and is hung
   * up with cause 41. 0 turns such a call away at once. Default 60, the dialplan's value.
   */
  stasisHoldSeconds?: number;
  /** Seed of the generator behind randomised delays; the same seed draws the same delays. Default 1. */
  seed?: number;
}

export interface AriSim {
  url: string;
  port: number;
  spoolDir: string;
  setEndpoint(resource: string, behavior: EndpointBehavior): void;
  /** Asterisk restarted: the endpoints, AORs and auths pushed through ARI are gone (memory wizard). */
  forgetPushedConfig(): void;
  placeCall(call: InboundCall): string;
  getCall(channelId: string): CallRecord | undefined;
  /** Every channel's record, in creation order. */
  listCalls(): CallRecord[];
  /** The far end of a channel hangs up now (a SIP BYE). */
  hangupCall(channelId: string): void;
  /** The phone of a ringing dialled channel answers now, whatever its behaviour (409 when it does not ring). */
  answerCall(channelId: string): void;
  /** The caller presses keys now (one ChannelDtmfReceived per digit, 200 ms apart). */
  pressDigits(channelId: string, digits: string): void;
  /** The channel disappears without a single event reaching the app; only `GET /channels` shows it. */
  loseChannel(channelId: string): void;
  /** Every change of what the channel's party hears (prompt, music, ringback, partner), in wall-clock time. */
  mediaTimeline(channelId: string): MediaChange[];
  /** The recordings Asterisk keeps (`GET /recordings/stored`): what an app fetched and did not delete. */
  storedRecordings(): Array<{ name: string; format: string }>;
  dropWebSockets(app?: string): number;
  stop(): Promise<void>;
}

const VERSION = '22.10.1';
/** Randomised so that every test and benchmark meets the window in which Asterisk answers 409. */
const DEFAULT_STASIS_ENTRY_DELAY_MS: DelaySpec = [1, 20];

/** extensions.conf's STASIS_HOLD_SECONDS. */
const DEFAULT_STASIS_HOLD_SECONDS = 60;

function stasisHoldSeconds(value: number | undefined): number {
  const seconds = value ?? DEFAULT_STASIS_HOLD_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(
      `stasisHoldSeconds must be a whole number of seconds ≥ 0 (the dialplan counts Wait(1)s), got ${seconds}`,
    );
  }
  return seconds;
}

/** Start the emulator; resolves once it listens. */
export async function startAriSim(options: AriSimOptions): Promise<AriSim> {
  const asteriskId = options.asteriskId ?? '02:00:00:a5:51:01';
  const spoolDir = options.spoolDir ?? mkdtempSync(join(tmpdir(), 'ari-sim-fax-'));
  const clock = new Clock(options.timeScale ?? 1);
  const hub = new EventsHub(asteriskId);
  const world = new World({
    clock,
    sink: hub,
    asteriskId,
    defaultApp: options.app ?? 'switchboard',
    spoolDir,
    faxContext: options.faxContext ?? 'switchboard-fax',
    faxExtension: options.faxExtension ?? 'receive',
    inboundContext: options.inboundContext ?? 'from-trunk',
    trunkName: options.trunkName ?? 'trunk',
    trunkBehavior: options.trunkBehavior ?? { answerAfterMs: 1000 },
    soundDurationMs: options.soundDurationMs ?? 2000,
    digitDurationMs: options.digitDurationMs ?? 500,
    sounds: new Set(options.sounds ?? defaultSounds()),
    mohClasses: new Set(options.mohClasses ?? ['default']),
    channelVars: options.channelVars ?? [],
    stasisEntryDelay: delaySource(
      options.stasisEntryDelayMs ?? DEFAULT_STASIS_ENTRY_DELAY_MS,
      seededRandom(options.seed ?? 1),
    ),
    stasisHoldSeconds: stasisHoldSeconds(options.stasisHoldSeconds),
    deviceEndpoints: options.deviceEndpoints ?? 'static',
    staticEndpoints: new Set(options.staticEndpoints ?? []),
  });
  for (const [name, behavior] of Object.entries(options.endpoints ?? {})) world.setEndpoint(`PJSIP/${name}`, behavior);

  const startedAt = ariTimestamp();
  const context: AriContext = {
    world,
    asteriskInfo: (only) => {
      const info: Record<string, unknown> = {
        build: { os: 'Linux', kernel: 'ari-sim', options: '', machine: 'x86_64', date: startedAt, user: 'ari-sim' },
        system: { version: VERSION, entity_id: asteriskId },
        config: { name: 'ari-sim', default_language: 'en', setid: { user: 'asterisk', group: 'asterisk' } },
        status: { startup_time: startedAt, last_reload_time: startedAt },
      };
      return only ? Object.fromEntries(Object.entries(info).filter(([k]) => only.includes(k))) : info;
    },
    ping: () => ({ asterisk_id: asteriskId, ping: 'pong', timestamp: ariTimestamp() }),
  };

  const authorized = (req: IncomingMessage, query: URLSearchParams): boolean => {
    const expected = `${options.username}:${options.password}`;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ') && Buffer.from(header.slice(6), 'base64').toString() === expected) return true;
    return query.get('api_key') === expected;
  };

  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { message: error instanceof Error ? error.message : String(error) });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    if (!authorized(req, url.searchParams)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
      return reply(res, 401, { message: 'Authentication required' });
    }
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw);
      } catch {
        return reply(res, 400, { message: 'Failed to parse request body as JSON' });
      }
    }
    try {
      if (url.pathname.startsWith('/sim/')) {
        const result = handleControl(world, hub, method, url.pathname.slice(4), url.searchParams, body);
        return reply(res, result.status, result.body);
      }
      if (!url.pathname.startsWith('/ari/')) return reply(res, 404, { message: 'Resource not found' });
      const path = url.pathname.slice(4);
      if (path.endsWith('/')) {
        return reply(res, 404, { message: `ARI URLs do not end with a slash. Try /ari${path.replace(/\/+$/, '')}` });
      }
      const docs = /^\/api-docs\/(\w+)\.json$/.exec(path);
      if (docs?.[1] && method === 'GET') {
        // Asterisk rewrites basePath from the Host header; ari-client builds every URL from it.
        const basePath = `http://${req.headers.host ?? `127.0.0.1:${port}`}/ari`;
        const doc = docs[1] === 'resources' ? resourceListing(basePath) : apiDeclaration(docs[1], basePath);
        return doc ? reply(res, 200, doc) : reply(res, 404, { message: 'Resource not found' });
      }
      if (path === '/events') return reply(res, 426, undefined, 'Upgrade Required');
      const matched = match(method, path, url.searchParams, body);
      const handler = handlers[matched.key];
      if (!handler) return reply(res, 501, { message: 'Not implemented' });
      const result = await handler(context, matched.request);
      if (result instanceof Binary) {
        res.writeHead(200, { 'Content-Type': result.contentType, 'Content-Length': result.data.length });
        res.end(result.data);
        return;
      }
      if (result instanceof Created) {
        res.setHeader('Location', `/ari${result.location}`);
        return reply(res, 201, result.body);
      }
      return result === undefined ? reply(res, 204) : reply(res, 200, result);
    } catch (error) {
      if (error instanceof AriError) return reply(res, error.status, error.body);
      throw error;
    }
  }

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/ari/events') return refuse('404 Not Found');
    if (!authorized(req, url.searchParams)) return refuse('401 Unauthorized');
    const apps = (url.searchParams.get('app') ?? '').split(',').filter(Boolean);
    if (!apps.length) return refuse('400 Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, apps));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    spoolDir,
    setEndpoint: (resource, behavior) => world.setEndpoint(resource, behavior),
    forgetPushedConfig: () => world.pjsip.clear(),
    placeCall: (call) => world.placeCall(call),
    getCall: (channelId) => world.getRecord(channelId),
    listCalls: () => world.listRecords(),
    hangupCall: (channelId) => world.remoteHangup(channelId),
    answerCall: (channelId) => world.answerNow(channelId),
    pressDigits: (channelId, digits) => world.pressDigitsNow(channelId, digits),
    loseChannel: (channelId) => world.loseChannel(channelId),
    mediaTimeline: (channelId) => world.media.of(channelId),
    storedRecordings: () => world.listStoredRecordings(),
    dropWebSockets: (app) => hub.drop(app),
    stop: async () => {
      clock.stop();
      hub.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A spool the emulator made for itself goes with it; a given one is the caller's.
      if (!options.spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body?: unknown, text?: string) {
  if (body === undefined) {
    res.writeHead(status, text ? { 'Content-Type': 'text/plain' } : {});
    res.end(text ?? '');
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}
