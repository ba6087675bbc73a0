import type { AriSim, EndpointBehavior, ScriptStep } from '@switchboard/ari-sim';
import { callV1 } from '@switchboard/proto';
import type { TenantDocument } from '@switchboard/stack';
import type { CallTracker } from './tracker.js';
import { Random } from './random.js';
import type { Topic } from './topics.js';

/**
 * How citizens and staff behave, in simulated ms: ari-sim multiplies script and phone times by
 * its timeScale, and the caller's patience is scaled the same way here.
 */
export interface Behaviour {
  /**
   * First key counted from the first prompt the caller hears, after the menu prompts (welcome + menu:
   * 2 × 2 s in ari-sim), then one per submenu. A caller held while no adapter was connected, or whose
   * menu is late, presses when they hear it — not into silence.
   */
  firstDigitMs: number;
  nextDigitMs: number;
  /** A caller hangs up after waiting this long without reaching anyone. */
  patienceMs: [number, number];
  answerDelayMs: [number, number];
  talkMs: [number, number];
  /** Share of rings a member of staff does not pick up (routing then tries the next). */
  noAnswerRate: number;
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  firstDigitMs: 4_000,
  nextDigitMs: 3_000,
  patienceMs: [45_000, 150_000],
  answerDelayMs: [1_000, 5_000],
  talkMs: [5_000, 20_000],
  noAnswerRate: 0.05,
};

export interface SimulationOptions {
  sim: AriSim;
  tracker: CallTracker;
  tenant: TenantDocument;
  topics: readonly Topic[];
  seed: number;
  /** Arrivals per second (Poisson). */
  rate: number;
  /** Stop placing calls after this many; unlimited when undefined. */
  calls?: number;
  behaviour?: Behaviour;
  /** ari-sim's timeScale, applied to the patience timers this class runs itself. */
  timeScale: number;
  /** Each call as it is placed (or refused), e.g. to follow every caller's fate. */
  onPlaced?(call: PlacedCall): void;
}

/** A caller the simulation placed. */
export interface PlacedCall {
  /** Order of placement, from 0. */
  index: number;
  from: string;
  /** The department the caller's keys lead to. */
  department: string;
  digits: string[];
  /** Wall-clock epoch ms. */
  placedAt: number;
  channelId?: string;
  /** Why ari-sim refused the call: no Stasis app connected (Asterisk's `Stasis()` fails then too). */
  refused?: string;
}

/**
 * Citizens calling the main number and staff answering. Callers pick a topic (weighted by the
 * department's size, so the big citizen office gets most calls), press its keys, and hang up when
 * their patience runs out before anyone answers. Each staff phone gets a fresh behaviour for its
 * next ring whenever it rings (answer delay, talk time, sometimes not answering).
 */
export class Simulation {
  private readonly callers: Random;
  private readonly staff: Random;
  private readonly behaviour: Behaviour;
  private readonly mainNumber: string;
  private readonly weighted: Topic[];
  private readonly patience = new Map<string, NodeJS.Timeout>();
  private arrivals: NodeJS.Timeout | undefined;
  private placed = 0;
  private stopped = false;

  constructor(private readonly options: SimulationOptions) {
    this.callers = new Random(options.seed);
    this.staff = new Random(options.seed + 1);
    this.behaviour = options.behaviour ?? DEFAULT_BEHAVIOUR;
    const main = options.tenant.numbers.find(
      (number) => number.kind === 'main' && number.entryPoint?.kind === 'ivr-menu',
    );
    if (!main) throw new Error('the tenant has no main number with an IVR menu');
    this.mainNumber = main.number;
    const size = new Map(options.tenant.departments.map((d) => [d.departmentId, Math.max(d.members.length, 1)]));
    this.weighted = options.topics.flatMap((topic) => Array<Topic>(size.get(topic.department) ?? 1).fill(topic));
    options.tracker.onEnd(({ channelId }) => {
      clearTimeout(this.patience.get(channelId));
      this.patience.delete(channelId);
    });
  }

  get placedCalls(): number {
    return this.placed;
  }

  start(): void {
    const next = () => {
      if (this.stopped || (this.options.calls !== undefined && this.placed >= this.options.calls)) return;
      this.placeCall();
      this.arrivals = setTimeout(next, this.callers.interArrivalMs(this.options.rate));
    };
    next();
  }

  private placeCall(): void {
    const { sim, tracker } = this.options;
    const topic = this.callers.pick(this.weighted);
    const script: ScriptStep[] = topic.digits.map((dtmf, index) => ({
      atMs: this.behaviour.firstDigitMs + index * this.behaviour.nextDigitMs,
      dtmf,
      after: 'prompt',
    }));
    const from = `+49151${String(Math.floor(this.callers.next() * 1e8)).padStart(8, '0')}`;
    const patienceMs = this.callers.between(...this.behaviour.patienceMs) * this.options.timeScale;
    const placed = {
      index: this.placed,
      from,
      department: topic.department,
      digits: topic.digits,
      placedAt: Date.now(),
    };
    this.placed++;
    let channelId: string;
    try {
      channelId = sim.placeCall({ from, to: this.mainNumber, script });
    } catch (error) {
      this.options.onPlaced?.({ ...placed, refused: (error as Error).message });
      return;
    }
    this.options.onPlaced?.({ ...placed, channelId });
    tracker.plan(channelId, { department: topic.department, digits: topic.digits.length });
    // Patience counts from the call's start: the menu is part of the wait a citizen feels.
    const timer = setTimeout(() => {
      this.patience.delete(channelId);
      const call = tracker.callOf(channelId);
      if (call && call.answeredAt === undefined) {
        try {
          sim.hangupCall(channelId);
        } catch {
          // already gone
        }
      }
    }, patienceMs);
    this.patience.set(channelId, timer);
  }

  /** A phone starts ringing: decide how it behaves the next time it rings. */
  legUpdated(event: callV1.CallLegUpdated): void {
    const leg = event.leg;
    if (!leg || leg.kind === callV1.LegKind.LEG_KIND_CALLER || !leg.endpoint) return;
    if (leg.state !== callV1.LegState.LEG_STATE_RINGING) return;
    this.options.sim.setEndpoint(leg.endpoint, this.nextPhoneBehaviour());
  }

  /** A phone's behaviour for its next ring (also the first one of every phone). */
  nextPhoneBehaviour(): EndpointBehavior {
    if (this.staff.chance(this.behaviour.noAnswerRate)) return { noAnswer: true };
    return {
      answerAfterMs: Math.round(this.staff.between(...this.behaviour.answerDelayMs)),
      hangupAfterMs: Math.round(this.staff.between(...this.behaviour.talkMs)),
    };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.arrivals);
    for (const timer of this.patience.values()) clearTimeout(timer);
    this.patience.clear();
  }
}
