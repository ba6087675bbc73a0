import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SOFTHANGUP_EXPLICIT, causeText, hangupReasons } from './causes.js';
import {
  AriError,
  allocationFailed,
  badRequest,
  conflict,
  invalidState,
  notFound,
  notInStasis,
  unprocessable,
} from './errors.js';
import { Binary } from './binary.js';
import { storeFax } from './fax.js';
import {
  type Bridge,
  type Channel,
  type EndpointBehavior,
  type EventSink,
  type CallerId,
  type Dialplan,
  type HangupRequest,
  type InboundCall,
  type LiveRecording,
  type Playback,
  type Target,
  bridgeSnapshot,
  channelSnapshot,
  parseCallerId,
  playbackSnapshot,
  recordingSnapshot,
} from './model.js';
import { MediaTimeline } from './media-timeline.js';
import { PjsipConfig } from './pjsip-config.js';
import { type CallRecord, newRecord } from './records.js';
import { KNOWN_FORMATS, RECORDING_FORMATS, type RecordingEnd, recordedMessage, scriptedEnd } from './recordings.js';
import { type Clock, ariTimestamp } from './time.js';

export interface WorldOptions {
  clock: Clock;
  sink: EventSink;
  asteriskId: string;
  defaultApp: string;
  spoolDir: string;
  faxContext: string;
  faxExtension: string;
  inboundContext: string;
  trunkName: string;
  trunkBehavior: EndpointBehavior;
  soundDurationMs: number;
  digitDurationMs: number;
  /** `sound:` names that exist; any other fails its playback, as a missing file does. */
  sounds: ReadonlySet<string>;
  /** musiconhold.conf's classes. */
  mohClasses: ReadonlySet<string>;
  channelVars: string[];
  /** Wall-clock ms between `POST /channels/create` answering and the channel entering Stasis. */
  stasisEntryDelay: () => number;
  /** extensions.conf's STASIS_HOLD_SECONDS: how long a call waits, ringing, for the Stasis app. */
  stasisHoldSeconds: number;
  /**
   * `static`: every phone given a behaviour is also an endpoint of pjsip.conf. `pushed`: a
   * behaviour is only the phone; its endpoint must be pushed (dynamic configuration) or static.
   */
  deviceEndpoints: 'static' | 'pushed';
  /** Endpoints of pjsip.conf besides the trunk, each with an AOR of its name. */
  staticEndpoints: ReadonlySet<string>;
}

const NORMAL_CLEARING = 16;
const USER_BUSY = 17;
const NO_ANSWER = 19;
const SUBSCRIBER_ABSENT = 20;
const NO_ROUTE_DESTINATION = 3;
const DTMF_SPACING_MS = 200;
const FAX_MS_PER_PAGE = 14_000;
/** The dialplan's Wait(1) between two tries of Stasis(). */
const STASIS_RETRY_MS = 1000;
/** Hangup(41) after the sorry prompt: temporary failure. */
const TEMPORARY_FAILURE = 41;
const SORRY_PROMPT = 'sound:switchboard/service-unavailable';

/**
 * The emulated Asterisk: channels, bridges, playbacks, endpoints and the events they cause, in
 * the order and shapes Asterisk 22 produces them. All simulated delays go through the scaled
 * clock; per channel there are only one-shot timers for what is scheduled to happen to it.
 */
export class World {
  private readonly channels = new Map<string, Channel>();
  private readonly bridges = new Map<string, Bridge>();
  private readonly playbacks = new Map<string, Playback>();
  private readonly liveRecordings = new Map<string, LiveRecording>();
  /** Asterisk's recording directory: name → the file (one format per name here). */
  private readonly storedRecordings = new Map<string, { format: string; data: Buffer }>();
  private readonly records = new Map<string, CallRecord>();
  /** The phones: how the device at `PJSIP/<name>` answers. */
  private readonly endpoints = new Map<string, EndpointBehavior>();
  readonly pjsip = new PjsipConfig(() => this.staticEndpointNames());
  readonly media = new MediaTimeline();
  private readonly trunkNumbers = new Map<string, EndpointBehavior>();
  private readonly epoch = Math.floor(Date.now() / 1000);
  private uniqueSeq = 0;
  private nameSeq = 0;

  constructor(private readonly o: WorldOptions) {}

  // ---- scriptable world -------------------------------------------------------------------

  /** Configure `PJSIP/<name>` (a desk phone) or `PJSIP/<number>@<trunk>` (an external number). */
  setEndpoint(resource: string, behavior: EndpointBehavior): void {
    const m = /^PJSIP\/([^@/]+)(?:@(.+))?$/i.exec(resource);
    if (!m?.[1])
      throw badRequest(
        `Unsupported endpoint resource '${resource}': use PJSIP/<name> or PJSIP/<number>@${this.o.trunkName}`,
      );
    if (m[2] !== undefined) {
      if (m[2] !== this.o.trunkName) throw badRequest(`Unknown trunk '${m[2]}': the trunk is '${this.o.trunkName}'`);
      this.trunkNumbers.set(m[1], behavior);
    } else {
      this.endpoints.set(m[1], behavior);
    }
  }

  /** An inbound call from the trunk that runs `Stasis(<app>,inbound,<exten>)`. */
  placeCall(call: InboundCall): string {
    const app = call.app ?? this.o.defaultApp;
    const ch = this.newChannel({
      id: this.uniqueId(),
      name: `PJSIP/${call.endpoint ?? this.o.trunkName}-${this.nextName()}`,
      state: 'Ring',
      caller: { name: call.callerName ?? '', number: call.from },
      dialplan: { context: this.o.inboundContext, exten: call.to, priority: 1, app_name: '', app_data: '' },
      origin: 'dialplan',
      direction: 'inbound',
      from: call.from,
      to: call.to,
    });
    if (call.fax) ch.fax = call.fax;
    if (call.message) ch.message = call.message;
    const args = call.args ?? ['inbound', call.to];
    if (this.o.sink.isActive(app)) this.enterStasis(ch, app, args);
    else this.holdForStasis(ch, app, args, 0);
    for (const step of call.script ?? []) {
      if ('hangup' in step) this.later(ch, step.atMs, () => this.hangup(ch, NORMAL_CLEARING, {}));
      else if (step.after === 'prompt') {
        ch.answers ??= { keys: [], heard: new Map<string, number>(), pending: new Set<NodeJS.Timeout>() };
        ch.answers.keys.push({ atMs: step.atMs, dtmf: step.dtmf });
      } else this.pressDigits(ch, step.atMs, step.dtmf);
    }
    return ch.id;
  }

  /** The caller presses keys now, as a script's `dtmf` step would. */
  pressDigitsNow(channelId: string, digits: string): void {
    const ch = this.channels.get(channelId);
    if (!ch) throw notFound('Channel not found');
    this.pressDigits(ch, 0, digits);
  }

