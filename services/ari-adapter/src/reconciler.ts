import type { Logger } from '@switchboard/service-kit';
import type { AriOps } from './ari-ops.js';
import type { AriChannel } from './ari-types.js';
import type { CallRegistry } from './calls.js';
import type { CallTracker } from './call-tracker.js';
import type { CallHandover } from './handover.js';

/** The args of a channel sitting in `Stasis(<app>,<args>)`, or undefined when it is not in our app. */
function stasisArgsOf(channel: AriChannel, app: string): string[] | undefined {
  const data = channel.dialplan?.app_data ?? '';
  if (channel.dialplan?.app_name !== 'Stasis') return undefined;
  const [name, ...args] = data.split(',');
  return name === app ? args : undefined;
}

export interface ReconcilerDependencies {
  app: string;
  ari: AriOps;
  registry: CallRegistry;
  tracker: CallTracker;
  /** What a stopped process left: calls gone from Asterisk meanwhile are ended after a take-over. */
  handover: CallHandover;
  /** Keeps shutdown waiting for a run in progress. */
  track(work: Promise<unknown>): void;
  logger: Logger;
}

/**
 * Compares what the adapter tracks with Asterisk's channel list. Events alone cannot be trusted
 * to end every call: ARI does not replay what happened while the WebSocket was down, and an
 * event can be lost without a reconnect. So this runs after every (re)connect, where it also
 * takes over unknown channels in the app, and periodically, where it ends what vanished.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private runs: Promise<void> = Promise.resolve();
  private running = false;

  constructor(private readonly deps: ReconcilerDependencies) {}

  /**
   * After a (re)connect: reconciles and takes over the calls of channels in the app that the adapter
   * does not know. Events wait meanwhile, so none for a call being taken over is lost.
   */
  afterConnect(): Promise<void> {
    return this.deps.tracker.hold(() => this.enqueue(true));
  }

  /** Reconciles every `intervalMs` until `stop()`; a tick while a run is in progress is skipped. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.enqueue(false).catch((error: unknown) =>
        this.deps.logger.error({ err: error }, 'periodic reconciliation with Asterisk failed'),
      );
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs one after another: a run must not act on a list older than one already applied. */
  private enqueue(adopt: boolean): Promise<void> {
    const run = this.runs.then(() => this.run(adopt));
    this.runs = run.catch(() => undefined);
    this.deps.track(this.runs);
    return run;
  }

  /** After a take-over: the handed-over calls it did not find end now (handover.ts). */
  private async endHandedOverGone(found: ReadonlySet<string>): Promise<void> {
    try {
      const handedOver = await this.deps.handover.take();
      if (!handedOver.length) return;
      this.deps.tracker.endHandedOver(handedOver, found);
      await this.deps.handover.forget(handedOver);
    } catch (error) {
      // The calls taken over from Asterisk go on; the entries stay for the next connect.
      this.deps.logger.error({ err: error }, 'calls handed over by the last process could not be read');
    }
  }

  private async run(adopt: boolean): Promise<void> {
    this.running = true;
    try {
      const listedAt = performance.now();
      const [channels, bridges] = await Promise.all([
        this.deps.ari.listChannels(),
        adopt ? this.deps.ari.listBridges() : [],
      ]);
      this.deps.tracker.reconcile(new Map(channels.map((channel) => [channel.id, channel])), listedAt);
      if (!adopt) return;
      const listed = channels.flatMap((channel) => {
        const args = stasisArgsOf(channel, this.deps.app);
        return args && !this.deps.registry.byChannelId(channel.id) ? [{ channel, args }] : [];
      });
      const found = await this.deps.tracker.takeOver(listed, bridges, listedAt, new Date());
      await this.endHandedOverGone(found);
    } finally {
      this.running = false;
    }
  }
}
