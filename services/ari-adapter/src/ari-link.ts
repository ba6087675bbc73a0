import ari, { type Client } from 'ari-client';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from '@switchboard/service-kit';
import type { AdapterMetrics } from './metrics.js';

/** ARI events the adapter reacts to. */
export const HANDLED_EVENTS = [
  'StasisStart',
  'StasisEnd',
  'ChannelStateChange',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  'ChannelDtmfReceived',
  'Dial',
  'PlaybackFinished',
  'RecordingStarted',
  'RecordingFinished',
  'RecordingFailed',
] as const;

export interface AriLinkOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  logger: Logger;
  metrics: AdapterMetrics;
  onEvent(type: string, event: unknown): void;
  /** After every (re)connection of the events WebSocket: ARI does not replay missed events. */
  onConnected(): Promise<void>;
  /** Another connection took the app over; this link has closed for good. */
  onReplaced(): void;
}

const connectPolicy = retry(handleAll, {
  maxAttempts: 10,
  backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000 }),
});

// ari-client gives up after 10 quick retries (about a minute); past that the adapter keeps trying.
const restartPolicy = retry(handleAll, {
  maxAttempts: Number.MAX_SAFE_INTEGER,
  backoff: new ExponentialBackoff({ initialDelay: 1_000, maxDelay: 30_000 }),
});

/** The link to one Asterisk through `ari-client`: REST client plus the app's events WebSocket. */
export class AriLink {
  private connected = false;
  private closed = false;
  private restarting = false;
  private replaced = false;

  private constructor(
    readonly client: Client,
    private readonly options: AriLinkOptions,
  ) {}

  /** Loads the REST API (retrying while Asterisk comes up); events flow after `start()`. */
  static async connect(options: AriLinkOptions): Promise<AriLink> {
    const client = await connectPolicy.execute(() => ari.connect(options.url, options.username, options.password));
    return new AriLink(client, options);
  }

  /** Opens the app's events WebSocket and re-syncs once connected. */
  async start(): Promise<void> {
    const { client, options } = this;
    // ari-client's typings overload `on` per event name; the handler treats them alike.
    const on = client.on.bind(client) as (type: string, listener: (event: unknown) => void) => void;
    for (const type of HANDLED_EVENTS) {
      on(type, (event: unknown) => {
        try {
          options.onEvent(type, event);
        } catch (error) {
          options.logger.error({ err: error, type }, 'ARI event handling failed');
        }
      });
    }
    client.on('WebSocketReconnecting', () => {
      this.connected = false;
      options.logger.warn('ARI events connection lost; reconnecting');
    });
    client.on('WebSocketMaxRetries', () => void this.restart());
    on('ApplicationReplaced', (event) => {
      if ((event as { application?: string }).application === options.app) this.replacedByAnother();
    });
    await client.start(options.app);
    // Only now: ari-client also emits WebSocketConnected for the first connection, which is
    // reconciled below, not counted as a reconnect.
    client.on('WebSocketConnected', () => void this.afterConnect(true));
    await this.afterConnect(false);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * The app's events come to this link: connected, and not replaced. Asterisk tells a replaced
   * connection only once (ApplicationReplaced); `GET /applications/{app}` names no connection.
   */
  get holdsApp(): boolean {
    return this.connected && !this.replaced;
  }

  close(): void {
    this.closed = true;
    this.client.stop();
  }

  /**
   * Stays out rather than take the app back: a reconnect would register it again and replace the
   * other adapter, which would do the same, moving every live call's events back and forth. The
   * operator sees it (error log, `ari.application.replaced`, `/readyz` failing) and decides.
   */
  private replacedByAnother(): void {
    if (this.replaced) return;
    this.replaced = true;
    this.connected = false;
    this.closed = true;
    // Closed on purpose, so ari-client does not reconnect (which would take the app back).
    this.client.stop();
    this.options.metrics.appReplaced.add(1);
    this.options.logger.error(
      { app: this.options.app },
      'another events connection took over the Stasis app (ApplicationReplaced); this adapter stays out and is ' +
        'not ready: stop the other one or this one',
    );
    this.options.onReplaced();
  }

  private async afterConnect(reconnected: boolean): Promise<void> {
    this.connected = true;
    if (reconnected) {
      this.options.metrics.reconnects.add(1);
      this.options.logger.info('ARI events connection re-established; re-syncing channels');
    }
    try {
      await this.options.onConnected();
    } catch (error) {
      this.options.logger.error({ err: error }, 're-sync of live channels failed');
    }
  }

  private async restart(): Promise<void> {
    // Each failed start ends in another WebSocketMaxRetries: without this guard every one of them
    // began a restart loop of its own (seen against a stopped Asterisk: thousands a minute).
    if (this.closed || this.restarting) return;
    this.restarting = true;
    this.options.logger.error('ari-client gave up reconnecting; restarting the events connection');
    try {
      // A successful start emits WebSocketConnected, which re-syncs.
      await restartPolicy.execute(async () => {
        if (this.closed) return;
        await this.client.start(this.options.app);
      });
    } finally {
      this.restarting = false;
    }
  }
}
