import type { KvEntry } from '@nats-io/kv';
import { mirrorKv, type KvMirror, type Logger } from '@switchboard/service-kit';
import type { CallState, Versioned } from './call-state.js';
import type { ServiceLevels } from './service-level.js';

// Every replica follows the `routing-calls` bucket (a KV watch) and keeps the calls routing is not
// done with — not bridged, handed off or ended — with their owner and last checkpoint, so that
// when an owner dies (or hands a call over on shutdown) the survivors know its calls at once and
// take each over with one compare-and-set on the revision they hold, without reading or scanning
// the bucket.

export const FINISHED: ReadonlySet<CallState['step']> = new Set(['bridged', 'handed-off', 'ended']);

export interface InFlightCall extends Versioned {
  /** When this revision arrived, by the follower's clock. */
  seenAt: number;
}

export class InFlightCalls {
  private readonly calls = new Map<string, InFlightCall>();
  private mirror: KvMirror | undefined;
  private readonly now: () => number;

  constructor(
    private readonly options: {
      logger: Logger;
      /** A call's owner or step changed (or it finished: `undefined`). */
      onChange(key: string, call: InFlightCall | undefined): void;
      now?: () => number;
      /** Counts each call whose wait in a queue ended today (the watch sees every state). */
      serviceLevels?: ServiceLevels;
    },
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  async follow(kv: Parameters<typeof mirrorKv>[0]): Promise<void> {
    this.mirror = await mirrorKv(kv, (entry) => this.apply(entry), {
      logger: this.options.logger,
      what: 'routing-calls',
    });
  }

  get following(): boolean {
    return this.mirror?.following ?? false;
  }

  stop(): void {
    this.mirror?.stop();
  }

  get size(): number {
    return this.calls.size;
  }

  entries(): IterableIterator<[string, InFlightCall]> {
    return this.calls.entries();
  }

  get(key: string): InFlightCall | undefined {
    return this.calls.get(key);
  }

  /** Whether any call in flight names `owner`. */
  owns(owner: string): boolean {
    for (const call of this.calls.values()) if (call.state.owner === owner) return true;
    return false;
  }

  apply(entry: Pick<KvEntry, 'key' | 'operation' | 'revision' | 'json'> & { created?: Date }): void {
    let state: CallState | undefined;
    if (entry.operation === 'PUT') {
      try {
        state = entry.json<CallState>();
      } catch (error) {
        this.options.logger.warn({ err: error, key: entry.key }, 'undecodable call state ignored');
      }
    }
    this.options.serviceLevels?.observe(entry.key, state, entry.created?.getTime() ?? Date.now());
    if (!state || FINISHED.has(state.step)) {
      if (this.calls.delete(entry.key)) this.options.onChange(entry.key, undefined);
      return;
    }
    const call = { state, revision: entry.revision, seenAt: this.now() };
    this.calls.set(entry.key, call);
    this.options.onChange(entry.key, call);
  }
}
