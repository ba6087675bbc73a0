import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DTMF_PRESS_MS,
  pcapFile,
  telephoneEventPackets,
  telephoneEvents,
  type KeyPress,
  type TelephoneEvent,
} from './rtp-dtmf.js';
import { speechPackets } from './rtp-audio.js';
import { diagnose, finalStatistics, parseShortMessages, type SipMessage } from './sipp-log.js';
import { runSipp, type SippExit } from './sipp-process.js';
import { ALLOW, label, nop, recv, reply, scenarioXml, SDP, send, sipMessage, type Step } from './sipp-xml.js';

/** What a caller does; in a load run every call does the same. */
interface Script {
  /** Asterisk's PJSIP UDP address, e.g. `127.0.0.1:5062`. */
  asterisk: string;
  /** The dialled number (user part of the request URI and To). */
  to: string;
  /** RFC 4733 key presses, times from the answer, at least `DTMF_PRESS_MS` apart. */
  dtmf?: KeyPress[];
  /**
   * The caller speaks (a tone as A-law RTP) from `atMs` after the answer for `durationMs`, e.g. a voicemail.
   * sipp plays one capture at a time, so no key press may fall within it.
   */
  speech?: { atMs: number; durationMs: number };
  /** Hang up this long after the answer; without it the caller waits for the other side's BYE. */
  hangupAfterMs?: number;
  /**
   * Give up before an answer with CANCEL. sipp restarts its wait at each provisional response, so this counts
   * from the INVITE or from the last 1xx, whichever came later.
   */
  cancelAfterMs?: number;
  /**
   * The loopback address to call from (SIP and RTP), default `127.0.0.1`. Another one, e.g. `127.0.0.2`, when
   * Asterisk tells callers apart by address (the carrier trunk is identified by 127.0.0.1).
   */
  localAddress?: string;
  /** A device's SIP credentials: the INVITE Asterisk challenges (401) is sent again with digest auth. */
  auth?: { username: string; password: string };
}

export interface CallScript extends Script {
  /** The caller's number (user part of From and Contact). */
  from: string;
}

export interface CallOutcome {
  callId: string;
  /** The final response to the INVITE; undefined if none came. */
  finalCode: number | undefined;
  answered: boolean;
  /** The caller sent CANCEL (`cancelAfterMs`). */
  cancelled: boolean;
  /** Epoch milliseconds, from sipp's message log. */
  invitedAt: number;
  answeredAt: number | undefined;
  /** The BYE of an answered call, the final response of another one. */
  endedAt: number | undefined;
  hungUpBy: 'caller' | 'callee' | undefined;
}

interface SippRun {
  /**
   * sipp's exit code: 0 every call ran through the script (or sipp was stopped), 1 some failed, 254/255 sipp
   * could not run.
   */
  exitCode: number | null;
  /** sipp's stderr and unexpected events, for assertion messages. */
  diagnostics: string;
}

export interface CallResult extends CallOutcome, SippRun {}

export interface SippCall {
  /** Known before the call starts, e.g. to find the call in Asterisk (PJSIP's `CHANNEL(pjsip,call-id)`). */
  readonly callId: string;
  /** Settles when sipp has exited; rejects if sipp placed no call at all. */
  readonly result: Promise<CallResult>;
  /** Ends sipp at once, without a CANCEL or BYE for the call, and waits until it is gone. */
  stop(): Promise<void>;
}

export interface LoadScript extends Script {
  /** Each call has its own caller number: this prefix followed by the call's number (1, 2, …). */
  fromPrefix?: string;
  count: number;
  ratePerSecond: number;
  /** sipp's `-l`: calls in progress at most; by default `count`. */
  maxConcurrent?: number;
}

export interface LoadResult extends SippRun {
  /**
   * From sipp's statistics: calls that ran through the script, and those sipp failed (timeouts, unexpected
   * messages, retransmissions exhausted). A call rejected with 4xx-6xx and ACKed counts as successful.
   */
  successful: number;
  failed: number;
  /** Every call sipp placed, from its message log, in the order they started. */
  calls: CallOutcome[];
}

export interface SippLoad {
  readonly result: Promise<LoadResult>;
  stop(): Promise<void>;
}

