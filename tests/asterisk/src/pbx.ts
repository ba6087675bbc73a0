import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EndpointBehavior } from '@switchboard/ari-sim';
import type { callV1 } from '@switchboard/proto';
import {
  followEvents,
  readTenant,
  rotateDevicePassword,
  startStack,
  type EventLog,
  type Stack,
  type StackOptions,
} from '@switchboard/stack';
import {
  placeCall,
  placeCalls,
  startAsterisk,
  startPhone,
  type AsteriskServer,
  type PhoneBehaviour,
  type SippPhone,
} from '@switchboard/testkit';

/** What a staff phone (or the carrier's far end) does when it rings. */
export type Phone = { answerAfterMs: number; hangupAfterMs?: number } | { busy: true } | { neverAnswer: true };

/** A citizen's (or a staff device's) call as the test places it. */
export interface CallSpec {
  from: string;
  to: string;
  /** Key presses, each this long after the call was answered. */
  dtmf?: { atMs: number; digit: string }[];
  /**
   * The caller speaks from `atMs` after the answer for `durationMs` (a voicemail): RTP audio from sipp; on the
   * emulator the call's message script, with the first key press after the speech ending it.
   */
  speech?: { atMs: number; durationMs: number };
  /** The caller hangs up this long after the call was answered. */
  hangupAfterMs: number;
  /** A caller left ringing gives up (CANCEL) this long after the last ringing signal. */
  giveUpAfterMs?: number;
  /** Place it from this staff device (an internal or outbound call) instead of from the carrier. */
  device?: string;
}

export interface FaxSpec {
  from: string;
  to: string;
  /** A fax TIFF file. */
  tiff: string;
  pages: number;
}

export interface LoadResult {
  offered: number;
  /** Calls the caller side saw answered and then ended by the far side (the colleague hung up). */
  completed: number;
  failed: number;
  /** The failed calls by what the caller saw (final SIP code, or how it ended), for the report. */
  failures: Record<string, number>;
}

export interface PbxOptions {
  tenantFile?: string;
  menusFile?: string;
  /** How each staff device answers; devices not listed answer after 300 ms. */
  phones?: Record<string, Phone>;
  /** The carrier's far end: home-office and outbound numbers. */
  carrier?: Phone;
  services?: StackOptions['services'];
  serviceEnv?: StackOptions['serviceEnv'];
}

/** The whole system on one PBX: a real Asterisk with sipp phones, or the emulator. */
export interface Pbx {
  readonly kind: 'asterisk' | 'emulator';
  readonly stack: Stack;
  readonly events: EventLog;
  /** Resolves when the caller's side of the call is over. */
  call(spec: CallSpec): Promise<void>;
  /** A fax machine on the carrier's side sends `tiff` (its page count given) to `to`. */
  fax(spec: FaxSpec): Promise<void>;
  /** `count` calls at `ratePerSecond`, each as `spec` (with its own caller number). */
  load(spec: Omit<CallSpec, 'from'>, count: number, ratePerSecond: number): Promise<LoadResult>;
  /**
   * The music-on-hold classes the caller of a call heard, in order: Asterisk's "Started music on
   * hold" log lines for the caller's channel, or the emulator's record of it.
   */
  mohHeard(started: callV1.CallStarted): Promise<string[]>;
  /** Sounds that could not be played to any caller so far (Asterisk's warnings, the emulator's records). */
  failedSounds(): Promise<string[]>;
  /** INVITEs each phone behaviour's devices received (Asterisk) or legs dialled to them (emulator). */
  invitesTo(device: string): number;
  /** What the device's phone saw so far: calls answered and cancelled (Asterisk's CANCEL, the emulator's hang-up of a ringing leg). */
  phoneCounts(device: string): { answered: number; cancelled: number };
  /** The names of the recordings the PBX still keeps (`GET /recordings/stored`). */
  storedRecordings(): Promise<string[]>;
  stop(): Promise<void>;
}

const DEFAULT_PHONE: Phone = { answerAfterMs: 300 };

