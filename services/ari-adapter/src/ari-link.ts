import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import WebSocket from 'ws';
import type { Logger } from '@switchboard/service-kit';
import { decodeAriEvent, type AriEvent } from './ari-types.js';
import type { AdapterMetrics } from './metrics.js';

export interface AriLinkOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  logger: Logger;
  metrics: AdapterMetrics;
  onEvent(event: AriEvent): void;
  /** After every (re)connection of the events WebSocket: ARI does not replay missed events. */
  onConnected(): Promise<void>;
  /** Another connection took the app over; this link has closed for good. */
  onReplaced(): void;
}

// The first connection: Asterisk may still be coming up (about a minute), then the start fails.
const connectPolicy = retry(handleAll, {
  maxAttempts: 10,
  backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000 }),
});

// Once running, the adapter never gives up on Asterisk.
const reconnectPolicy = retry(handleAll, {
  maxAttempts: Number.MAX_SAFE_INTEGER,
  backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 10_000 }),
});

/**
 * The app's events WebSocket (`/ari/events?app=<app>`), read with `ws` and decoded by
 * `decodeAriEvent`: ari-client wrapped every event's channel, bridge or playback in a Swagger
 * resource object the adapter never used. Reconnects with back-off until closed or replaced.
 */
export class AriLink {
  private socket: WebSocket | undefined;
  private connected = false;
  private replaced = false;
  private readonly stopped = new AbortController();

  constructor(private readonly options: AriLinkOptions) {}

  /** Opens the events WebSocket (retrying while Asterisk comes up) and re-syncs once connected. */
  async start(): Promise<void> {
    await connectPolicy.execute(() => this.open(), this.stopped.signal);
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
    this.stopped.abort();
    this.connected = false;
    this.socket?.close();
  }

  /** One connection attempt: resolves once the WebSocket is open, rejects when it fails first. */
  private open(): Promise<void> {
    const { url, username, password, app } = this.options;
    const events = new URL('/ari/events', url);
    events.protocol = events.protocol === 'https:' ? 'wss:' : 'ws:';
    events.searchParams.set('app', app);
    const socket = new WebSocket(events, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
    });
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => {
        socket.removeAllListeners();
        // Aborting a handshake emits one more error, which says nothing new.
        socket.on('error', () => undefined);
        socket.terminate();
        reject(error);
      };
      socket.once('error', failed);
      socket.once('unexpected-response', (_request, response) =>
        failed(new Error(`Asterisk refused the events connection: HTTP ${response.statusCode}`)),
      );
      socket.once('open', () => {
        if (this.stopped.signal.aborted) return failed(new Error('the events connection was closed'));
        socket.removeAllListeners();
        this.socket = socket;
        this.connected = true;
        // A text frame is one event; ARI sends no binary ones.
        socket.on('message', (data: Buffer) => this.onMessage(data.toString('utf8')));
        socket.on('error', (error) => this.options.logger.warn({ err: error }, 'ARI events connection failed'));
        socket.once('close', () => this.lost(socket));
        resolve();
      });
    });
  }

  private onMessage(text: string): void {
    const decoded = decodeAriEvent(text);
    if (decoded.kind === 'skipped') return;
    if (decoded.kind === 'malformed') {
      this.options.metrics.malformedEvents.add(1, { type: decoded.type ?? 'unknown' });
      this.options.logger.warn(
        { type: decoded.type, reason: decoded.reason, message: text.slice(0, 500) },
        'ARI event refused: not what Asterisk documents; ignored',
      );
      return;
    }
    const { event } = decoded;
    if (event.type === 'ApplicationReplaced') {
      if (event.application === this.options.app) this.replacedByAnother();
      return;
    }
    try {
      this.options.onEvent(event);
    } catch (error) {
      this.options.logger.error({ err: error, type: event.type }, 'ARI event handling failed');
    }
  }

  /** The connection dropped (Asterisk restarted, network): reconnect unless closed on purpose. */
  private lost(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.connected = false;
    if (this.stopped.signal.aborted) return;
    this.options.logger.warn('ARI events connection lost; reconnecting');
    void reconnectPolicy
      .execute(() => this.open(), this.stopped.signal)
      .then(
        () => this.afterConnect(true),
        // Only when closed meanwhile: the policy itself never gives up.
        () => undefined,
      );
  }

  /**
   * Stays out rather than take the app back: a reconnect would register it again and replace the
   * other adapter, which would do the same, moving every live call's events back and forth. The
   * operator sees it (error log, `ari.application.replaced`, `/readyz` failing) and decides.
   */
  private replacedByAnother(): void {
    if (this.replaced) return;
    this.replaced = true;
    // Closed on purpose, so the link does not reconnect (which would take the app back).
    this.close();
    this.options.metrics.appReplaced.add(1);
    this.options.logger.error(
      { app: this.options.app },
      'another events connection took over the Stasis app (ApplicationReplaced); this adapter stays out and is ' +
        'not ready: stop the other one or this one',
    );
    this.options.onReplaced();
  }

  private async afterConnect(reconnected: boolean): Promise<void> {
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
}
