import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { callV1 } from '@switchboard/proto';
import {
  DEFAULT_MENUS_FILE,
  DEFAULT_TENANT_FILE,
  readTenant,
  startStack,
  type ServiceName,
  type Stack,
} from '@switchboard/stack';
import { Simulation, type Behaviour } from './simulation.js';
import type { Summary } from './summary.js';
import { CallTracker } from './tracker.js';
import { topicsFromMenus } from './topics.js';
import { renderLive } from './view.js';

export interface DemoOptions {
  /** Place this many calls, then wait for them to end; unlimited when undefined (until `stop`). */
  calls?: number;
  rate: number;
  seed: number;
  timeScale: number;
  logDir?: string;
  /** Default all; the call path needs directory, ivr, presence, ari-adapter and routing. */
  services?: readonly ServiceName[];
  /** A bounded run stops waiting for calls to end after this. */
  timeoutMs: number;
  behaviour?: Behaviour;
  /** Receives the live screen (interactive) or a status line, every `refreshMs`. */
  onScreen?(text: string, interactive: boolean): void;
  interactive: boolean;
  onStarted?(stack: Stack): void;
}

export interface RunningDemo {
  /** Resolves with the summary when a bounded run's calls have ended (or timed out). */
  readonly finished: Promise<string>;
  summary(): Summary;
  /** Stops placing calls and stops the whole stack; safe to call twice. */
  stop(): Promise<Summary>;
}

/**
 * Starts the stack with the demo tenant (open all week), simulated callers and staff, and the
 * tracker fed by the adapter's call events (a plain NATS subscription: the demo only watches).
 */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const tenant = await readTenant(DEFAULT_TENANT_FILE, true);
  const topics = await topicsFromMenus(DEFAULT_MENUS_FILE, 'main-menu');
  const departments = tenant.document.departments.map((department) => department.departmentId);
  const stack = await startStack({
    alwaysOpen: true,
    ariSim: { timeScale: options.timeScale },
    handleSignals: false,
    ...(options.services ? { services: options.services } : {}),
    ...(options.logDir ? { logDir: options.logDir } : {}),
  });
  options.onStarted?.(stack);

  const tracker = new CallTracker();
  const simulation = new Simulation({
    sim: stack.ariSim,
    tracker,
    tenant: tenant.document,
    topics,
    seed: options.seed,
    rate: options.rate,
    calls: options.calls,
    timeScale: options.timeScale,
    ...(options.behaviour ? { behaviour: options.behaviour } : {}),
  });
  for (const person of tenant.document.staff) {
    for (const device of person.devices) stack.ariSim.setEndpoint(`PJSIP/${device}`, simulation.nextPhoneBehaviour());
    if (person.homeOfficeNumber) {
      stack.ariSim.setEndpoint(`PJSIP/${person.homeOfficeNumber}@trunk`, simulation.nextPhoneBehaviour());
    }
  }

  // The live view reads call events as `observer`: it may change nothing.
  const observer = stack.natsCredentials('observer');
  const nats = await connect({
    servers: stack.natsUrl,
    name: 'demo',
    authenticator: nkeyAuthenticator(new TextEncoder().encode(observer.seed)),
  });
  const events = nats.subscribe(`sb.${stack.tenantId}.call.>`, {
    callback: (error, message) => {
      if (error) return;
      const event = message.subject.slice(message.subject.lastIndexOf('.') + 1);
      try {
        if (event === 'started') tracker.started(callV1.CallStarted.decode(message.data));
        else if (event === 'dtmf_received') tracker.dtmf(callV1.CallDtmfReceived.decode(message.data));
        else if (event === 'leg_updated') {
          const update = callV1.CallLegUpdated.decode(message.data);
          tracker.legUpdated(update);
          simulation.legUpdated(update);
        } else if (event === 'ended') tracker.ended(callV1.CallEnded.decode(message.data));
      } catch (decodeError) {
        process.stderr.write(`undecodable ${message.subject}: ${(decodeError as Error).message}\n`);
      }
    },
  });
  // The server must hold the subscription before the first call starts, or its call.started is
  // missed and the call never counts as ended.
  await nats.flush();

  const startedAt = Date.now();
  const draw = () => {
    const view = tracker.view();
    const elapsed = Date.now() - startedAt;
    options.onScreen?.(
      options.interactive
        ? renderLive(view, elapsed, simulation.placedCalls, departments)
        : `${Math.round(elapsed / 1_000)} s: placed ${simulation.placedCalls}, in progress ${view.inProgress}, answered ${view.answered}, abandoned ${view.abandoned}, busy ${view.busy}`,
      options.interactive,
    );
  };
  const screen = setInterval(draw, options.interactive ? 1_000 : 5_000);
  simulation.start();

  let stopping: Promise<Summary> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(screen);
      clearInterval(check);
      simulation.stop();
      const summary = tracker.summary();
      events.unsubscribe();
      await nats.close();
      await stack.stop();
      return summary;
    })();
    return stopping;
  };

  let check: NodeJS.Timeout | undefined;
  const finished = new Promise<string>((resolve) => {
    if (options.calls === undefined) return;
    const total = options.calls;
    const deadline = Date.now() + options.timeoutMs;
    check = setInterval(() => {
      if (tracker.endedCount >= total && simulation.placedCalls >= total) resolve(`all ${total} calls ended`);
      else if (Date.now() > deadline) {
        // What is missing tells a lost call.ended (in progress) from a call the tracker never saw.
        resolve(
          `gave up after ${options.timeoutMs / 1_000} s: placed ${simulation.placedCalls}, ended ` +
            `${tracker.endedCount}, in progress ${tracker.view().inProgress}`,
        );
      } else return;
      clearInterval(check);
    }, 250);
  });

  return { finished, summary: () => tracker.summary(), stop };
}
