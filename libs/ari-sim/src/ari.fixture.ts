import { readFileSync } from 'node:fs';
import { connect, type Client } from 'ari-client';
import { type AriSim, type AriSimOptions, startAriSim } from './server.js';

export const USER = 'switchboard';
export const PASS = 's3cret';
export const APP = 'switchboard';

export interface Snap {
  id: string;
  name: string;
  state: string;
  caller: { name: string; number: string };
  connected: { name: string; number: string };
  dialplan: { context: string; exten: string; priority: number; app_name: string; app_data: string };
}

/** An ARI event as it arrives over the WebSocket (the fields the tests look at). */
export interface Ev {
  type: string;
  timestamp: string;
  application: string;
  asterisk_id: string;
  channel?: Snap;
  peer?: Snap;
  args?: string[];
  cause?: number;
  cause_txt?: string;
  soft?: boolean;
  digit?: string;
  duration_ms?: number;
  dialstatus?: string;
  dialstring?: string;
  variable?: string;
  value?: string;
  dialplan_app?: string;
  dialplan_app_data?: string;
  playback?: { id: string; media_uri: string; next_media_uri?: string; target_uri: string; state: string };
  bridge?: { id: string; channels: string[] };
  recording?: {
    name: string;
    format: string;
    state: string;
    target_uri: string;
    duration?: number;
    talking_duration?: number;
    silence_duration?: number;
    cause?: string;
  };
}

export interface Harness {
  sim: AriSim;
  client: Client;
  events: Ev[];
  /** The first event (past or future) matching `pred`; rejects after 10 s with what did arrive. */
  waitFor(pred: (e: Ev) => boolean, label: string): Promise<Ev>;
  /** Event types concerning one channel, in arrival order. */
  typesFor(channelId: string, opts?: { withVarset?: boolean }): string[];
  close(): Promise<void>;
}

export const channelOf = (e: Ev) => e.channel?.id ?? e.peer?.id;

/** Start an emulator and connect the real npm ari-client to it, collecting every event. */
export async function startHarness(options: Partial<AriSimOptions> = {}): Promise<Harness> {
  const sim = await startAriSim({ username: USER, password: PASS, timeScale: 0.01, app: APP, ...options });
  const client = await connect(sim.url, USER, PASS);
  const events: Ev[] = [];
  const waiters: { pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  (client as unknown as { on(type: string, fn: (e: Ev) => void): void }).on('*', (e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  await client.start(APP);
  return {
    sim,
    client,
    events,
    waitFor(pred, label) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`timed out waiting for ${label}; got ${events.map((e) => e.type).join(', ')}`));
        }, 10_000);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    typesFor(channelId, opts = {}) {
      return events
        .filter((e) => channelOf(e) === channelId && (opts.withVarset || e.type !== 'ChannelVarset'))
        .map((e) => e.type);
    },
    async close() {
      await client.stop();
      await sim.stop();
    },
  };
}

/** A captured Asterisk 22.10.1 event stream from `test/asterisk-traces/`. */
export function traceEvents(file: string): Ev[] {
  const url = new URL(`../test/asterisk-traces/${file}`, import.meta.url);
  return readFileSync(url, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Ev);
}

/** Event types of one channel in a trace, by channel name (ChannelVarset left out). */
export function traceTypes(file: string, channelName: string): string[] {
  return traceEvents(file)
    .filter((e) => (e.channel?.name ?? e.peer?.name) === channelName && e.type !== 'ChannelVarset')
    .map((e) => e.type);
}

/** A `/sim/...` control API request over HTTP, as an adapter test in another process would send it. */
export async function control(
  h: Harness,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.sim.url}/sim${path}`, {
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

export const rejection = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the request to fail');
};
