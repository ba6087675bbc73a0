import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { CALLS_STREAM, CDRS_STREAM, CallEvents, FaxEvents, RatingEvents } from '@switchboard/events';
import { type callV1, presenceV1, routingV1 } from '@switchboard/proto';
import { connectNats, createLogger, type NatsHandle } from '@switchboard/service-kit';
import {
  DEFAULT_MENUS_FILE,
  DEFAULT_TENANT_FILE,
  listAgents,
  readTenant,
  startStack,
  type ServiceName,
  type Stack,
  type TenantDocument,
} from '@switchboard/stack';
import { describeFault, type Fault } from '../../src/chaos/faults.js';
import { beginningIn, lengthOf, longest, silences, type Interval } from '../../src/chaos/gaps.js';
import {
  billableLegs,
  classify,
  compareLegs,
  lossReasons,
  type CallClass,
  type LegComparison,
} from '../../src/chaos/verdict.js';
import { DEFAULT_BEHAVIOUR, Simulation, type PlacedCall } from '../../src/simulation.js';
import { percentile } from '../../src/summary.js';
import { topicsFromMenus } from '../../src/topics.js';
import { CallTracker, type EndedCall } from '../../src/tracker.js';
import { insecure, unary } from './grpc.js';
import {
  berlinMonth,
  billedLegs,
  faxRoute,
  finishMonthClose,
  prepareMonthClose,
  previousMonth,
  startMonthClose,
  writeSampleFax,
  type CloseOutcome,
} from './work.js';

export interface ChaosOptions {
  calls: number;
  rate: number;
  seed: number;
  timeScale: number;
  faults: Fault[];
  /** Replicas of routing, presence, rating, ivr and directory. */
  replicas: number;
  /** Every department's wrap-up is cut to this (the demo's 30 s would let 60 staff serve under 2 calls/s). */
  wrapUpSeconds: number;
  /** Wall-clock seconds a caller waits for an agent before giving up. */
  patienceSeconds: number;
  /** How long to wait for the calls to end once all are placed and the faults are over. */
  timeoutMs: number;
  /** How long rating and billing get to catch up once the calls ended. */
  settleMs: number;
  /** Calls of last month published for billing's month close. */
  monthCloseCalls: number;
  /** From CloseMonth's request to the kill of billing. */
  billingKillAfterMs: number;
  faxPages: number;
  /** From the adapter's fax.received (the fax service starts storing and converting) to the kill. */
  faxKillAfterMs: number;
  /** Per service process, until it is ready (the shared machine can be slow). */
  readyTimeoutMs: number;
  logDir?: string;
  onLine(text: string): void;
}

export interface CallReport {
  index: number;
  from: string;
  chosen: string;
  channelId?: string;
  callId?: string;
  class: CallClass;
  department?: string;
  placedAt: string;
  endedEvents: number;
  waitMs?: number;
  /** When the caller's channel was answered (the silences count from then). */
  upAt?: string;
  /** Caller's channel answered → hung up (or the end of the run). */
  upMs?: number;
  longestGapMs: number;
  longestGapAt?: string;
  /** Every silence of at least 250 ms: [ms after the answer, length in ms]. */
  silencesMs: Array<[number, number]>;
  billableLegs: number;
  missingLegs: string[];
  duplicatedLegs: string[];
}

export interface FaultReport {
  spec: string;
  what: string;
  at: string;
  atMs: number;
  /** How long the injection took (kill … ready again). */
  tookMs?: number;
  error?: string;
  callsInProgress: number;
  /** The longest silence that began from 10 s before the fault to 10 s after its target was back. */
  longestGapMs: number;
  longestGapCall?: string;
  monthClose?: CloseOutcome;
  fax?: { mails: number; pdf: boolean; receivedAt?: string };
}

export interface ChaosReport {
  command: { calls: number; rate: number; seed: number; timeScale: number; replicas: number };
  loadAverage: { start: number[]; end: number[] };
  durationMs: number;
  offered: number;
  classes: Record<CallClass, number>;
  endedTwice: number;
  gaps: { p50Ms: number; p95Ms: number; maxMs: number };
  legs: LegComparison & { ratingEvents: number; ratingRepublished: number };
  leakedAgents: string[];
  leftoverEntries: string[];
  routingLiveCalls: number;
  faults: FaultReport[];
  losses: string[];
  logDir: string;
  calls: CallReport[];
}

