import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { diagnose, parseShortMessages, type SipMessage } from './sipp-log.js';
import { runSipp, type SippExit, type SippProcess } from './sipp-process.js';
import {
  ALLOW,
  type Action,
  label,
  OWN_TAG,
  recv,
  reply,
  scenarioXml,
  SDP,
  send,
  sipMessage,
  type Step,
} from './sipp-xml.js';

/** How the phone treats every INVITE it gets. */
export type PhoneBehaviour =
  /**
   * Rings (180), answers after `answerAfterMs` unless cancelled, then waits for the BYE, or sends one
   * `hangupAfterMs` after the answer.
   */
  | { behaviour: 'answer'; answerAfterMs: number; hangupAfterMs?: number }
  /** 486 Busy Here at once. */
  | { behaviour: 'busy' }
  /** Rings (180) until the caller cancels: 200 to the CANCEL, 487 to the INVITE. */
  | { behaviour: 'never-answer' };

/** Calls (distinct Call-IDs) the phone has seen so far. */
export interface PhoneCounts {
  invites: number;
  answered: number;
  busy: number;
  cancelled: number;
  /** Answered calls hung up by either side (the BYE got its 200). */
  ended: number;
}

export interface SippPhone {
  readonly port: number;
  /** The static contact to give Asterisk, `sip:127.0.0.1:PORT`. */
  readonly contact: string;
  /**
   * A contact for one of many devices served by this phone, `sip:USER@127.0.0.1:PORT`: Asterisk puts the user in
   * the request URI, which `counts(user)` goes by.
   */
  contactFor(user: string): string;
  /** So far, for all calls or those to `contactFor(user)`. */
  counts(user?: string): PhoneCounts;
  /** Resolves once `done(counts)` holds; rejects after `timeoutMs` (default 10 s) with the last counts. */
  waitForCounts(
    done: (counts: PhoneCounts) => boolean,
    options?: { user?: string; timeoutMs?: number },
  ): Promise<PhoneCounts>;
  /** Stops sipp; the counts stay readable. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
/** sipp's exit code when it cannot bind its port (`-2`). */
const BIND_FAILED = 254;
/** sipp has no way to tell about new messages but its log, so waiting means reading it again. */
const POLL_MS = 50;

/**
 * A staff device: a sipp UAS on a free 127.0.0.1 UDP port that treats every INVITE the same way, any number at
 * once. It also answers OPTIONS (Asterisk's qualify), which is how `startPhone` knows it is listening.
 */
export async function startPhone(behaviour: PhoneBehaviour): Promise<SippPhone> {
  checkBehaviour(behaviour);
  const dir = await mkdtemp(path.join(tmpdir(), 'sb-sipp-phone-'));
  await writeFile(path.join(dir, 'phone.xml'), phoneScenario(behaviour));
  const log = path.join(dir, 'messages.log');
  for (let attempt = 1; ; attempt++) {
    // The port is free when we look; another process may take it before sipp binds it, hence the attempts.
    const port = await freeUdpPort();
    const sipp = runSipp(
      [
        ...['-sf', 'phone.xml', '-p', String(port)],
        ...['-trace_shortmsg', '-shortmessage_file', log, '-trace_err', '-error_file', 'errors.log'],
      ],
      dir,
    );
    const exit = await answersOptions(port, sipp).catch(async (error: unknown) => {
      await sipp.stop();
      throw error;
    });
    if (exit === undefined) return phone(port, sipp, dir, log);
    if (exit.code === BIND_FAILED && attempt < START_ATTEMPTS) continue;
    const errors = await readFile(path.join(dir, 'errors.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the sipp phone did not start:\n${diagnose(exit, errors)}`);
  }
}

function phone(port: number, sipp: SippProcess, dir: string, log: string): SippPhone {
  let stopped: string | undefined;
  // sipp writes (and flushes) a line per message as it goes: the log is always current.
  const read = () => stopped ?? readLog(log);
  const counts = (user?: string) => phoneCounts(parseShortMessages(read()), user);
  return {
    port,
    contact: `sip:127.0.0.1:${port}`,
    contactFor: (user) => `sip:${user}@127.0.0.1:${port}`,
    counts,
    async waitForCounts(done, { user, timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = counts(user);
        if (done(current)) return current;
        if (Date.now() > deadline) {
          throw new Error(`phone counts still ${JSON.stringify(current)} after ${timeoutMs} ms`);
        }
        await delay(POLL_MS);
      }
    },
    async stop() {
      await sipp.stop();
      stopped ??= readLog(log);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Calls are told apart by Call-ID; with a `user`, only those whose INVITE was for `sip:user@…`. */
function phoneCounts(messages: SipMessage[], user: string | undefined): PhoneCounts {
  const isInvite = (m: SipMessage) => !m.sent && m.method === 'INVITE' && m.status === undefined;
  const scope =
    user === undefined
      ? undefined
      : new Set(messages.filter((m) => isInvite(m) && m.requestUser === user).map((m) => m.callId));
  const calls = (match: (message: SipMessage) => boolean) =>
    new Set(messages.filter((m) => (scope === undefined || scope.has(m.callId)) && match(m)).map((m) => m.callId)).size;
  return {
    invites: calls(isInvite),
    answered: calls((m) => m.sent && m.method === 'INVITE' && m.status === 200),
    busy: calls((m) => m.sent && m.method === 'INVITE' && m.status === 486),
    cancelled: calls((m) => !m.sent && m.method === 'CANCEL' && m.status === undefined),
    ended: calls((m) => m.method === 'BYE' && m.status === 200),
  };
}

function checkBehaviour(behaviour: PhoneBehaviour): void {
  if (behaviour.behaviour !== 'answer') return;
  for (const [name, value] of [
    ['answerAfterMs', behaviour.answerAfterMs],
    ['hangupAfterMs', behaviour.hangupAfterMs ?? 0],
  ] as const) {
    if (!(value >= 0)) throw new Error(`${name} must not be negative, got ${value}`);
  }
}

function phoneScenario(behaviour: PhoneBehaviour): string {
  const contact = 'Contact: <sip:[local_ip]:[local_port];transport=[transport]>';
  const ringing = send(reply('180 Ringing', { toTag: true, headers: [contact, ALLOW] }));
  const cancelled = [
    label('cancelled'),
    send(reply('200 OK', { toTag: true })),
    send(reply('487 Request Terminated', { toTag: true, cseq: 'CSeq: [$invite_cseq] INVITE' })),
    recv({ request: 'ACK', next: 'end' }),
  ];
  const steps: Step[] = [
    recv({ request: 'OPTIONS', optional: true, next: 'options' }),
    recv({ request: 'INVITE', rrs: true }, kept(behaviour)),
  ];
  switch (behaviour.behaviour) {
    case 'busy':
      steps.push(send(reply('486 Busy Here', { toTag: true })), recv({ request: 'ACK', next: 'end' }));
      break;
    case 'never-answer':
      steps.push(ringing, recv({ request: 'CANCEL' }), ...cancelled);
      break;
    case 'answer':
      steps.push(...answering(behaviour, { ringing, contact, cancelled }));
      break;
  }
  steps.push(label('options'), send(reply('200 OK', { toTag: true, headers: [ALLOW] })), label('end'));
  return scenarioXml('phone', steps);
}

/**
 * What the scenario keeps from the INVITE: its CSeq for a 487 sent after the CANCEL, its From and To for our own
 * BYE. Only what the scenario uses: sipp refuses a variable that is set but never read.
 */
function kept(behaviour: PhoneBehaviour): Action[] {
  const ereg = (header: string, regexp: string, variable: string): Action => ({
    tag: 'ereg',
    attributes: { regexp, search_in: 'hdr', header, assign_to: variable },
  });
  const actions: Action[] = [];
  const answers = behaviour.behaviour === 'answer';
  if (behaviour.behaviour === 'never-answer' || (answers && behaviour.answerAfterMs > 0)) {
    actions.push(ereg('CSeq:', '[0-9]+', 'invite_cseq'));
  }
  if (answers && behaviour.hangupAfterMs !== undefined) {
    actions.push(ereg('From:', '.*', 'caller'), ereg('To:', '.*', 'callee'));
  }
  return actions;
}

function answering(
  behaviour: { answerAfterMs: number; hangupAfterMs?: number },
  parts: { ringing: Step; contact: string; cancelled: Step[] },
): Step[] {
  const steps: Step[] = [parts.ringing];
  // Timed waits are receives of what may end them (sipp reads a timeout of 0 as none, so no wait at all then).
  if (behaviour.answerAfterMs > 0) {
    steps.push(recv({ request: 'CANCEL', timeout: behaviour.answerAfterMs, ontimeout: 'answer', next: 'cancelled' }));
  }
  steps.push(
    label('answer'),
    send(reply('200 OK', { toTag: true, headers: [parts.contact, ALLOW], sdp: SDP }), { retrans: 500 }),
    label('wait-ack'),
    // A CANCEL that crossed our 200 OK: answer it, the INVITE stays answered and the ACK still comes.
    recv({ request: 'CANCEL', optional: true, next: 'late-cancel' }),
    recv({ request: 'ACK' }),
  );
  if (behaviour.hangupAfterMs === undefined) {
    steps.push(recv({ request: 'BYE', next: 'bye-received' }));
  } else {
    if (behaviour.hangupAfterMs > 0) {
      steps.push(
        recv({ request: 'BYE', timeout: behaviour.hangupAfterMs, ontimeout: 'hang-up', next: 'bye-received' }),
      );
    }
    steps.push(
      label('hang-up'),
      send(
        sipMessage([
          'BYE [next_url] SIP/2.0',
          'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
          `From:[$callee]${OWN_TAG}`,
          'To:[$caller]',
          'Call-ID: [call_id]',
          'CSeq: 1 BYE',
          'Max-Forwards: 70',
          '[routes]',
        ]),
        { retrans: 500 },
      ),
      recv({ response: 200, next: 'end' }),
    );
  }
  steps.push(
    label('bye-received'),
    send(reply('200 OK'), { next: 'end' }),
    label('late-cancel'),
    send(reply('200 OK', { toTag: true }), { next: 'wait-ack' }),
  );
  if (behaviour.answerAfterMs > 0) steps.push(...parts.cancelled);
  return steps;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const PROBE_EVERY_MS = 100;

/** Sends OPTIONS until the phone answers (undefined) or sipp exits (its exit). */
async function answersOptions(port: number, sipp: SippProcess): Promise<SippExit | undefined> {
  const socket = createSocket('udp4');
  const callId = `probe-${randomBytes(6).toString('hex')}@127.0.0.1`;
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<undefined>((resolve, reject) => {
    socket.on('message', (data) => {
      if (data.toString('latin1').includes(callId)) resolve(undefined);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const local = `127.0.0.1:${socket.address().port}`;
      const options = sipMessage([
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${local};branch=z9hG4bK-${callId.slice(6, 18)}`,
        `From: <sip:probe@${local}>;tag=probe`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'Max-Forwards: 70',
      ]).replace(/\n/g, '\r\n');
      // Until sipp has bound its port the datagrams go nowhere: UDP, so send again.
      const probe = () => socket.send(options, port, '127.0.0.1');
      probe();
      timer = setInterval(probe, PROBE_EVERY_MS);
    });
  });
  try {
    return await Promise.race([answered, sipp.exited]);
  } finally {
    clearInterval(timer);
    socket.close();
  }
}