  /**
   * The phone of a ringing outbound channel picks up now, whatever its behaviour said: a test makes
   * two phones answer within the same millisecond this way.
   */
  answerNow(channelId: string): void {
    const ch = this.channels.get(channelId);
    if (!ch) throw notFound('Channel not found');
    if (!ch.pickUp) throw conflict('Channel is not ringing');
    ch.pickUp();
  }

  /** The far end hangs up now (a SIP BYE): ChannelHangupRequest without a cause. */
  remoteHangup(channelId: string): void {
    const ch = this.channels.get(channelId);
    if (!ch) throw notFound('Channel not found');
    this.hangup(ch, NORMAL_CLEARING, {});
  }

  /**
   * The channel is gone and the app never hears of it (an event lost on Asterisk's side or on the
   * way): no event at all, only `GET /channels` no longer lists it.
   */
  loseChannel(channelId: string): void {
    const ch = this.channels.get(channelId);
    if (!ch) throw notFound('Channel not found');
    ch.subscribedApp = undefined;
    ch.entry = undefined;
    this.hangup(ch, NORMAL_CLEARING, {});
  }

  listRecords(): CallRecord[] {
    return [...this.records.values()];
  }

  getRecord(channelId: string): CallRecord | undefined {
    return this.records.get(channelId);
  }

  // ---- channels ---------------------------------------------------------------------------

  listChannels() {
    return [...this.channels.values()].map((ch) => this.snap(ch));
  }

  getChannel(id: string) {
    return this.snap(this.channel(id));
  }

  originate(p: {
    endpoint?: string;
    app?: string;
    appArgs?: string;
    callerId?: string;
    timeout?: number;
    channelId?: string;
    variables?: Record<string, string>;
  }) {
    if (!p.endpoint) throw badRequest('Endpoint must be specified');
    if (!p.app) {
      throw new AriError(501, { message: 'ari-sim emulates no dialplan: originate needs app' });
    }
    if (p.channelId && this.channels.has(p.channelId)) throw conflict('Channel with given unique ID already exists');
    const target = this.resolve(p.endpoint);
    const ch = this.outboundChannel(target, p.channelId, p.variables);
    if (p.callerId) ch.caller = parseCallerId(p.callerId);
    ch.subscribedApp = p.app;
    const app = p.app;
    const args = p.appArgs ? p.appArgs.split(',') : [];
    const timeoutMs = p.timeout === undefined ? 30_000 : p.timeout < 0 ? 0 : p.timeout * 1000;
    // Originate dials through the same dial API as `dial`, so the app sees the same Dial events.
    this.dialOut(ch, timeoutMs, () => this.enterStasis(ch, app, args));
    return this.snap(ch);
  }

  create(p: {
    endpoint?: string;
    app?: string;
    appArgs?: string;
    channelId?: string;
    variables?: Record<string, string>;
  }) {
    if (!p.endpoint) throw badRequest('Endpoint must be specified');
    if (!p.app) throw badRequest('Application must be specified');
    if (p.channelId && this.channels.has(p.channelId)) throw conflict('Channel with given unique ID already exists');
    const ch = this.outboundChannel(this.resolve(p.endpoint), p.channelId, p.variables);
    // Asterisk subscribes the app at once (the channel's events reach it), answers, and only then
    // puts the channel into Stasis on a thread of its own: until that StasisStart every channel
    // command gets 409 "Channel not in Stasis application", and under load that takes a while.
    ch.subscribedApp = p.app;
    ch.entry = { app: p.app, args: p.appArgs ? p.appArgs.split(',') : [] };
    this.afterWallClock(ch, this.o.stasisEntryDelay(), () => {
      const entry = ch.entry!;
      ch.entry = undefined;
      this.enterStasis(ch, entry.app, entry.args);
      if (entry.hangupCause !== undefined) this.destroy(ch, entry.hangupCause);
    });
    return this.snap(ch);
  }

  async dial(id: string, callerId: string | undefined, timeoutSec: number | undefined) {
    const ch = this.channel(id, 'Channel cannot be found.');
    if (!ch.stasisApp) throw notInStasis();
    await this.whenIdle(ch);
    if (!ch.target || ch.dialed || ch.state !== 'Down') throw conflict('Channel cannot be dialed.');
    ch.dialed = true;
    const caller = callerId ? this.channels.get(callerId) : undefined;
    if (caller) {
      ch.connected = { ...caller.caller };
      this.emitChannel(ch, 'ChannelConnectedLine', {});
    }
    this.dialOut(ch, (timeoutSec ?? 0) * 1000);
  }

  hangupByApp(id: string, reason: string | undefined, reasonCode: string | undefined) {
    const ch = this.channel(id);
    let cause = NORMAL_CLEARING;
    if (reasonCode !== undefined && reasonCode !== '') {
      cause = Number.parseInt(reasonCode, 10);
      if (!Number.isInteger(cause) || cause < 0) throw badRequest('Invalid reason for hangup provided');
    } else if (reason !== undefined && reason !== '') {
      const mapped = hangupReasons[reason];
      if (mapped === undefined) throw badRequest('Invalid reason for hangup provided');
      cause = mapped;
    }
    this.hangup(ch, cause, { cause: SOFTHANGUP_EXPLICIT, soft: true });
  }

  async answer(id: string) {
    const ch = await this.controllable(id);
    if (ch.state === 'Up') return;
    if (ch.state !== 'Ring' && ch.state !== 'Ringing') throw invalidState();
    this.setState(ch, 'Up');
  }

  async indicateRinging(id: string, on: boolean) {
    const ch = await this.controllable(id);
    ch.heldRinging = false;
    ch.record.ringingIndicated = on;
    this.media.update(ch);
  }

  async sendDtmf(id: string, dtmf: string | undefined) {
    if (!dtmf) throw badRequest('DTMF is required');
    const ch = await this.controllable(id);
    ch.record.dtmfSent += dtmf;
  }

  async hold(id: string, on: boolean) {
    (await this.controllable(id)).record.held = on;
  }

  async mute(id: string, on: boolean) {
    (await this.controllable(id)).record.muted = on;
  }

  async channelMoh(id: string, mohClass: string | undefined) {
    const ch = await this.controllable(id);
    this.media.setMoh(ch, this.startMoh(mohClass, [ch.record]) !== undefined);
  }

  async stopChannelMoh(id: string) {
    this.media.setMoh(await this.controllable(id), false);
  }

  getVariable(id: string, variable: string | undefined) {
    if (!variable) throw badRequest('Variable name is required');
    const ch = this.channel(id, 'Provided channel was not found');
    const value = this.readVariable(ch, variable);
    if (value === undefined) throw notFound('Provided variable was not found');
    return { value };
  }

  setVariable(id: string, variable: string | undefined, value: string | undefined) {
    if (!variable) throw badRequest('Variable name is required');
    const ch = this.channel(id);
    if (!ch.stasisApp) throw notInStasis();
    this.writeVariable(ch, variable, value ?? '');
  }