/** One call through Asterisk from a sipp UAC on loopback. */
export async function placeCall(script: CallScript): Promise<SippCall> {
  // sipp places its first call one rate period after it starts: 1 ms, not the second of the default rate.
  const run = await startCaller(script, script.from, { count: 1, ratePerSecond: 1000, maxConcurrent: 1 });
  const callId = run.callId(1);
  const result = run.finished.then(({ outcomes, exit, diagnostics }): CallResult => {
    const outcome = outcomes.find((candidate) => candidate.callId === callId);
    if (!outcome) throw new Error(`sipp placed no call (exit ${exit.code ?? exit.signal}):\n${diagnostics}`);
    return { ...outcome, exitCode: exit.code, diagnostics };
  });
  result.catch(() => undefined); // a caller that only stops the call must not see an unhandled rejection
  return { callId, result, stop: run.stop };
}

const DEFAULT_FROM_PREFIX = '+4915100000';

/** Many calls with the same script from one sipp process (`-m count -r ratePerSecond -l maxConcurrent`). */
export async function placeCalls(script: LoadScript): Promise<SippLoad> {
  if (!Number.isInteger(script.count) || script.count < 1) throw new Error('count must be a positive integer');
  if (!(script.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
  const run = await startCaller(script, `${script.fromPrefix ?? DEFAULT_FROM_PREFIX}[call_number]`, {
    count: script.count,
    ratePerSecond: script.ratePerSecond,
    maxConcurrent: script.maxConcurrent ?? script.count,
  });
  const result = run.finished.then(({ outcomes, exit, diagnostics, statistics }): LoadResult => ({
    exitCode: exit.code,
    diagnostics,
    successful: Number(statistics.get('SuccessfulCall(C)') ?? 0),
    failed: Number(statistics.get('FailedCall(C)') ?? 0),
    calls: outcomes,
  }));
  result.catch(() => undefined);
  return { result, stop: run.stop };
}

interface Finished {
  exit: SippExit;
  outcomes: CallOutcome[];
  statistics: Map<string, string>;
  diagnostics: string;
}

/** `from`: the caller's user part, which may contain sipp's `[call_number]`. */
async function startCaller(
  script: Script,
  from: string,
  load: { count: number; ratePerSecond: number; maxConcurrent: number },
): Promise<{ callId(callNumber: number): string; finished: Promise<Finished>; stop(): Promise<void> }> {
  checkScript(script, from);
  const address = script.localAddress ?? '127.0.0.1';
  const dir = await mkdtemp(path.join(tmpdir(), 'sb-sipp-caller-'));
  const keys = script.dtmf ?? [];
  const presses = telephoneEvents(keys);
  const pcaps = await Promise.all(
    keys.map(async (key, index) => {
      const file = path.join(dir, `press-${index + 1}.pcap`);
      await writeFile(file, pcapFile(telephoneEventPackets(presses[index] as TelephoneEvent)));
      return { atMs: key.atMs, file };
    }),
  );
  if (script.speech) {
    const file = path.join(dir, 'speech.pcap');
    await writeFile(file, pcapFile(speechPackets(script.speech.durationMs)));
    pcaps.push({ atMs: script.speech.atMs, file });
    pcaps.sort((a, b) => a.atMs - b.atMs);
  }
  await writeFile(path.join(dir, 'caller.xml'), callerScenario(script, from, pcaps));
  // A Call-ID of our own making, so that a test knows it before the call exists.
  const token = randomBytes(6).toString('hex');
  const sipp = runSipp(
    [
      script.asterisk,
      ...['-sf', 'caller.xml', '-m', String(load.count), '-r', String(load.ratePerSecond)],
      ...['-l', String(load.maxConcurrent), '-cid_str', `%u-${token}@${address}`],
      ...['-trace_shortmsg', '-shortmessage_file', 'messages.log', '-trace_stat', '-stf', 'statistics.csv'],
      ...['-trace_err', '-error_file', 'errors.log'],
    ],
    dir,
    address,
  );
  const finished = sipp.exited.then(async (exit): Promise<Finished> => {
    const [messages, statistics, errors] = await Promise.all(
      ['messages.log', 'statistics.csv', 'errors.log'].map((file) =>
        readFile(path.join(dir, file), 'utf8').catch(() => ''),
      ),
    );
    await rm(dir, { recursive: true, force: true });
    return {
      exit,
      outcomes: callOutcomes(parseShortMessages(messages)),
      statistics: finalStatistics(statistics),
      diagnostics: diagnose(exit, errors),
    };
  });
  return {
    callId: (callNumber) => `${callNumber}-${token}@${address}`,
    finished,
    stop: async () => {
      await sipp.stop();
      await finished;
    },
  };
}

const USER = /^[\w+*.~-]+$/;

function checkScript(script: Script, from: string): void {
  for (const [name, user] of [
    ['to', script.to],
    ['from', from.replace(/\[call_number\]$/, '1')],
  ] as const) {
    if (!USER.test(user)) throw new Error(`${name} must be a plain SIP user part, got ${JSON.stringify(user)}`);
  }
  // sipp's [authentication …] keyword ends at a space or a bracket.
  if (script.auth && !(USER.test(script.auth.username) && /^[\w.~+/=-]+$/.test(script.auth.password))) {
    throw new Error('auth username and password must be plain tokens (letters, digits, . ~ + / = - _)');
  }
  if (script.localAddress !== undefined && !/^127(\.\d{1,3}){3}$/.test(script.localAddress)) {
    throw new Error(`localAddress must be a loopback address, got ${script.localAddress}`);
  }
  let earliest = 0;
  for (const key of script.dtmf ?? []) {
    if (key.atMs < earliest) {
      throw new Error(
        `DTMF presses must be in order and at least ${DTMF_PRESS_MS} ms apart (${key.digit} at ${key.atMs} ms)`,
      );
    }
    earliest = key.atMs + DTMF_PRESS_MS;
  }
  const speech = script.speech;
  if (speech) {
    if (!(speech.atMs >= 0 && speech.durationMs > 0)) throw new Error('speech needs atMs >= 0 and durationMs > 0');
    const clash = (script.dtmf ?? []).find(
      (key) => key.atMs + DTMF_PRESS_MS > speech.atMs && key.atMs < speech.atMs + speech.durationMs,
    );
    if (clash)
      throw new Error(
        `the key ${clash.digit} at ${clash.atMs} ms falls within the speech: sipp plays one capture at a time`,
      );
    earliest = Math.max(earliest, speech.atMs + speech.durationMs);
  }
  if (script.hangupAfterMs !== undefined && !(script.hangupAfterMs >= earliest)) {
    throw new Error(`hangupAfterMs must be at least ${earliest} ms (the last DTMF press or speech must finish first)`);
  }
  // sipp reads a timeout of 0 as "no timeout".
  if (script.cancelAfterMs !== undefined && !(script.cancelAfterMs >= 1)) {
    throw new Error('cancelAfterMs must be at least 1');
  }
}

const PROVISIONAL = [100, 180, 181, 182, 183];
/** sipp matches responses by exact code: each final failure it may meet needs a `recv` of its own. */
const FAILURES = [
  400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481, 482, 483, 484, 485,
  486, 487, 488, 491, 493, 500, 501, 502, 503, 504, 505, 513, 580, 600, 603, 604, 606,
];

function callerScenario(script: Script, caller: string, presses: { atMs: number; file: string }[]): string {
  const requestUri = `sip:${script.to}@[remote_ip]:[remote_port]`;
  const from = `From: <sip:${caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`;
  const to = `To: <sip:${script.to}@[remote_ip]:[remote_port]>`;
  const via = (branch: string) => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}`;
  const invite = (cseq: number, extra: string[] = []) =>
    sipMessage(
      [
        `INVITE ${requestUri} SIP/2.0`,
        via('[branch]'),
        from,
        to,
        'Call-ID: [call_id]',
        `CSeq: ${cseq} INVITE`,
        `Contact: <sip:${caller}@[local_ip]:[local_port]>`,
        'Max-Forwards: 70',
        ALLOW,
        ...extra,
      ],
      SDP,
    );
  // An ACK to a final failure, a CANCEL and the INVITE carry the same branch: sipp's [branch-N] is
  // the branch of the message N before, so each is written relative to the INVITE's index.
  const sameTransaction = (method: string, inviteIndex: number, cseq: number, toLine: string) => (index: number) =>
    sipMessage([
      `${method} ${requestUri} SIP/2.0`,
      via(`[branch-${index - inviteIndex}]`),
      from,
      toLine,
      'Call-ID: [call_id]',
      `CSeq: ${cseq} ${method}`,
      'Max-Forwards: 70',
    ]);

  const steps: Step[] = [];
  let inviteIndex = 0;
  let cseq = 1;
  if (script.auth) {
    // Asterisk challenges a device's INVITE; sipp answers the challenge from the 401 it received.
    steps.push(
      send(invite(cseq), { retrans: 500 }),
      recv({ response: 100, optional: true }),
      recv({ response: 401, auth: true }),
      send(sameTransaction('ACK', inviteIndex, cseq, '[last_To:]')),
    );
    inviteIndex = 4;
    cseq = 2;
    const { username, password } = script.auth;
    steps.push(send(invite(cseq, [`[authentication username=${username} password=${password}]`]), { retrans: 500 }));
  } else {
    steps.push(send(invite(cseq), { retrans: 500 }));
  }
  const ackToFailure = sameTransaction('ACK', inviteIndex, cseq, '[last_To:]');
  const waitForAnswer =
    script.cancelAfterMs === undefined ? {} : { timeout: script.cancelAfterMs, ontimeout: 'cancel' };

  steps.push(
    // The wait for the answer sits at the first of these optional receives, so each one carries the timeout.
    ...PROVISIONAL.map((code) => recv({ response: code, optional: true, ...waitForAnswer })),
    ...FAILURES.map((code) => recv({ response: code, optional: true, next: 'rejected', ...waitForAnswer })),
    recv({ response: 200, rrs: true, ...waitForAnswer }),
    send(
      sipMessage([
        'ACK [next_url] SIP/2.0',
        via('[branch]'),
        from,
        `${to}[peer_tag_param]`,
        'Call-ID: [call_id]',
        `CSeq: ${cseq} ACK`,
        'Max-Forwards: 70',
        '[routes]',
      ]),
    ),
    ...inCall(script, presses, {
      bye: sipMessage([
        'BYE [next_url] SIP/2.0',
        via('[branch]'),
        from,
        `${to}[peer_tag_param]`,
        'Call-ID: [call_id]',
        `CSeq: ${cseq + 1} BYE`,
        'Max-Forwards: 70',
        '[routes]',
      ]),
    }),
  );
  if (script.cancelAfterMs !== undefined) {
    steps.push(
      label('cancel'),
      send(sameTransaction('CANCEL', inviteIndex, cseq, to)),
      recv({ response: 200, optional: true }),
      recv({ response: 487 }),
      send(ackToFailure, { next: 'end' }),
    );
  }
  steps.push(
    label('rejected'),
    send(ackToFailure, { next: 'end' }),
    label('bye-received'),
    send(reply('200 OK')),
    label('end'),
  );
  return scenarioXml('caller', steps);
}

/**
 * After the ACK: play each key press (and the speech) at its time, then hang up or wait for the BYE. The waits are receives of a
 * BYE with a timeout, not pauses, so that a far end hanging up meanwhile ends the call cleanly.
 */
function inCall(script: Script, presses: { atMs: number; file: string }[], messages: { bye: string }): Step[] {
  const steps: Step[] = [];
  let now = 0;
  const waitUntil = (atMs: number, then: string) => {
    if (atMs > now) steps.push(recv({ request: 'BYE', timeout: atMs - now, ontimeout: then, next: 'bye-received' }));
    steps.push(label(then));
    now = Math.max(now, atMs);
  };
  presses.forEach((press, index) => {
    waitUntil(press.atMs, `press-${index + 1}`);
    steps.push(nop([{ tag: 'exec', attributes: { play_pcap_audio: press.file } }]));
  });
  if (script.hangupAfterMs === undefined) {
    steps.push(recv({ request: 'BYE', next: 'bye-received' }));
  } else {
    waitUntil(script.hangupAfterMs, 'hang-up');
    steps.push(send(messages.bye, { retrans: 500 }), recv({ response: 200, next: 'end' }));
  }
  return steps;
}

/**
 * Per Call-ID, in the order the calls started; Call-IDs without an INVITE of ours (requests sipp answered by
 * itself) are left out.
 */
function callOutcomes(messages: SipMessage[]): CallOutcome[] {
  const byCall = new Map<string, SipMessage[]>();
  for (const message of messages) {
    const list = byCall.get(message.callId) ?? [];
    list.push(message);
    byCall.set(message.callId, list);
  }
  return [...byCall].flatMap(([callId, list]): CallOutcome[] => {
    const invite = list.find((m) => m.sent && m.method === 'INVITE' && m.status === undefined);
    if (!invite) return [];
    const final = list.find((m) => !m.sent && m.method === 'INVITE' && (m.status ?? 0) >= 200);
    const answer = final?.status !== undefined && final.status < 300 ? final : undefined;
    const bye = list.find((m) => m.method === 'BYE' && m.status === undefined);
    return [
      {
        callId,
        finalCode: final?.status,
        answered: answer !== undefined,
        cancelled: list.some((m) => m.sent && m.method === 'CANCEL'),
        invitedAt: invite.at,
        answeredAt: answer?.at,
        endedAt: answer ? bye?.at : final?.at,
        hungUpBy: bye === undefined ? undefined : bye.sent ? 'caller' : 'callee',
      },
    ];
  });
}
