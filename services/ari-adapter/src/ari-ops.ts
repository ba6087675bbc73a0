import type { Client } from 'ari-client';
import type { AriChannel } from './ari-types.js';

/** How an ARI request failed, read from the body text (ari-client exposes no status code). */
export type AriFailure = 'not-found' | 'allocation-failed' | 'invalid-state' | 'other';

export class AriRequestError extends Error {
  override readonly name = 'AriRequestError';
  constructor(
    readonly failure: AriFailure,
    readonly operation: string,
    body: string,
  ) {
    super(`ARI ${operation} failed: ${body}`);
  }
}

function classify(body: string): AriFailure {
  if (/allocation failed/i.test(body)) return 'allocation-failed';
  if (/not found/i.test(body)) return 'not-found';
  if (/not in stasis|invalid state|not in a valid state|in use|not in this bridge/i.test(body)) return 'invalid-state';
  return 'other';
}

async function call<T>(operation: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    const body = error instanceof Error ? error.message : String(error);
    throw new AriRequestError(classify(body), operation, body);
  }
}

type Channels = Client['channels'];
type Params<K extends keyof Channels> = Channels[K] extends (params: infer P, ...rest: never[]) => unknown ? P : never;

/**
 * The ARI operations the adapter uses, each naming what failed. One place to see what the
 * adapter asks of Asterisk.
 */
export class AriOps {
  constructor(private readonly client: Client) {}

  listChannels(): Promise<AriChannel[]> {
    return call('channels.list', async () => (await this.client.channels.list()) as unknown as AriChannel[]);
  }

  answer(channelId: string): Promise<void> {
    return call('channels.answer', () => this.client.channels.answer({ channelId }));
  }

  play(channelId: string, playbackId: string, media: readonly string[], lang: string | undefined): Promise<void> {
    const params = {
      channelId,
      playbackId,
      media: [...media],
      ...(lang ? { lang } : {}),
    } as unknown as Params<'playWithId'>;
    return call('channels.playWithId', async () => void (await this.client.channels.playWithId(params)));
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await call('playbacks.stop', () => this.client.playbacks.stop({ playbackId })).catch(ignore('not-found'));
  }

  startMoh(channelId: string, mohClass: string | undefined): Promise<void> {
    return call('channels.startMoh', () =>
      this.client.channels.startMoh({ channelId, ...(mohClass ? { mohClass } : {}) }),
    );
  }

  async stopMoh(channelId: string): Promise<void> {
    await call('channels.stopMoh', () => this.client.channels.stopMoh({ channelId })).catch(ignore('not-found'));
  }

  create(channelId: string, endpoint: string, app: string, appArgs: string): Promise<void> {
    const params = { channelId, endpoint, app, appArgs } as unknown as Params<'create'>;
    return call('channels.create', async () => void (await this.client.channels.create(params)));
  }

  /** Dials `endpoint` as a new channel that enters `app` only once it is answered. */
  originate(p: {
    channelId: string;
    endpoint: string;
    app: string;
    appArgs: string;
    callerId: string;
    timeoutSeconds: number;
  }): Promise<void> {
    const params = {
      channelId: p.channelId,
      endpoint: p.endpoint,
      app: p.app,
      appArgs: p.appArgs,
      timeout: p.timeoutSeconds,
      ...(p.callerId ? { callerId: p.callerId } : {}),
    } as unknown as Params<'originateWithId'>;
    return call('channels.originateWithId', async () => void (await this.client.channels.originateWithId(params)));
  }

  setVariable(channelId: string, variable: string, value: string): Promise<void> {
    return call('channels.setChannelVar', () => this.client.channels.setChannelVar({ channelId, variable, value }));
  }

  /** The variable's value, or undefined when it is unset (ARI answers 404). */
  async getVariable(channelId: string, variable: string): Promise<string | undefined> {
    try {
      const result = await call('channels.getChannelVar', () =>
        this.client.channels.getChannelVar({ channelId, variable }),
      );
      return (result as { value?: string }).value;
    } catch (error) {
      if (error instanceof AriRequestError && error.failure === 'not-found') return undefined;
      throw error;
    }
  }

  dial(channelId: string, caller: string, timeoutSeconds: number): Promise<void> {
    return call('channels.dial', () => this.client.channels.dial({ channelId, caller, timeout: timeoutSeconds }));
  }

  async hangup(channelId: string, cause: number): Promise<void> {
    const params = { channelId, reason_code: String(cause) } as unknown as Params<'hangup'>;
    await call('channels.hangup', () => this.client.channels.hangup(params)).catch(ignore('not-found'));
  }

  continueInDialplan(channelId: string, context: string, extension: string): Promise<void> {
    return call('channels.continueInDialplan', () =>
      this.client.channels.continueInDialplan({ channelId, context, extension, priority: 1 }),
    );
  }

  async createBridge(bridgeId: string): Promise<void> {
    const params = { bridgeId, type: 'mixing', name: bridgeId } as unknown as Parameters<
      Client['bridges']['createWithId']
    >[0];
    await call('bridges.createWithId', () => this.client.bridges.createWithId(params));
  }

  addToBridge(bridgeId: string, channelIds: readonly string[]): Promise<void> {
    return call('bridges.addChannel', () => this.client.bridges.addChannel({ bridgeId, channel: [...channelIds] }));
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await call('bridges.destroy', () => this.client.bridges.destroy({ bridgeId })).catch(ignore('not-found'));
  }
}

/** For operations whose goal is already reached when the object is gone. */
function ignore(failure: AriFailure) {
  return (error: unknown) => {
    if (error instanceof AriRequestError && error.failure === failure) return;
    throw error;
  };
}