  async redirect(id: string, endpoint: string | undefined) {
    if (!endpoint) throw badRequest('Required parameter endpoint not provided');
    const ch = await this.controllable(id);
    const tech = endpoint.split('/')[0] ?? '';
    const channelTech = ch.name.split('/')[0] ?? '';
    if (tech.toLowerCase() !== channelTech.toLowerCase()) {
      throw unprocessable(`Endpoint technology '${tech}' does not match channel technology '${channelTech}'`);
    }
    if (ch.state !== 'Up' && ch.state !== 'Ring' && ch.state !== 'Ringing') throw invalidState();
    ch.record.redirectedTo = endpoint;
    // The transfer moves the call away from us: Asterisk sees the far end hang up.
    this.later(ch, 0, () => this.hangup(ch, NORMAL_CLEARING, {}));
  }

  async continueInDialplan(id: string, p: { context?: string; extension?: string; priority?: number }) {
    const ch = await this.controllable(id);
    const app = ch.stasisApp;
    ch.dialplan = {
      ...ch.dialplan,
      context: p.context || ch.dialplan.context,
      exten: p.extension || ch.dialplan.exten,
      priority: p.priority ?? (p.context || p.extension ? 1 : ch.dialplan.priority + 1),
    };
    this.leaveStasis(ch);
    if (ch.dialplan.context === this.o.faxContext && ch.dialplan.exten === this.o.faxExtension && app) {
      this.receiveFax(ch, app);
    } else {
      // The emulated dialplan ends every other path in Hangup().
      this.later(ch, 0, () => this.hangup(ch, NORMAL_CLEARING, { cause: NORMAL_CLEARING }));
    }
  }

  // ---- playbacks --------------------------------------------------------------------------

  playOnChannel(id: string, media: string[], playbackId: string | undefined, lang: string | undefined) {
    const ch = this.channel(id);
    if (!ch.stasisApp) throw notInStasis();
    const pb = this.newPlayback(media, playbackId, lang ?? ch.language, { channel: ch });
    ch.playbacks.push(pb);
    const snapshot = playbackSnapshot(pb);
    if (ch.playbacks.length === 1 && !ch.recording) this.startPlayback(pb);
    return snapshot;
  }

  playOnBridge(id: string, media: string[], playbackId: string | undefined, lang: string | undefined) {
    const br = this.bridge(id);
    const pb = this.newPlayback(media, playbackId, lang ?? 'en', { bridge: br });
    br.playbacks.push(pb);
    const snapshot = playbackSnapshot(pb);
    if (br.playbacks.length === 1) this.startPlayback(pb);
    return snapshot;
  }

  getPlayback(id: string) {
    const pb = this.playbacks.get(id);
    if (!pb) throw notFound('Playback not found');
    return playbackSnapshot(pb);
  }

  stopPlayback(id: string) {
    const pb = this.playbacks.get(id);
    if (!pb) throw notFound('Playback not found');
    this.finishPlayback(pb, 'done');
  }

  // ---- recordings -------------------------------------------------------------------------

  /**
   * `POST /channels/{id}/record`, checked as resource_channels.c and res_stasis_recording.c check
   * it; the recording itself is a command on the channel's queue, so it starts once a running
   * playback is over (the request has answered 201 `queued` long before).
   */
  recordChannel(
    id: string,
    p: {
      name?: string;
      format?: string;
      maxDurationSeconds?: number;
      maxSilenceSeconds?: number;
      ifExists?: string;
      beep?: boolean;
      terminateOn?: string;
    },
  ) {
    if (!p.name) throw badRequest('Missing parameter name');
    if (!p.format) throw badRequest('Missing parameter format');
    if ((p.maxDurationSeconds ?? 0) < 0) throw badRequest('max_duration_seconds cannot be negative');
    if ((p.maxSilenceSeconds ?? 0) < 0) throw badRequest('max_silence_seconds cannot be negative');
    const ch = this.channel(id);
    if (!ch.stasisApp) throw notInStasis();
    const acceptDtmf = terminationKeys(p.terminateOn);
    if (acceptDtmf === undefined) throw badRequest('terminateOn invalid');
    const ifExists = (p.ifExists || 'fail').toLowerCase();
    if (!['fail', 'overwrite', 'append'].includes(ifExists)) throw badRequest('ifExists invalid');
    if (!KNOWN_FORMATS.has(p.format)) throw unprocessable('specified format is unknown on this system');
    if (!RECORDING_FORMATS[p.format]) {
      throw new AriError(501, { message: `ari-sim records only ${Object.keys(RECORDING_FORMATS).join(' and ')}` });
    }
    const exists = `Recording '${p.name}' already exists and can not be overwritten`;
    if (ifExists === 'fail' && this.storedRecordings.has(p.name)) throw conflict(exists);
    if (this.liveRecordings.has(p.name)) throw conflict(exists);
    const rec: LiveRecording = {
      name: p.name,
      format: p.format,
      channel: ch,
      state: 'queued',
      maxDurationMs: (p.maxDurationSeconds ?? 0) * 1000,
      maxSilenceMs: (p.maxSilenceSeconds ?? 0) * 1000,
      acceptDtmf,
      beep: p.beep ?? false,
    };
    this.liveRecordings.set(rec.name, rec);
    void this.whenIdle(ch).then(() => this.startRecording(rec));
    return recordingSnapshot(rec);
  }

  private startRecording(rec: LiveRecording) {
    const ch = rec.channel;
    // Stopped or cancelled while queued, or the channel is gone: res_stasis drops the command.
    if (rec.state !== 'queued' || ch.gone) return this.liveRecordings.delete(rec.name);
    if (ch.bridge) return this.failRecording(rec, 'Cannot record channel while in bridge');
    // ast_auto_answer: a channel that is not up yet is answered first.
    if (ch.state === 'Ring' || ch.state === 'Ringing') this.setState(ch, 'Up');
    else if (ch.state !== 'Up') return this.failRecording(rec, 'Failed to answer channel');
    rec.state = 'recording';
    rec.startedAt = performance.now();
    ch.recording = rec;
    this.emitRecording(rec, 'RecordingStarted');
    if (rec.beep) ch.record.playbacks.push('sound:beep');
    const scripted = scriptedEnd(ch.message, rec);
    if (!scripted) return;
    const then = ch.message?.then;
    rec.timer = this.o.clock.after(scripted.atMs, () => {
      ch.timers.delete(rec.timer!);
      rec.timer = undefined;
      rec.endAtMs = scripted.atMs;
      if (scripted.end === 'hangup') this.hangup(ch, NORMAL_CLEARING, {});
      else if (scripted.end === 'dtmf' && then && 'dtmf' in then) this.dtmfNow(ch, then.dtmf[0] ?? '');
      else this.finishRecording(rec, scripted.end);
    });
    ch.timers.add(rec.timer);
  }