export async function startPbx(kind: Pbx['kind'], options: PbxOptions): Promise<Pbx> {
  return kind === 'asterisk' ? startOnAsterisk(options) : startOnEmulator(options);
}

async function devicesOf(options: PbxOptions): Promise<string[]> {
  const tenant = await readTenant(options.tenantFile ?? (await defaultTenantFile()), true);
  return tenant.document.staff.flatMap((person) => person.devices);
}

async function defaultTenantFile(): Promise<string> {
  return (await import('@switchboard/stack')).DEFAULT_TENANT_FILE;
}

function stackOptions(options: PbxOptions): StackOptions {
  return {
    alwaysOpen: true,
    handleSignals: false,
    ...(options.tenantFile ? { tenantFile: options.tenantFile } : {}),
    ...(options.menusFile ? { menusFile: options.menusFile } : {}),
    ...(options.services ? { services: options.services } : {}),
    ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
  };
}

const key = (phone: Phone) => JSON.stringify(phone);

function behaviourOf(phone: Phone): PhoneBehaviour {
  if ('busy' in phone) return { behaviour: 'busy' };
  if ('neverAnswer' in phone) return { behaviour: 'never-answer' };
  return { behaviour: 'answer', answerAfterMs: phone.answerAfterMs, hangupAfterMs: phone.hangupAfterMs };
}