const quiet = createLogger({ service: 'chaos', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (values: number[]) => values.map((value) => Math.round(value * 100) / 100);
const ariTime = (value: string | undefined) => (value ? Date.parse(value.replace(/\+0000$/, 'Z')) : undefined);
/** How far before and after a fault a silence is counted as its (see the per-fault figures). */
const FAULT_WINDOW_MS = 10_000;
const CHAOS_REPLICATED: ServiceName[] = ['routing', 'presence', 'rating', 'ivr', 'directory'];

/** The demo tenant as it is, but with every department's wrap-up at most `seconds`. */
async function chaosTenant(seconds: number): Promise<{ file: string; document: TenantDocument }> {
  const tenant = await readTenant(DEFAULT_TENANT_FILE, true);
  type WithWrapUp = TenantDocument['departments'][number] & { wrapUpSeconds?: number };
  const document: TenantDocument = {
    ...tenant.document,
    departments: tenant.document.departments.map((department: WithWrapUp) => ({
      ...department,
      wrapUpSeconds: Math.min(department.wrapUpSeconds ?? 0, seconds),
    })),
  };
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'sb-chaos-')), 'tenant.json');
  await writeFile(file, JSON.stringify(document));
  return { file, document };
}

/** Follows a stream from its start with an ordered consumer (it resumes by itself after a NATS restart). */
async function follow(bus: NatsHandle, stream: string, onMessage: (subject: string, data: Uint8Array) => void) {
  const consumer = await bus.js.consumers.get(stream);
  const messages = await consumer.consume();
  void (async () => {
    for await (const message of messages) onMessage(message.subject, message.data);
  })().catch(() => undefined);
  return messages;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.onLine;
  const loadAtStart = round2(loadavg());
  const { file: tenantFile, document: tenant } = await chaosTenant(options.wrapUpSeconds);
  const topics = await topicsFromMenus(DEFAULT_MENUS_FILE, 'main-menu');
  const replicas = Object.fromEntries(CHAOS_REPLICATED.map((name) => [name, options.replicas]));
  say(`starting the stack (${CHAOS_REPLICATED.join(', ')} × ${options.replicas}) …`);
  const start = () =>
    startStack({
      replicas,
      tenantFile,
      menusFile: DEFAULT_MENUS_FILE,
      alwaysOpen: true,
      // The dialplan holds a call 60 s (real time) while no adapter holds the app; ari-sim counts
      // its hold in scaled time, so it is scaled up to stay 60 s of wall clock.
      ariSim: { timeScale: options.timeScale, stasisHoldSeconds: Math.ceil(60 / options.timeScale) },
      handleSignals: false,
      readyTimeoutMs: options.readyTimeoutMs,
      ...(options.logDir ? { logDir: options.logDir } : {}),
    });
  // On a crowded machine a service may time out connecting at start: one more try, from scratch.
  const stack = await start().catch((error: unknown) => {
    say(`the stack did not start (${(error as Error).message.split('\n')[0]}); trying once more …`);
    return start();
  });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    say(`services up; logs in ${stack.logDir}`);
    return await drive(stack, tenant, topics, options, loadAtStart, closers);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await stack.stop();
  }
}