  /** ast_play_and_record returned: the file is stored (unless cancelled) and RecordingFinished goes out. */
  private finishRecording(rec: LiveRecording, end: RecordingEnd) {
    if (rec.state !== 'recording') return;
    const ch = rec.channel;
    this.o.clock.cancel(rec.timer);
    if (rec.timer) ch.timers.delete(rec.timer);
    const elapsedMs = rec.endAtMs ?? (performance.now() - (rec.startedAt ?? 0)) / this.o.clock.timeScale;
    const recorded = recordedMessage(ch.message, Math.round(elapsedMs), end, rec.maxSilenceMs);
    // The caller left their message; another recording of the channel hears silence.
    ch.message = undefined;
    if (!rec.discard) {
      this.storedRecordings.set(rec.name, { format: rec.format, data: RECORDING_FORMATS[rec.format]!(recorded) });
    }
    // record_file reports every recording that ran as done, a cancelled one too.
    rec.state = 'done';
    rec.duration = recorded.duration;
    rec.talkingDuration = recorded.talkingDuration;
    ch.recording = undefined;
    this.liveRecordings.delete(rec.name);
    ch.record.recordings.push({ name: rec.name, duration: recorded.duration, end });
    this.emitRecording(rec, 'RecordingFinished');
    const next = ch.playbacks[0];
    if (next?.state === 'queued' && !ch.gone) this.startPlayback(next);
    else for (const wake of ch.idleWaiters.splice(0)) wake();
  }

  private failRecording(rec: LiveRecording, cause: string) {
    rec.state = 'failed';
    rec.cause = cause;
    this.liveRecordings.delete(rec.name);
    this.emitRecording(rec, 'RecordingFailed');
  }

  getLiveRecording(name: string) {
    const rec = this.liveRecordings.get(name);
    if (!rec) throw notFound('Recording not found');
    return recordingSnapshot(rec);
  }

  /** `POST /recordings/live/{name}/stop` (keep) or `DELETE /recordings/live/{name}` (cancel: the file goes). */
  stopLiveRecording(name: string, discard: boolean) {
    const rec = this.liveRecordings.get(name);
    if (!rec) throw notFound('Recording not found');
    if (rec.state === 'queued') {
      rec.state = 'canceled';
      return;
    }
    rec.discard = discard;
    this.finishRecording(rec, 'stopped');
  }

  listStoredRecordings() {
    return [...this.storedRecordings].map(([name, file]) => ({ name, format: file.format }));
  }

  getStoredRecording(name: string) {
    const file = this.storedRecordings.get(name);
    if (!file) throw notFound('Recording not found');
    return { name, format: file.format };
  }

  storedRecordingFile(name: string): Binary {
    const file = this.storedRecordings.get(name);
    if (!file) throw notFound('Recording not found');
    return new Binary(`audio/${file.format}`, file.data);
  }

  deleteStoredRecording(name: string) {
    if (!this.storedRecordings.delete(name)) throw notFound('Recording not found');
  }

  // ---- bridges ----------------------------------------------------------------------------

  listBridges() {
    return [...this.bridges.values()].map((br) => bridgeSnapshot(br));
  }

  getBridge(id: string) {
    return bridgeSnapshot(this.bridge(id));
  }

  /** `createWithId` on an existing bridge is an update that may change nothing, as in Asterisk. */
  updateBridge(p: { bridgeId: string; type?: string; name?: string }) {
    const existing = this.bridges.get(p.bridgeId);
    if (!existing) return this.createBridge(p);
    if (p.name && p.name !== existing.name) {
      throw new AriError(500, { message: 'Changing bridge name is not implemented' });
    }
    if (p.type) throw new AriError(500, { message: 'Supplying a bridge type when updating a bridge is not allowed.' });
    return bridgeSnapshot(existing);
  }

  createBridge(p: { bridgeId?: string; type?: string; name?: string }) {
    const id = p.bridgeId || randomUUID();
    if (this.bridges.has(id)) throw conflict('Bridge with the same bridgeId already exists');
    const types = (p.type || 'mixing').split(',').map((t) => t.trim());
    const known = ['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label'];
    const unknown = types.find((t) => !known.includes(t));
    if (unknown) throw badRequest(`Invalid bridge type '${unknown}'`);
    const br: Bridge = {
      id,
      name: p.name ?? '',
      type: types.includes('holding') ? 'holding' : 'mixing',
      members: [],
      apps: new Set(),
      creationtime: ariTimestamp(),
      playbacks: [],
    };
    this.bridges.set(id, br);
    return bridgeSnapshot(br);
  }

  async addToBridge(bridgeId: string, channelIds: string[]) {
    const br = this.bridge(bridgeId);
    const chans = channelIds.map((cid) => {
      const ch = this.channels.get(cid);
      if (!ch) throw badRequest('Channel not found');
      if (!ch.stasisApp) throw unprocessable('Channel not in Stasis application');
      return ch;
    });
    // Joining is a channel command: it waits behind a running playback on that channel.
    await Promise.all(chans.map((ch) => this.whenIdle(ch)));
    if (!this.bridges.has(br.id)) throw notFound('Bridge not found');
    for (const ch of chans) {
      if (ch.gone || ch.bridge === br) continue;
      if (ch.bridge) this.leaveBridge(ch);
      this.joinBridge(ch, br);
    }
  }

  async removeFromBridge(bridgeId: string, channelIds: string[]) {
    const br = this.bridge(bridgeId);
    const chans = channelIds.map((cid) => {
      const ch = this.channels.get(cid);
      if (!ch) throw badRequest('Channel not found');
      if (ch.bridge !== br) throw unprocessable('Channel not in this bridge');
      return ch;
    });
    await Promise.all(chans.map((ch) => this.whenIdle(ch)));
    for (const ch of chans) if (ch.bridge === br) this.leaveBridge(ch);
  }

  destroyBridge(id: string) {
    const br = this.bridge(id);
    for (const pb of [...br.playbacks]) this.finishPlayback(pb, 'done');
    for (const ch of [...br.members]) this.leaveBridge(ch);
    this.bridges.delete(id);
    for (const app of br.apps) this.send(app, 'BridgeDestroyed', { bridge: bridgeSnapshot(br) });
  }

  bridgeMoh(id: string, mohClass: string | undefined) {
    const br = this.bridge(id);
    br.mohClass = this.startMoh(
      mohClass,
      br.members.map((m) => m.record),
    );
    for (const m of br.members) this.media.update(m);
  }

  /**
   * The class res_musiconhold plays for a request: the one asked for, else `default`; when neither
   * is configured nothing plays (ARI still answered 204). Every class not found is noted, as the
   * WARNING "Music on Hold class '…' not found in memory" Asterisk logs.
   */
  private startMoh(requested: string | undefined, listeners: CallRecord[]): string | undefined {
    for (const name of new Set([requested || 'default', 'default'])) {
      if (this.o.mohClasses.has(name)) {
        for (const record of listeners) record.moh.push(name);
        return name;
      }
      for (const record of listeners) record.mohMissing.push(name);
    }
    return undefined;
  }