async function startOnAsterisk(options: PbxOptions): Promise<Pbx> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    // One sipp phone per behaviour; every device with that behaviour points at it.
    const phones = new Map<string, SippPhone>();
    const phoneFor = async (phone: Phone) => {
      let running = phones.get(key(phone));
      if (!running) {
        running = await startPhone(behaviourOf(phone));
        phones.set(key(phone), running);
        stops.push(() => running!.stop());
      }
      return running;
    };
    const deviceNames = await devicesOf(options);
    const deviceContacts = new Map<string, SippPhone>();
    for (const name of deviceNames) deviceContacts.set(name, await phoneFor(options.phones?.[name] ?? DEFAULT_PHONE));
    const carrier = await phoneFor(options.carrier ?? DEFAULT_PHONE);
    const asterisk: AsteriskServer = await startAsterisk({
      devices: deviceNames.map((name) => ({ name, contact: deviceContacts.get(name)!.contactFor(name) })),
      trunkContact: carrier.contact,
    });
    stops.push(() => asterisk.stop());
    const stack = await startStack({ ...stackOptions(options), asterisk });
    stops.push(() => stack.stop());
    const events = await followEvents(stack);
    stops.push(() => events.close());
    // As an administrator sets up a phone: a new password from the directory, shown once.
    const passwords = new Map<string, Promise<{ username: string; password: string }>>();
    const passwordOf = (device: string) => {
      let password = passwords.get(device);
      if (!password) {
        password = stack
          .token()
          .then((token) =>
            rotateDevicePassword(Number(stack.grpcAddress('directory').split(':')[1]), token, stack.tenantId, device),
          )
          .then(async (rotated) => {
            await pushedPassword(asterisk, rotated);
            return rotated;
          });
        passwords.set(device, password);
      }
      return password;
    };

    return {
      kind: 'asterisk',
      stack,
      events,
      call: async (spec) => {
        const auth = spec.device ? await passwordOf(spec.device) : undefined;
        const call = await placeCall({
          asterisk: asterisk.sipAddress,
          from: spec.device ?? spec.from,
          to: spec.to,
          dtmf: spec.dtmf ?? [],
          ...(spec.speech ? { speech: spec.speech } : {}),
          hangupAfterMs: spec.hangupAfterMs,
          ...(spec.giveUpAfterMs ? { cancelAfterMs: spec.giveUpAfterMs } : {}),
          // Staff devices call from 127.0.0.2: Asterisk identifies them by user, not as the carrier,
          // and challenges them for the password the directory gave out.
          ...(spec.device ? { localAddress: '127.0.0.2' } : {}),
          ...(auth ? { auth } : {}),
        });
        await call.result;
      },
      fax: async (spec) => {
        const sent = await asterisk.sendFax({ from: spec.from, to: spec.to, tiff: spec.tiff });
        if (sent.status !== 'SUCCESS' || sent.pages !== spec.pages) {
          throw new Error(`SendFAX reported ${sent.status}, ${sent.pages} pages (${sent.error})`);
        }
      },
      load: async (spec, count, ratePerSecond) => {
        const load = await placeCalls({
          asterisk: asterisk.sipAddress,
          to: spec.to,
          dtmf: spec.dtmf ?? [],
          hangupAfterMs: spec.hangupAfterMs,
          ...(spec.giveUpAfterMs ? { cancelAfterMs: spec.giveUpAfterMs } : {}),
          count,
          ratePerSecond,
        });
        const result = await load.result;
        const failures: Record<string, number> = {};
        let completed = 0;
        for (const call of result.calls) {
          if (call.answered && call.hungUpBy === 'callee') completed++;
          else {
            const seen = call.answered
              ? `answered, ended by ${call.hungUpBy ?? 'nobody'}`
              : `final ${call.finalCode ?? 'none'}`;
            failures[seen] = (failures[seen] ?? 0) + 1;
          }
        }
        const unplaced = count - result.calls.length;
        if (unplaced > 0) failures['never placed by sipp'] = unplaced;
        return { offered: count, completed, failed: count - completed, failures };
      },
      mohHeard: async (started) => {
        // The caller leg's endpoint is its channel name, e.g. PJSIP/trunk-0000002a.
        const log = await readFile(path.join(asterisk.baseDir, 'log', 'full'), 'utf8');
        const line = /Started music on hold, class '([^']+)', on channel '([^']+)'/g;
        return [...log.matchAll(line)]
          .filter((match) => match[2] === started.callerLeg?.endpoint)
          .map((match) => match[1]!);
      },
      failedSounds: async () => {
        const log = await readFile(path.join(asterisk.baseDir, 'log', 'full'), 'utf8');
        return [...log.matchAll(/Playback failed for (\S+)/g)].map((match) => match[1]!);
      },
      invitesTo: (device) => deviceContacts.get(device)?.counts(device).invites ?? 0,
      phoneCounts: (device) => {
        const counts = deviceContacts.get(device)?.counts(device);
        return { answered: counts?.answered ?? 0, cancelled: counts?.cancelled ?? 0 };
      },
      storedRecordings: async () => {
        const { body } = await asterisk.ari('GET', '/recordings/stored');
        return (body as Array<{ name: string }>).map((recording) => recording.name);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Waits until the adapter has pushed a rotated password into Asterisk (the directory's change
 * event reaches it a moment after the rotation answers): the auth's digest is that password's.
 */
async function pushedPassword(asterisk: AsteriskServer, rotated: { username: string; password: string }) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { status, body } = await asterisk.ari('GET', `/asterisk/config/dynamic/res_pjsip/auth/${rotated.username}`);
    const fields = new Map(
      status === 200
        ? (body as { attribute: string; value: string }[]).map((field) => [field.attribute, field.value])
        : [],
    );
    const ha1 = createHash('md5')
      .update(`${rotated.username}:${fields.get('realm') || 'asterisk'}:${rotated.password}`)
      .digest('hex');
    if (fields.get('password_digest')?.toLowerCase() === `md5:${ha1}`) return;
    if (Date.now() > deadline) throw new Error(`the adapter did not push ${rotated.username}'s new password in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function simBehaviour(phone: Phone): EndpointBehavior {
  if ('busy' in phone) return { busy: true };
  if ('neverAnswer' in phone) return { noAnswer: true };
  return { answerAfterMs: phone.answerAfterMs, ...(phone.hangupAfterMs ? { hangupAfterMs: phone.hangupAfterMs } : {}) };
}

async function startOnEmulator(options: PbxOptions): Promise<Pbx> {
  const stack = await startStack({ ...stackOptions(options), phoneBehavior: simBehaviour(DEFAULT_PHONE) });
  let events: EventLog | undefined;
  try {
    events = await followEvents(stack);
    const sim = stack.ariSim;
    for (const [device, phone] of Object.entries(options.phones ?? {}))
      sim.setEndpoint(`PJSIP/${device}`, simBehaviour(phone));
    const tenant = await readTenant(options.tenantFile ?? (await defaultTenantFile()), true);
    for (const person of tenant.document.staff) {
      if (person.homeOfficeNumber) {
        sim.setEndpoint(`PJSIP/${person.homeOfficeNumber}@trunk`, simBehaviour(options.carrier ?? DEFAULT_PHONE));
      }
    }
    const log = events;
    const placeOne = async (spec: CallSpec) => {
      // The emulator's script times count from the call's start; it answers at once. Keys after the
      // speech belong to the message: the first one is how the caller ends it.
      const speech = spec.speech;
      const spoken = speech ? speech.atMs + speech.durationMs : Infinity;
      const ending = (spec.dtmf ?? []).find((press) => press.atMs >= spoken);
      const script = [
        ...(spec.dtmf ?? [])
          .filter((press) => press.atMs < spoken)
          .map((press) => ({ atMs: press.atMs, dtmf: press.digit })),
        { atMs: spec.hangupAfterMs, hangup: true as const },
      ];
      const channelId = sim.placeCall({
        from: spec.from,
        to: spec.to,
        script,
        ...(speech
          ? {
              message: {
                pauseMs: speech.atMs,
                speechMs: speech.durationMs,
                ...(ending ? { then: { dtmf: ending.digit, afterMs: ending.atMs - spoken } } : {}),
              },
            }
          : {}),
        ...(spec.device ? { args: ['outbound', spec.to], endpoint: spec.device } : {}),
      });
      return log.waitUntil(`call.ended of ${channelId}`, () => log.ended(channelId)[0], spec.hangupAfterMs + 60_000);
    };
    return {
      kind: 'emulator',
      stack,
      events,
      call: async (spec) => {
        await placeOne(spec);
      },
      fax: async (spec) => {
        const channelId = sim.placeCall({
          from: spec.from,
          to: spec.to,
          fax: { tiff: spec.tiff, pages: spec.pages, durationMs: 2_000 },
        });
        await log.waitUntil(`call.ended of fax ${channelId}`, () => log.ended(channelId)[0], 60_000);
      },
      load: async (spec, count, ratePerSecond) => {
        const calls: Promise<unknown>[] = [];
        for (let index = 0; index < count; index++) {
          calls.push(
            // As sipp counts it: answered, then ended by the far side.
            placeOne({ ...spec, from: `+4915${String(10_000_000 + index)}` }).then(
              (ended) => ended.endedBy === 'callee',
            ),
          );
          await new Promise((resolve) => setTimeout(resolve, 1_000 / ratePerSecond));
        }
        const answered = await Promise.all(calls);
        const completed = answered.filter(Boolean).length;
        const failures: Record<string, number> =
          completed < count ? { 'not ended by the colleague': count - completed } : {};
        return { offered: count, completed, failed: count - completed, failures };
      },
      mohHeard: async (started) =>
        sim.listCalls().find((record) => record.channelId === started.callerLeg?.channelId)?.moh ?? [],
      failedSounds: async () => sim.listCalls().flatMap((record) => record.playbackFailures),
      invitesTo: (device) => sim.listCalls().filter((record) => record.to === `PJSIP/${device}`).length,
      phoneCounts: (device) => {
        const legs = sim.listCalls().filter((record) => record.to === `PJSIP/${device}` && record.endedAt);
        return {
          answered: legs.filter((record) => record.answered).length,
          cancelled: legs.filter((record) => !record.answered && record.dialStatus !== 'BUSY').length,
        };
      },
      storedRecordings: async () => sim.storedRecordings().map((recording) => recording.name),
      stop: async () => {
        await log.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await events?.close();
    await stack.stop();
    throw error;
  }
}