async function drive(
  stack: Stack,
  tenant: TenantDocument,
  topics: Awaited<ReturnType<typeof topicsFromMenus>>,
  options: ChaosOptions,
  loadAtStart: number[],
  closers: Array<() => Promise<unknown>>,
): Promise<ChaosReport> {
  const say = options.onLine;
  const observer = await connectNats({
    url: stack.natsUrl,
    credentials: stack.natsCredentials('observer'),
    name: 'chaos-observer',
    logger: quiet,
  });
  closers.push(() => observer.connection.close());
  const tester = await connectNats({
    url: stack.natsUrl,
    credentials: stack.natsCredentials('tester'),
    name: 'chaos',
    logger: quiet,
  });
  closers.push(() => tester.connection.close());

  const tracker = new CallTracker();
  const placed: PlacedCall[] = [];
  const ended = new Map<string, EndedCall>();
  const endedEvents = new Map<string, callV1.CallEnded[]>();
  const startedCalls = new Map<string, string>();
  const ratedEvents: string[] = [];
  const behaviour = {
    ...DEFAULT_BEHAVIOUR,
    // Every phone answers (a no-answer would send callers on, hiding what a fault does), quickly,
    // and talks briefly, so the staff serve the load; patience in wall-clock seconds.
    noAnswerRate: 0,
    answerDelayMs: [1_000, 3_000] as [number, number],
    talkMs: [5_000, 15_000] as [number, number],
    patienceMs: [options.patienceSeconds * 1_000, options.patienceSeconds * 1_000].map(
      (ms) => ms / options.timeScale,
    ) as [number, number],
  };
  const simulation = new Simulation({
    sim: stack.ariSim,
    tracker,
    tenant,
    topics,
    seed: options.seed,
    rate: options.rate,
    calls: options.calls,
    timeScale: options.timeScale,
    behaviour,
    onPlaced: (call) => placed.push(call),
  });
  tracker.onEnd((call) => ended.set(call.channelId, call));
  for (const person of tenant.staff) {
    for (const device of person.devices) stack.ariSim.setEndpoint(`PJSIP/${device}`, simulation.nextPhoneBehaviour());
    if (person.homeOfficeNumber) {
      stack.ariSim.setEndpoint(`PJSIP/${person.homeOfficeNumber}@trunk`, simulation.nextPhoneBehaviour());
    }
  }

  const faxReceived: Array<() => void> = [];
  const subscriptions = await Promise.all([
    follow(observer, CALLS_STREAM.name, (subject, data) => {
      const event = subject.slice(subject.lastIndexOf('.') + 1);
      if (event === 'started') {
        const started = CallEvents.started.codec.decode(data);
        startedCalls.set(started.callId, started.callerLeg?.channelId ?? '');
        tracker.started(started);
      } else if (event === 'dtmf_received') tracker.dtmf(CallEvents.dtmfReceived.codec.decode(data));
      else if (event === 'leg_updated') {
        const update = CallEvents.legUpdated.codec.decode(data);
        tracker.legUpdated(update);
        simulation.legUpdated(update);
      } else if (event === 'ended') {
        const end = CallEvents.ended.codec.decode(data);
        endedEvents.set(end.callId, [...(endedEvents.get(end.callId) ?? []), end]);
        tracker.ended(end);
      }
    }),
    follow(observer, CDRS_STREAM.name, (subject, data) => {
      if (!subject.endsWith('.cdr.rated')) return;
      const leg = RatingEvents.cdrRated.codec.decode(data).leg;
      if (leg) ratedEvents.push(`${leg.callId}/${leg.legId}`);
    }),
  ]);
  closers.push(async () => subscriptions.forEach((messages) => messages.stop()));
  const faxEvents = tester.connection.subscribe(`sb.${stack.tenantId}.${FaxEvents.received.domain}.received`, {
    callback: () => faxReceived.splice(0).forEach((wake) => wake()),
  });
  closers.push(async () => faxEvents.unsubscribe());

  const closeMonth = previousMonth(berlinMonth(new Date()));
  if (options.faults.some((fault) => fault.target === 'billing')) {
    say(`publishing ${options.monthCloseCalls} calls of ${closeMonth} for billing's month close …`);
    await prepareMonthClose(stack, tester, tenant, closeMonth, options.monthCloseCalls);
  }
  const fax = faxRoute(tenant);
  const faxFile = options.faults.some((fault) => fault.target === 'fax')
    ? await writeSampleFax(options.faxPages, options.seed)
    : undefined;

  // ---- the load and the faults -----------------------------------------------------------
  const loadStart = Date.now();
  const inject = async (fault: Fault): Promise<Omit<FaultReport, 'callsInProgress' | 'longestGapMs'>> => {
    const report: Omit<FaultReport, 'callsInProgress' | 'longestGapMs'> = {
      spec: fault.spec,
      what: describeFault(fault),
      at: new Date().toISOString(),
      atMs: Date.now() - loadStart,
    };
    say(`${Math.round(report.atMs / 1_000)} s: ${report.what}`);
    const began = Date.now();
    try {
      if (fault.target === 'nats') await stack.restartNats({ downMs: fault.downMs });
      else if (fault.target === 'mongo') await stack.restartMongo({ downMs: fault.downMs });
      else {
        if (fault.target === 'billing') {
          await startMonthClose(stack, closeMonth);
          await sleep(options.billingKillAfterMs);
        }
        if (fault.target === 'fax') {
          const received = new Promise<void>((resolve) => faxReceived.push(resolve));
          stack.ariSim.placeCall({
            from: '+4940555555',
            to: fax.number,
            fax: { tiff: faxFile!, pages: options.faxPages, stationId: '+49 40 555555', durationMs: 2_000 },
          });
          await Promise.race([
            received,
            sleep(60_000).then(() => Promise.reject(new Error('no fax.received within 60 s'))),
          ]);
          report.fax = { mails: 0, pdf: false, receivedAt: new Date().toISOString() };
          await sleep(options.faxKillAfterMs);
        }
        // Kill first: `restart` would wait for the stop before it starts the replica again.
        await stack.restart(fault.target, fault.replica, {
          signal: fault.action === 'kill' ? 'SIGKILL' : 'SIGTERM',
          downMs: fault.downMs,
        });
        report.tookMs = Date.now() - began;
        if (fault.target === 'billing') report.monthClose = await finishMonthClose(stack, closeMonth, 120_000);
        if (fault.target === 'fax') {
          const toMailbox = (mail: { to?: unknown }) => JSON.stringify(mail.to ?? '').includes(fax.mailbox);
          const mail = await stack.waitForMail(`the fax to ${fax.mailbox}`, toMailbox, 120_000);
          // Time for a second copy to show, should the crash make the service send it twice.
          await sleep(5_000);
          report.fax = {
            ...report.fax!,
            mails: stack.mail.filter(toMailbox).length,
            pdf: mail.attachments.some((attachment) => attachment.contentType === 'application/pdf'),
          };
        }
      }
    } catch (error) {
      // The first line; a start that failed goes on with the tail of the service's log.
      report.error = (error as Error).message.split('\n')[0];
    }
    report.tookMs ??= Date.now() - began;
    return report;
  };
  // One fault at a time: the next waits for its time and for the last one's target to be ready
  // again (a start takes tens of seconds on a crowded machine), so no fault lands on another.
  const faultRuns = (async () => {
    const reports: Array<Awaited<ReturnType<typeof inject>>> = [];
    for (const fault of options.faults) {
      await sleep(loadStart + fault.atMs - Date.now());
      reports.push(await inject(fault));
    }
    return reports;
  })();
  simulation.start();
  say(`placing ${options.calls} calls at ${options.rate}/s (seed ${options.seed}, time scale ${options.timeScale}) …`);
  const progress = setInterval(() => {
    const view = tracker.view();
    say(
      `${Math.round((Date.now() - loadStart) / 1_000)} s: placed ${simulation.placedCalls}, in progress ${view.inProgress}, ` +
        `answered ${view.answered}, abandoned ${view.abandoned}, busy ${view.busy}`,
    );
  }, 10_000);
  const faultReports = await faultRuns;
  // Every placed call ended (or was refused), or the timeout passed.
  const deadline = Date.now() + options.timeoutMs;
  const settled = () =>
    simulation.placedCalls >= options.calls &&
    placed.every((call) => call.refused !== undefined || (call.channelId !== undefined && ended.has(call.channelId)));
  while (!settled() && Date.now() < deadline) await sleep(250);
  clearInterval(progress);
  simulation.stop();
  const loadEnd = Date.now();
  say(
    `load over after ${Math.round((loadEnd - loadStart) / 1_000)} s; waiting for rating, billing and presence to settle …`,
  );

  // ---- the ledgers: rated legs, agents, queues --------------------------------------------
  const billable = [...endedEvents.values()].flatMap((events) => events.flatMap(billableLegs));
  const months = [...new Set([closeMonth, berlinMonth(new Date(loadStart)), berlinMonth(new Date())])];
  let legs: LegComparison = compareLegs(billable, []);
  const settleBy = Date.now() + options.settleMs;
  for (;;) {
    const rated = (await Promise.all(months.map((month) => billedLegs(stack, month).catch(() => [])))).flat();
    legs = compareLegs(billable, rated);
    if ((legs.missing.length === 0 && legs.duplicated.length === 0) || Date.now() > settleBy) break;
    await sleep(2_000);
  }
  // Wrap-ups run out, reservations of ended calls are released.
  await sleep(Math.max(options.wrapUpSeconds * 1_000 + 5_000, 0));
  const token = await stack.token();
  const presence = stack.services.find((service) => service.name === 'presence');
  const agents = presence ? await listAgents(presence.grpcPort, token, stack.tenantId, '') : [];
  const live = new Set([...startedCalls.keys()].filter((callId) => !endedEvents.has(callId)));
  const leakedAgents = agents
    .filter(
      (agent) =>
        (agent.state === presenceV1.AgentState.AGENT_STATE_RINGING ||
          agent.state === presenceV1.AgentState.AGENT_STATE_ON_CALL) &&
        !live.has(agent.assignment?.callId ?? ''),
    )
    .map(
      (agent) =>
        `${agent.agentId} (${presenceV1.agentStateToJSON(agent.state)}, call ${agent.assignment?.callId ?? '?'})`,
    );
  const routing = new routingV1.RoutingServiceClient(stack.grpcAddress('routing'), insecure);
  const leftoverEntries: string[] = [];
  let routingLiveCalls = 0;
  try {
    for (const department of tenant.departments) {
      const queue = await unary<routingV1.GetQueueResponse>(token, (metadata, done) =>
        routing.getQueue({ tenantId: stack.tenantId, departmentId: department.departmentId }, metadata, done),
      );
      leftoverEntries.push(...queue.entries.map((entry) => `${department.departmentId}: ${entry.callId}`));
    }
    const calls = await unary<routingV1.ListCallsResponse>(token, (metadata, done) =>
      routing.listCalls({ tenantId: stack.tenantId, departmentId: '' }, metadata, done),
    );
    routingLiveCalls = calls.calls.filter((call) => call.step !== 'ended').length;
  } finally {
    routing.close();
  }

  // ---- per call ---------------------------------------------------------------------------
  const billedKeys = new Set(billable);
  const callIdOf = new Map([...startedCalls].map(([callId, channelId]) => [channelId, callId]));
  const missing = new Set(legs.missing);
  const duplicated = new Set(legs.duplicated);
  const heard = new Map<string, Interval[]>();
  const calls: CallReport[] = placed.map((call) => {
    const record = call.channelId ? stack.ariSim.getCall(call.channelId) : undefined;
    const callId = call.channelId ? callIdOf.get(call.channelId) : undefined;
    const end = call.channelId ? ended.get(call.channelId) : undefined;
    const events = callId ? (endedEvents.get(callId) ?? []) : [];
    const upAt = ariTime(record?.answeredAt);
    const downAt = ariTime(record?.endedAt) ?? loadEnd;
    const quiet =
      upAt !== undefined && call.channelId ? silences(stack.ariSim.mediaTimeline(call.channelId), upAt, downAt) : [];
    if (call.channelId) heard.set(call.channelId, quiet);
    const gap = longest(quiet);
    const keys = events.flatMap(billableLegs).filter((key, index, all) => all.indexOf(key) === index);
    return {
      index: call.index,
      from: call.from,
      chosen: call.department,
      ...(call.channelId ? { channelId: call.channelId } : {}),
      ...(callId ? { callId } : {}),
      class: classify({
        chosen: call.department,
        ...(call.refused !== undefined ? { refused: call.refused } : {}),
        started: callId !== undefined,
        endedEvents: events.length,
        ...(end ? { outcome: end.outcome, department: end.department } : {}),
      }),
      ...(end?.outcome === 'answered' ? { department: end.department } : {}),
      placedAt: new Date(call.placedAt).toISOString(),
      endedEvents: events.length,
      ...(end?.waitMs !== undefined ? { waitMs: end.waitMs } : {}),
      ...(upAt !== undefined ? { upAt: new Date(upAt).toISOString(), upMs: downAt - upAt } : {}),
      longestGapMs: lengthOf(gap),
      ...(gap ? { longestGapAt: new Date(gap.from).toISOString() } : {}),
      silencesMs: quiet
        .filter((silence) => silence.to - silence.from >= 250)
        .map((silence): [number, number] => [silence.from - upAt!, silence.to - silence.from]),
      billableLegs: keys.filter((key) => billedKeys.has(key)).length,
      missingLegs: keys.filter((key) => missing.has(key)),
      duplicatedLegs: keys.filter((key) => duplicated.has(key)),
    };
  });

  // ---- per fault: the silences that began around it ----------------------------------------
  // From 10 s before the fault (a caller already waiting for what the fault interrupts) to 10 s
  // after its target was ready again; a longer silence that began earlier is an earlier fault's.
  const faults: FaultReport[] = faultReports.map((report) => {
    const at = Date.parse(report.at);
    const from = at - FAULT_WINDOW_MS;
    const to = at + (report.tookMs ?? 0) + FAULT_WINDOW_MS;
    let best: { ms: number; call?: string } = { ms: 0 };
    let inProgress = 0;
    for (const call of calls) {
      const record = call.channelId ? stack.ariSim.getCall(call.channelId) : undefined;
      const upAt = ariTime(record?.answeredAt);
      if (upAt !== undefined && upAt <= at && (ariTime(record?.endedAt) ?? loadEnd) > at) inProgress++;
      for (const silence of beginningIn(heard.get(call.channelId ?? '') ?? [], from, to)) {
        const ms = silence.to - silence.from;
        if (ms > best.ms) best = { ms, call: call.callId ?? call.channelId! };
      }
    }
    return {
      ...report,
      callsInProgress: inProgress,
      longestGapMs: best.ms,
      ...(best.call ? { longestGapCall: best.call } : {}),
    };
  });

  const classes = Object.fromEntries(
    (['answered', 'answered-elsewhere', 'abandoned', 'busy', 'other', 'refused', 'lost', 'stuck'] as CallClass[]).map(
      (name) => [name, calls.filter((call) => call.class === name).length],
    ),
  ) as Record<CallClass, number>;
  const faultFailures = faults.flatMap((fault) => [
    ...(fault.error ? [`fault ${fault.spec} failed: ${fault.error}`] : []),
    ...(fault.monthClose?.problems ?? []).map(
      (problem) => `fault ${fault.spec}: the invoice after the crash: ${problem}`,
    ),
    ...(fault.fax && !fault.error && (fault.fax.mails !== 1 || !fault.fax.pdf)
      ? [
          `fault ${fault.spec}: the fax reached its mailbox ${fault.fax.mails} time(s)${fault.fax.pdf ? '' : ' without its PDF'}`,
        ]
      : []),
  ]);
  const endedTwice = calls.filter((call) => call.endedEvents > 1).length;
  const leftover = [...leftoverEntries];
  const losses = lossReasons({ classes, endedTwice, legs, leakedAgents, leftoverEntries: leftover, faultFailures });
  const gapsMs = calls.filter((call) => call.upMs !== undefined).map((call) => call.longestGapMs);
  const ratingKeys = new Set(ratedEvents);
  return {
    command: {
      calls: options.calls,
      rate: options.rate,
      seed: options.seed,
      timeScale: options.timeScale,
      replicas: options.replicas,
    },
    loadAverage: { start: loadAtStart, end: round2(loadavg()) },
    durationMs: loadEnd - loadStart,
    offered: placed.length,
    classes,
    endedTwice,
    gaps: { p50Ms: percentile(gapsMs, 50), p95Ms: percentile(gapsMs, 95), maxMs: Math.max(0, ...gapsMs) },
    legs: { ...legs, ratingEvents: ratingKeys.size, ratingRepublished: ratedEvents.length - ratingKeys.size },
    leakedAgents,
    leftoverEntries: leftover,
    routingLiveCalls,
    faults,
    losses,
    logDir: stack.logDir,
    calls,
  };
}