  stopBridgeMoh(id: string) {
    const br = this.bridge(id);
    br.mohClass = undefined;
    for (const m of br.members) this.media.update(m);
  }

  // ---- endpoints and applications ---------------------------------------------------------

  listEndpoints(tech?: string) {
    if (tech !== undefined && tech.toLowerCase() !== 'pjsip') throw notFound('No Endpoints found - invalid tech');
    const names = new Set([...this.staticEndpointNames(), ...this.pjsip.pushedEndpoints()]);
    return [...names].map((name) => this.endpointSnapshot(name));
  }

  getEndpoint(tech: string, resource: string) {
    if (tech.toLowerCase() !== 'pjsip' || !this.endpointExists(resource)) throw notFound('Endpoint not found');
    return this.endpointSnapshot(resource);
  }

  private staticEndpointNames(): ReadonlySet<string> {
    const names = new Set([this.o.trunkName, ...this.o.staticEndpoints]);
    if (this.o.deviceEndpoints === 'static') for (const name of this.endpoints.keys()) names.add(name);
    return names;
  }

  private endpointExists(name: string): boolean {
    return this.staticEndpointNames().has(name) || this.pjsip.pushedEndpoints().includes(name);
  }

  listApplications() {
    return this.o.sink.knownApps().map((name) => this.applicationSnapshot(name));
  }

  getApplication(name: string) {
    if (!this.o.sink.knownApps().includes(name)) throw notFound('Application not found');
    return this.applicationSnapshot(name);
  }

  // ---- internals: channel lifecycle -------------------------------------------------------

  private newChannel(init: {
    id: string;
    name: string;
    state: string;
    caller: CallerId;
    dialplan: Dialplan;
    origin: Channel['origin'];
    direction: CallRecord['direction'];
    from: string;
    to: string;
  }): Channel {
    const creationtime = ariTimestamp();
    const ch: Channel = {
      id: init.id,
      name: init.name,
      state: init.state,
      // Every emulated channel is PJSIP, so each has a SIP Call-ID.
      protocolId: randomUUID(),
      caller: init.caller,
      connected: { name: '', number: '' },
      dialplan: init.dialplan,
      creationtime,
      language: 'en',
      vars: new Map(),
      origin: init.origin,
      playbacks: [],
      idleWaiters: [],
      timers: new Set(),
      dialed: false,
      record: newRecord({
        channelId: init.id,
        name: init.name,
        direction: init.direction,
        from: init.from,
        to: init.to,
        createdAt: creationtime,
      }),
      gone: false,
    };
    this.channels.set(ch.id, ch);
    this.records.set(ch.id, ch.record);
    return ch;
  }

  private outboundChannel(
    target: Target,
    channelId: string | undefined,
    variables: Record<string, string> | undefined,
  ) {
    const ch = this.newChannel({
      id: channelId || this.uniqueId(),
      name: `PJSIP/${target.trunk ? this.o.trunkName : target.resource}-${this.nextName()}`,
      state: 'Down',
      caller: { name: '', number: '' },
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
      origin: 'ari',
      direction: 'outbound',
      from: '',
      to: `PJSIP/${target.dialstring}`,
    });
    ch.target = target;
    for (const [k, v] of Object.entries(variables ?? {})) this.writeVariable(ch, k, String(v), false);
    return ch;
  }

  /** Resolve an originate/create endpoint; unknown technology or endpoint fails like Asterisk. */
  private resolve(endpoint: string): Target {
    const m = /^PJSIP\/([^@/]+)(?:@([^/]+))?$/i.exec(endpoint);
    if (!m?.[1]) throw allocationFailed();
    const [, user, host] = m;
    if (host !== undefined) {
      // `<number>@<trunk>` is dialled through the trunk endpoint: any number answers by default.
      if (host !== this.o.trunkName) throw allocationFailed();
      return {
        resource: this.o.trunkName,
        dialstring: `${user}@${host}`,
        behavior: this.trunkNumbers.get(user) ?? this.o.trunkBehavior,
        trunk: true,
      };
    }
    // chan_pjsip needs the endpoint and a contact on one of its AORs (here: a phone with a behaviour).
    const behavior = this.endpoints.get(user);
    const configured = this.staticEndpointNames().has(user) || this.pjsip.existingAorsOf(user).length > 0;
    if (!behavior || !configured) throw allocationFailed();
    return { resource: user, dialstring: user, behavior, trunk: false };
  }

  /**
   * Dial the far end of an outbound channel and play out its behaviour with Asterisk's Dial
   * events: `""` with the dialstring, then RINGING and ANSWER, or BUSY / CHANUNAVAIL. A dial
   * timeout gives no final Dial event (observed on 22.10.1, node-ari-client #148).
   */
  private dialOut(ch: Channel, timeoutMs: number, onAnswered?: () => void) {
    const target = ch.target;
    if (!target) return;
    const b = target.behavior;
    this.emitDial(ch, '', target.dialstring);
    const fail = (dialstatus: string, cause: number) => {
      ch.record.dialStatus = dialstatus;
      this.emitDial(ch, dialstatus, '');
      this.hangup(ch, cause, { cause });
    };
    if (b.unavailable) {
      this.later(ch, 0, () => fail('CHANUNAVAIL', target.trunk ? NO_ROUTE_DESTINATION : SUBSCRIBER_ABSENT));
      return;
    }
    if (b.busy) {
      this.later(ch, 0, () => fail('BUSY', USER_BUSY));
      return;
    }
    this.later(ch, 0, () => {
      this.setState(ch, 'Ringing');
      this.emitDial(ch, 'RINGING', '');
    });
    const answer = () => {
      ch.pickUp = undefined;
      ch.record.dialStatus = 'ANSWER';
      this.setState(ch, 'Up');
      this.emitDial(ch, 'ANSWER', '');
      onAnswered?.();
      if (b.hangupAfterMs !== undefined) this.later(ch, b.hangupAfterMs, () => this.hangup(ch, NORMAL_CLEARING, {}));
    };
    ch.pickUp = answer;
    const answerAfter = b.noAnswer ? undefined : (b.answerAfterMs ?? 0);
    if (answerAfter !== undefined && (timeoutMs <= 0 || answerAfter < timeoutMs)) {
      this.later(ch, answerAfter, () => ch.pickUp?.());
    }
    if (timeoutMs > 0) {
      this.later(ch, timeoutMs, () => {
        // Answered meanwhile (by the phone's own timer or answerNow): the dial is over.
        if (!ch.pickUp) return;
        ch.pickUp = undefined;
        ch.record.dialStatus = 'NOANSWER';
        this.hangup(ch, NO_ANSWER, { cause: SOFTHANGUP_EXPLICIT, soft: true });
      });
    }
  }

