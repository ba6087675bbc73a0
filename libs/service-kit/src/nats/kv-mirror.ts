import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import type { Logger } from '../logger.js';

export interface KvMirror {
  /** True while the watch runs; a service's `/readyz` should report it, as its copy goes stale without. */
  readonly following: boolean;
  stop(): void;
}

/**
 * Follows a whole KV bucket into `apply`: every stored value first, then each change. Resolves once
 * the values stored when it started have been applied, so the caller's in-memory copy is complete.
 */
export async function mirrorKv(
  kv: KV,
  apply: (entry: KvEntry) => void,
  options: { logger: Logger; what: string },
): Promise<KvMirror> {
  const stored = (await kv.status()).values;
  const watch = await kv.watch({ include: KvWatchInclude.LastValue });
  let following = true;
  let stopped = false;
  let applied = 0;
  let markLoaded: () => void = () => undefined;
  const loaded = new Promise<void>((resolve) => (markLoaded = resolve));
  if (stored === 0) markLoaded();
  void (async () => {
    for await (const entry of watch) {
      apply(entry);
      if (entry.isUpdate || ++applied >= stored) markLoaded();
    }
  })()
    .catch((error: unknown) => {
      if (!stopped) options.logger.error({ err: error }, `${options.what} KV watch failed`);
    })
    .finally(() => {
      following = false;
      markLoaded();
      if (!stopped) options.logger.error(`${options.what} KV watch ended; this replica no longer follows the bucket`);
    });
  await loaded;
  return {
    get following() {
      return following;
    },
    stop: () => {
      stopped = true;
      void watch.stop();
    },
  };
}
