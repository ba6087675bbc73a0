import { CallEvents, allTenantsSubject } from '@switchboard/events';
import { NotServedError, type Logger, type NatsHandle } from '@switchboard/service-kit';
import { isUnavailable } from '../clients.js';

// A NATS restart loses what the server held for a request in flight: the request itself if the
// adapter had not received it yet, and the adapter's right to answer it (the reply subject is
// allowed as a response to a request the server saw, and the restarted server saw none — the
// adapter's reply is refused as a permission violation). The caller's PlayAndCollect waits up to
// 5 minutes for that reply, so without this the call is silent until the caller gives up. Every
// call-control command carries its command id, and the adapter answers a repeated id with the
// first one's result (also while it still runs: the keys collected so far go on), so a command in
// flight across a reconnect is simply sent again, and one that failed because of the outage too.
//
// An adapter restart looks alike: the stopping process answers the commands in hand as not served
// (NotServedError), and until the next one serves its subjects nobody does (not served either). The
// call lives on in Asterisk and the next process takes it over, so such a command is sent again under
// its id until it is served — it then acts there (a menu plays again: the new process keeps no command
// log; a Dial is answered from the legs it took over). A process that was killed answers nothing:
// the next one announces each call it took over (`call.taken_over`), and a command in flight on
// that call is sent again then.

/** How long after a reconnect a command failing as unavailable is still taken for the outage's. */
const OUTAGE_GRACE_MS = 30_000;
/**
 * How long a command nobody serves is sent again: as long as the dialplan holds a new call for an
 * adapter (STASIS_HOLD_SECONDS). A restart takes seconds; longer, the adapter is not coming back.
 */
const NOT_SERVED_GRACE_MS = 60_000;
/** Waits between attempts within a grace time (then every 2 s until it is over). */
const RETRY_DELAYS_MS = [250, 500, 1_000, 2_000];

/**
 * What makes a command in flight worth sending again, for every flow of the replica: the
 * connection's disconnects and reconnects, and adapter processes taking calls over.
 */
export class ConnectionEvents {
  private readonly listeners = new Set<() => void>();
  /** Per call (`<tenant>/<call>`): what waits on a command to its adapter. */
  private readonly takeoverListeners = new Map<string, Set<() => void>>();
  private down = false;
  private reconnectedAt = -Infinity;

  /** `now`: the clock of grace times (ms). */
  constructor(readonly now: () => number = () => performance.now()) {}

  /** Follows `connection` until it closes. */
  follow(connection: Pick<NatsHandle['connection'], 'status'>): void {
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') this.disconnected();
        if (status.type === 'reconnect') this.reconnected();
      }
    })();
  }

  /** Follows `call.taken_over` (every replica hears each; only one waits on the call). */
  followTakeovers(connection: Pick<NatsHandle['connection'], 'subscribe'>, logger: Logger): void {
    connection.subscribe(allTenantsSubject(CallEvents.takenOver.domain, CallEvents.takenOver.event), {
      callback: (error, message) => {
        if (error) return;
        try {
          const event = CallEvents.takenOver.codec.decode(message.data);
          this.takenOver(event.meta?.tenantId ?? '', event.callId);
        } catch (decodeError) {
          logger.warn({ err: decodeError, subject: message.subject }, 'undecodable call.taken_over ignored here');
        }
      },
    });
  }

  takenOver(tenantId: string, callId: string): void {
    for (const listener of [...(this.takeoverListeners.get(`${tenantId}/${callId}`) ?? [])]) listener();
  }

  /** Calls `listener` when an adapter process takes the call over, until the returned function is called. */
  onTakenOver(tenantId: string, callId: string, listener: () => void): () => void {
    const key = `${tenantId}/${callId}`;
    const listeners = this.takeoverListeners.get(key) ?? new Set();
    listeners.add(listener);
    this.takeoverListeners.set(key, listeners);
    return () => {
      listeners.delete(listener);
      if (!listeners.size) this.takeoverListeners.delete(key);
    };
  }

  disconnected(): void {
    this.down = true;
  }

  reconnected(): void {
    this.down = false;
    this.reconnectedAt = this.now();
    for (const listener of [...this.listeners]) listener();
  }

  get connected(): boolean {
    return !this.down;
  }

  /** Whether a failure now may be the outage's: the connection is down or came back just now. */
  get inOutage(): boolean {
    return this.down || this.now() - this.reconnectedAt < OUTAGE_GRACE_MS;
  }

  /** Calls `listener` at each reconnect until the returned function is called. */
  onReconnect(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const SEND_AGAIN = Symbol('send again');

type Methods = Record<string, (request: never) => Promise<unknown>>;

/**
 * The client's methods, each sent again (the same request, so the same command id) when NATS
 * reconnects while it waits for the reply, when it fails as unavailable during or just after an
 * outage (the adapter may reconnect a moment after routing and have no subscription yet), and when
 * nobody served it (the adapter restarting) for up to a minute.
 */
export function resendAcrossOutages<C extends Methods>(client: C, events: ConnectionEvents): C {
  const resending: Record<string, (request: never) => Promise<unknown>> = {};
  for (const [name, method] of Object.entries(client)) {
    resending[name] = async (request) => {
      let notServedSince: number | undefined;
      const { tenantId, callId } = request as { tenantId?: string; callId?: string };
      for (let retries = 0; ;) {
        const offs: Array<() => void> = [];
        const sendAgain = new Promise<typeof SEND_AGAIN>((resolve) => {
          offs.push(events.onReconnect(() => resolve(SEND_AGAIN)));
          if (tenantId && callId) offs.push(events.onTakenOver(tenantId, callId, () => resolve(SEND_AGAIN)));
        });
        const attempt = method(request);
        try {
          const outcome = await Promise.race([attempt, sendAgain]);
          if (outcome !== SEND_AGAIN) return outcome;
          // The first attempt's reply, should it come after all, is the same result: not awaited.
          attempt.catch(() => undefined);
        } catch (error) {
          if (error instanceof NotServedError) {
            notServedSince ??= events.now();
            if (events.now() - notServedSince >= NOT_SERVED_GRACE_MS && !events.inOutage) throw error;
          } else if (!isUnavailable(error) || !events.inOutage) {
            throw error;
          }
          if (!events.connected) {
            // Sent again at the reconnect, however long the outage (the flow's guard ends the wait on a hang-up).
            await sendAgain;
            continue;
          }
          // Retried for the whole grace time: on a loaded machine the adapter's own reconnect (and
          // its subscriptions) can come seconds after routing's.
          const delay = RETRY_DELAYS_MS[Math.min(retries++, RETRY_DELAYS_MS.length - 1)]!;
          await new Promise((resolve) => setTimeout(resolve, delay));
        } finally {
          for (const off of offs) off();
        }
      }
    };
  }
  return resending as C;
}