  private enterStasis(ch: Channel, app: string, args: string[]) {
    const appData = [app, ...args].join(',');
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: appData };
    if (ch.subscribedApp === app) {
      this.emitChannel(ch, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: appData });
      this.emitChannel(ch, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
    }
    ch.subscribedApp = app;
    ch.stasisApp = app;
    ch.lastApp = app;
    this.emitChannel(ch, 'StasisStart', { args, channel: this.snap(ch) });
  }

  /**
   * extensions.conf when Stasis() fails because no process holds the app (STASISSTATUS=FAILED):
   * Ringing(), Wait(1) and Stasis() again, STASIS_HOLD_SECONDS times; then the sorry prompt.
   */
  private holdForStasis(ch: Channel, app: string, args: string[], waitedSeconds: number) {
    if (waitedSeconds >= this.o.stasisHoldSeconds) return this.turnAway(ch);
    if (!ch.record.ringingIndicated) {
      ch.record.ringingIndicated = true;
      ch.heldRinging = true;
      this.media.update(ch);
    }
    ch.dialplan = { ...ch.dialplan, app_name: 'Wait', app_data: '1' };
    this.later(ch, STASIS_RETRY_MS, () => {
      if (this.o.sink.isActive(app)) this.enterStasis(ch, app, args);
      else this.holdForStasis(ch, app, args, waitedSeconds + 1);
    });
  }

  /** The dialplan's `unavailable` branch (no FALLBACK_DESTINATION): Answer(), the sorry prompt, Hangup(41). */
  private turnAway(ch: Channel) {
    this.setState(ch, 'Up');
    ch.dialplan = { ...ch.dialplan, app_name: 'Playback', app_data: SORRY_PROMPT.slice('sound:'.length) };
    const pb = this.newPlayback([SORRY_PROMPT], undefined, ch.language, { channel: ch });
    ch.playbacks.push(pb);
    this.startPlayback(pb);
    void this.whenIdle(ch).then(() => this.hangup(ch, TEMPORARY_FAILURE, { cause: TEMPORARY_FAILURE }));
  }

  private leaveStasis(ch: Channel) {
    if (!ch.stasisApp) return;
    for (const pb of [...ch.playbacks]) this.finishPlayback(pb, 'done');
    if (ch.bridge) this.leaveBridge(ch);
    this.emitChannel(ch, 'StasisEnd', {});
    ch.stasisApp = undefined;
    // Back in the dialplan, the app is no longer subscribed to a channel it did not create.
    if (ch.origin === 'dialplan') ch.subscribedApp = undefined;
  }

  private hangup(ch: Channel, cause: number, request: HangupRequest) {
    if (ch.gone || ch.entry?.hangupCause !== undefined) return;
    this.emitChannel(ch, 'ChannelHangupRequest', request);
    if (ch.entry) {
      // Asterisk only flags the channel: the thread about to run Stasis() owns it, and when it gets
      // to run, the channel still enters (StasisStart), leaves at once and is destroyed.
      ch.entry.hangupCause = cause;
      return;
    }
    this.destroy(ch, cause);
  }

  private destroy(ch: Channel, cause: number) {
    ch.gone = true;
    for (const timer of ch.timers) this.o.clock.cancel(timer);
    ch.timers.clear();
    // ast_play_and_record sees the hang-up, keeps what it recorded and reports it done.
    if (ch.recording) this.finishRecording(ch.recording, 'hangup');
    for (const pb of [...ch.playbacks]) this.finishPlayback(pb, 'failed');
    if (ch.bridge) this.leaveBridge(ch);
    if (ch.stasisApp) {
      this.emitChannel(ch, 'StasisEnd', {});
      ch.stasisApp = undefined;
      if (ch.origin === 'dialplan') ch.subscribedApp = undefined;
      else this.emitChannel(ch, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
    }
    // Destroyed outside any dialplan application, as the trace shows.
    ch.dialplan = { ...ch.dialplan, app_name: '', app_data: '' };
    this.emitChannel(ch, 'ChannelDestroyed', { cause, cause_txt: causeText(cause) });
    this.channels.delete(ch.id);
    this.media.update(ch);
    ch.record.endedAt = ariTimestamp();
    ch.record.hangupCause = cause;
    ch.record.hangupCauseText = causeText(cause);
    for (const wake of ch.idleWaiters.splice(0)) wake();
  }

  private setState(ch: Channel, state: string) {
    if (ch.gone || ch.state === state) return;
    ch.state = state;
    if (state === 'Up' && ch.heldRinging) {
      // The answer ends the ringback the dialplan's Ringing() gave while the call waited for the app.
      ch.heldRinging = false;
      ch.record.ringingIndicated = false;
      this.media.update(ch);
    }
    if (state === 'Up' && !ch.record.answered) {
      ch.record.answered = true;
      ch.record.answeredAt = ariTimestamp();
    }
    this.emitChannel(ch, 'ChannelStateChange', {});
  }

  /**
   * A prompt starts playing to a caller who answers prompts with keys: at the first prompt their keys
   * are scheduled. A prompt they heard before, starting again, is the same question asked again (their
   * keys were lost, e.g. pressed while no adapter listened): they give the same answer again — every
   * key they pressed since that prompt first started, at the same offsets, replacing those still to come.
   */
  private promptStarted(ch: Channel, uri: string) {
    const answers = ch.answers;
    if (!answers) return;
    const now = Date.now();
    const firstHeard = answers.heard.get(uri);
    if (answers.firstPromptAt === undefined) answers.firstPromptAt = now;
    else if (firstHeard === undefined) {
      answers.heard.set(uri, now);
      return;
    }
    answers.heard.set(uri, firstHeard ?? now);
    for (const timer of answers.pending) {
      this.o.clock.cancel(timer);
      ch.timers.delete(timer);
    }
    answers.pending.clear();
    const since = firstHeard ?? now;
    for (const key of answers.keys) {
      // Wall-clock ms of the key in the first round, and its offset from this prompt's first start.
      const keyAt = answers.firstPromptAt + key.atMs * this.o.clock.timeScale;
      if (keyAt < since) continue;
      const afterMs = (keyAt - since) / this.o.clock.timeScale;
      [...key.dtmf].forEach((digit, i) => {
        const timer = this.o.clock.after(afterMs + i * DTMF_SPACING_MS, () => {
          answers.pending.delete(timer);
          ch.timers.delete(timer);
          if (!ch.gone) this.dtmfNow(ch, digit);
        });
        answers.pending.add(timer);
        ch.timers.add(timer);
      });
    }
  }

  private pressDigits(ch: Channel, atMs: number, digits: string) {
    [...digits].forEach((digit, i) => {
      this.later(ch, atMs + i * DTMF_SPACING_MS, () => this.dtmfNow(ch, digit));
    });
  }

  /** A key the caller presses: the app hears it (also while recording); a `terminateOn` key ends a recording. */
  private dtmfNow(ch: Channel, digit: string) {
    ch.record.dtmfPressed += digit;
    if (ch.stasisApp) this.emitChannel(ch, 'ChannelDtmfReceived', { digit, duration_ms: 100 });
    const rec = ch.recording;
    if (rec?.acceptDtmf.includes(digit.toLowerCase())) this.finishRecording(rec, 'dtmf');
  }

  /** The fax extension: ReceiveFAX(<spool>/<uniqueid>.tif), then Stasis(<app>,faxdone,...). */
  private receiveFax(ch: Channel, app: string) {
    const script = ch.fax;
    const file = join(this.o.spoolDir, `${ch.id}.tif`);
    // Snapshots (GET /channels too) show the application running, as the captured fax trace does.
    ch.dialplan = { ...ch.dialplan, app_name: 'ReceiveFAX', app_data: file };
    this.emitChannel(ch, 'ChannelDialplan', { dialplan_app: 'ReceiveFAX', dialplan_app_data: file });
    const duration = script ? (script.durationMs ?? FAX_MS_PER_PAGE * Math.max(1, script.pages)) : 1000;
    this.later(ch, duration, () => {
      void storeFax(script, this.o.spoolDir, file).then((stored) => {
        if (ch.gone) return;
        const status = script && stored ? (script.result ?? 'SUCCESS') : 'FAILED';
        const pages = script && stored ? script.pages : 0;
        const error = status === 'FAILED' ? (script?.error ?? (stored ? 'FAX_FAILED' : 'INIT_ERROR')) : undefined;
        const vars: [string, string | undefined][] = [
          ['FAXSTATUS', status],
          ['FAXERROR', error],
          ['REMOTESTATIONID', script?.stationId ?? ''],
          ['FAXPAGES', String(pages)],
          ['FAXBITRATE', '14400'],
          ['FAXRESOLUTION', '8031x7700'],
          ['FAXMODE', 'audio'],
          ['FAXFILE', stored ? file : undefined],
        ];
        for (const [name, value] of vars) {
          if (value === undefined) ch.vars.delete(name);
          else this.writeVariable(ch, name, value);
        }
        ch.record.fax = { file, status, pages };
        ch.dialplan = { ...ch.dialplan, priority: ch.dialplan.priority + 1 };
        this.enterStasis(ch, app, ['faxdone', status, String(pages)]);
      });
    });
  }

  // ---- internals: bridges -----------------------------------------------------------------

  private joinBridge(ch: Channel, br: Bridge) {
    ch.bridge = br;
    br.members.push(ch);
    if (ch.stasisApp) br.apps.add(ch.stasisApp);
    this.emitChannel(ch, 'ChannelEnteredBridge', { bridge: bridgeSnapshot(br) });
    const others = br.members.filter((m) => m !== ch);
    for (const other of others) {
      if (!ch.record.bridgedWith.includes(other.id)) ch.record.bridgedWith.push(other.id);
      if (!other.record.bridgedWith.includes(ch.id)) other.record.bridgedWith.push(ch.id);
    }
    if (br.mohClass) ch.record.moh.push(br.mohClass);
    if (others.length) {
      for (const m of [ch, ...others]) {
        const peers = br.members.filter((x) => x !== m).map((x) => x.name);
        this.writeVariable(m, 'BRIDGEPEER', peers.join(','));
      }
    }
    for (const m of br.members) this.media.update(m);
  }

  private leaveBridge(ch: Channel) {
    const br = ch.bridge;
    if (!br) return;
    br.members = br.members.filter((m) => m !== ch);
    ch.bridge = undefined;
    if (ch.vars.get('BRIDGEPEER')) this.writeVariable(ch, 'BRIDGEPEER', '');
    this.emitChannel(ch, 'ChannelLeftBridge', { bridge: bridgeSnapshot(br) });
    for (const m of [ch, ...br.members]) this.media.update(m);
  }

  // ---- internals: playbacks ---------------------------------------------------------------

  private newPlayback(media: string[], id: string | undefined, language: string, target: Playback['target']) {
    if (!media.length || media.some((m) => !m)) throw badRequest('Missing parameter media');
    const playbackId = id || randomUUID();
    if (this.playbacks.has(playbackId)) throw conflict('Playback with the same playbackId already exists');
    const pb: Playback = { id: playbackId, media, index: 0, language, state: 'queued', target };
    this.playbacks.set(pb.id, pb);
    return pb;
  }

  private startPlayback(pb: Playback) {
    pb.state = 'playing';
    const uri = pb.media[pb.index] ?? '';
    const length = this.mediaLength(uri);
    const plays = typeof length === 'number' || length === 'forever';
    for (const ch of this.listeners(pb)) (plays ? ch.record.playbacks : ch.record.playbackFailures).push(uri);
    for (const ch of this.listeners(pb)) {
      this.media.update(ch);
      // A tone (ringback) is no prompt: a caller waits for words to press keys.
      if (plays && !uri.startsWith('tone:')) this.promptStarted(ch, uri);
    }
    this.emitPlayback(pb, 'PlaybackStarted');
    // A tone plays until it is stopped or its channel hangs up.
    if (length === 'forever') return;
    const last = pb.index + 1 >= pb.media.length;
    pb.timer = this.o.clock.after(typeof length === 'number' ? length : 0, () => {
      pb.timer = undefined;
      if (length === 'unplayable') {
        // res_stasis_playback skips such a medium without a final update: the next one just starts,
        // and after the last nothing comes at all (observed on 22.10.1).
        if (last) return this.finishPlayback(pb, undefined);
        pb.index += 1;
        return this.startPlayback(pb);
      }
      if (!last) {
        // A missing sound in the middle of a list moves on like a played one.
        pb.state = 'continuing';
        this.emitPlayback(pb, 'PlaybackContinuing');
        pb.index += 1;
        this.startPlayback(pb);
      } else {
        this.finishPlayback(pb, length === 'missing' ? 'failed' : 'done');
      }
    });
  }

  /** Ends a playback; `undefined` ends it without a PlaybackFinished (an unplayable last medium). */
  private finishPlayback(pb: Playback, state: 'done' | 'failed' | undefined) {
    if (!this.playbacks.has(pb.id)) return;
    this.playbacks.delete(pb.id);
    this.o.clock.cancel(pb.timer);
    const queue = 'channel' in pb.target ? pb.target.channel.playbacks : pb.target.bridge.playbacks;
    const wasCurrent = queue[0] === pb;
    queue.splice(queue.indexOf(pb), 1);
    if (wasCurrent) {
      if (state) {
        pb.state = state;
        this.emitPlayback(pb, 'PlaybackFinished');
      }
      const next = queue[0];
      if (next) this.startPlayback(next);
    }
    if ('channel' in pb.target && !queue.length) {
      for (const wake of pb.target.channel.idleWaiters.splice(0)) wake();
    }
    for (const ch of this.listeners(pb)) this.media.update(ch);
  }

  /**
   * How long a medium plays, as res_stasis_playback treats it: `missing` for a sound that does
   * not exist (the medium fails), `unplayable` for what it skips (an unknown scheme, a number that
   * is none).
   */
  private mediaLength(uri: string): number | 'forever' | 'missing' | 'unplayable' {
    const [scheme = '', rest = ''] = uri.split(/:(.*)/s);
    switch (scheme) {
      case 'tone':
        return 'forever';
      case 'number':
        // Asterisk reads it with sscanf("%30d").
        if (!/^\s*[+-]?\d/.test(rest)) return 'unplayable';
        return Math.max(1, rest.length) * this.o.digitDurationMs;
      case 'digits':
      case 'characters':
        return Math.max(1, rest.length) * this.o.digitDurationMs;
      case 'sound':
        return this.o.sounds.has(rest) ? this.o.soundDurationMs : 'missing';
      case 'recording':
        return this.o.soundDurationMs;
      default:
        return 'unplayable';
    }
  }

  private listeners(pb: Playback): Channel[] {
    return 'channel' in pb.target ? [pb.target.channel] : pb.target.bridge.members;
  }

  // ---- internals: commands, variables, snapshots, events ----------------------------------

  private channel(id: string, message = 'Channel not found'): Channel {
    const ch = this.channels.get(id);
    if (!ch) throw notFound(message);
    return ch;
  }

  private bridge(id: string): Bridge {
    const br = this.bridges.get(id);
    if (!br) throw notFound('Bridge not found');
    return br;
  }

  /** A channel command: checks the channel, then waits behind its running playback. */
  private async controllable(id: string): Promise<Channel> {
    const ch = this.channel(id);
    if (!ch.stasisApp) throw notInStasis();
    await this.whenIdle(ch);
    if (ch.gone) throw notFound('Channel not found');
    if (!ch.stasisApp) throw notInStasis();
    return ch;
  }

  /** Until the channel's running playback and recording are over (channel commands queue behind them). */
  private async whenIdle(ch: Channel): Promise<void> {
    while ((ch.playbacks.length || ch.recording) && !ch.gone) {
      await new Promise<void>((resolve) => ch.idleWaiters.push(resolve));
    }
  }

  /** After `ms` of simulated time, unless the channel is gone by then. */
  private later(ch: Channel, ms: number, fn: () => void) {
    const timer = this.o.clock.after(ms, () => {
      ch.timers.delete(timer);
      if (!ch.gone) fn();
    });
    ch.timers.add(timer);
  }

  /** After `ms` of wall-clock time (Asterisk's own latency), unless the channel is gone by then. */
  private afterWallClock(ch: Channel, ms: number, fn: () => void) {
    const timer = this.o.clock.afterWallClock(ms, () => {
      ch.timers.delete(timer);
      if (!ch.gone) fn();
    });
    ch.timers.add(timer);
  }

  private readVariable(ch: Channel, name: string): string | undefined {
    switch (name) {
      case 'CALLERID(num)':
        return ch.caller.number;
      case 'CALLERID(name)':
        return ch.caller.name;
      case 'CONNECTEDLINE(num)':
        return ch.connected.number;
      case 'CONNECTEDLINE(name)':
        return ch.connected.name;
      case 'UNIQUEID':
        return ch.id;
      case 'CHANNEL(name)':
        return ch.name;
      case 'EXTEN':
        return ch.dialplan.exten;
      default:
        return ch.vars.get(name);
    }
  }

  private writeVariable(ch: Channel, name: string, value: string, report = true) {
    // Dialplan functions are written, not stored, and raise no ChannelVarset.
    if (name === 'CALLERID(num)') ch.caller = { ...ch.caller, number: value };
    else if (name === 'CALLERID(name)') ch.caller = { ...ch.caller, name: value };
    else if (name.includes('(')) return;
    else {
      ch.vars.set(name, value);
      if (report) this.emitChannel(ch, 'ChannelVarset', { variable: name, value });
    }
  }

  private uniqueId(): string {
    this.uniqueSeq += 1;
    return `${this.epoch}.${this.uniqueSeq}`;
  }

  private nextName(): string {
    this.nameSeq += 1;
    return this.nameSeq.toString(16).padStart(8, '0');
  }

  private snap(ch: Channel) {
    return channelSnapshot(ch, this.o.channelVars, (name) => this.readVariable(ch, name));
  }

  private endpointSnapshot(resource: string) {
    const behavior = resource === this.o.trunkName ? this.o.trunkBehavior : this.endpoints.get(resource);
    return {
      technology: 'PJSIP',
      resource,
      // A device without a reachable phone is offline, as Asterisk shows one with no contact.
      state: !behavior || behavior.unavailable ? 'offline' : 'online',
      channel_ids: [...this.channels.values()]
        .filter((ch) => ch.name.startsWith(`PJSIP/${resource}-`))
        .map((ch) => ch.id),
    };
  }

  private applicationSnapshot(name: string) {
    return {
      name,
      channel_ids: [...this.channels.values()].filter((ch) => ch.subscribedApp === name).map((ch) => ch.id),
      bridge_ids: [...this.bridges.values()].filter((br) => br.apps.has(name)).map((br) => br.id),
      endpoint_ids: [],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    };
  }

  private emitChannel(ch: Channel, type: string, fields: Record<string, unknown>) {
    if (ch.subscribedApp) this.send(ch.subscribedApp, type, { ...fields, channel: this.snap(ch) });
  }

  private emitDial(ch: Channel, dialstatus: string, dialstring: string) {
    if (ch.subscribedApp) {
      this.send(ch.subscribedApp, 'Dial', { dialstatus, forward: '', dialstring, peer: this.snap(ch) });
    }
  }

  private emitPlayback(pb: Playback, type: string) {
    const app = 'channel' in pb.target ? pb.target.channel.subscribedApp : [...pb.target.bridge.apps][0];
    if (app) this.send(app, type, { playback: playbackSnapshot(pb) });
  }

  private emitRecording(rec: LiveRecording, type: string) {
    const app = rec.channel.subscribedApp;
    if (app) this.send(app, type, { recording: recordingSnapshot(rec) });
  }

  private send(app: string, type: string, fields: Record<string, unknown>) {
    this.o.sink.send(app, {
      type,
      timestamp: ariTimestamp(),
      ...fields,
      asterisk_id: this.o.asteriskId,
      application: app,
    });
  }
}

/** stasis_app_recording_termination_parse: the keys that end a recording, undefined when invalid. */
function terminationKeys(terminateOn: string | undefined): string | undefined {
  const value = (terminateOn ?? '').toLowerCase();
  if (value === '' || value === 'none') return '';
  if (value === 'any') return '#*0123456789abcd';
  return value === '#' || value === '*' ? value : undefined;
}
