import type { AddressInfo } from 'node:net';
import { createLogger } from '@switchboard/service-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { AriLink } from './ari-link.js';
import type { AriEvent } from './ari-types.js';
import { createAdapterMetrics } from './metrics.js';

// The events WebSocket against a stand-in for Asterisk's `/ari/events` that sends what a test asks.

const STATE_CHANGE = {
  type: 'ChannelStateChange',
  timestamp: '2026-11-27T22:10:13.394+0000',
  channel: {
    id: '1795817413.21',
    name: 'PJSIP/carrier-00000002',
    state: 'Up',
    caller: { name: 'sipp', number: 'sipp' },
    creationtime: '2026-11-27T22:10:13.382+0000',
  },
};

describe('the ARI events link', () => {
  let server: WebSocketServer;
  let sockets: WebSocket[];
  let upgrades: Array<{ url: string; authorization: string }>;
  let link: AriLink | undefined;

  beforeEach(async () => {
    sockets = [];
    upgrades = [];
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket, request) => {
      upgrades.push({ url: request.url ?? '', authorization: request.headers.authorization ?? '' });
      sockets.push(socket);
    });
    await new Promise((resolve) => server.once('listening', resolve));
  });
  afterEach(async () => {
    link?.close();
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  const start = async () => {
    const events: AriEvent[] = [];
    const logger = createLogger({ service: 'ari-link-test', level: 'silent' });
    const warnings = vi.spyOn(logger, 'warn');
    const onConnected = vi.fn(async () => undefined);
    const onReplaced = vi.fn();
    link = new AriLink({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      username: 'switchboard',
      password: 'secret',
      app: 'switchboard',
      logger,
      metrics: createAdapterMetrics(),
      onEvent: (event) => events.push(event),
      onConnected,
      onReplaced,
    });
    await link.start();
    return { link, events, warnings, onConnected, onReplaced };
  };

  it('asks for the app with basic auth, hands decoded events on, and survives malformed ones', async () => {
    const { events, warnings } = await start();
    expect(upgrades).toEqual([
      {
        url: '/ari/events?app=switchboard',
        authorization: `Basic ${Buffer.from('switchboard:secret').toString('base64')}`,
      },
    ]);
    const socket = sockets[0]!;
    socket.send('not json');
    socket.send(JSON.stringify({ ...STATE_CHANGE, channel: { ...STATE_CHANGE.channel, id: 7 } }));
    socket.send(JSON.stringify({ type: 'ChannelVarset', variable: 'X', value: '1' }));
    socket.send(JSON.stringify(STATE_CHANGE));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: 'ChannelStateChange', channel: { id: '1795817413.21', state: 'Up' } });
    expect(warnings.mock.calls.map(([fields]) => (fields as { type?: string }).type)).toEqual([
      undefined,
      'ChannelStateChange',
    ]);
  });

  it('reconnects after the connection drops and re-syncs each time', async () => {
    const { link: running, events, onConnected } = await start();
    expect(onConnected).toHaveBeenCalledTimes(1);
    sockets[0]!.terminate();
    await vi.waitFor(() => expect(onConnected).toHaveBeenCalledTimes(2));
    expect(running.isConnected).toBe(true);
    sockets[1]!.send(JSON.stringify(STATE_CHANGE));
    await vi.waitFor(() => expect(events).toHaveLength(1));
  });

  // That it never reconnects is shown against the emulator (app-takeover.test.ts).
  it('stays out once another connection took the app: closes its connection', async () => {
    const { link: running, onReplaced, events } = await start();
    sockets[0]!.send(JSON.stringify({ type: 'ApplicationReplaced', timestamp: '', application: 'switchboard' }));
    await vi.waitFor(() => expect(onReplaced).toHaveBeenCalledTimes(1));
    expect(running.holdsApp).toBe(false);
    await vi.waitFor(() => expect(sockets[0]!.readyState).toBe(sockets[0]!.CLOSED));
    expect(events).toEqual([]);
  });
});
