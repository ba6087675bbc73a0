import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AriSim, startAriSim } from './server.js';

// Correctness with many calls at once; the volume (2,000 calls and their ARI traffic) is `pnpm bench:ari-sim`.
const CALLS = 200;
let sim: AriSim;
let socket: WebSocket;
const counts = new Map<string, number>();
const waiters: { type: string; n: number; resolve: () => void }[] = [];

beforeAll(async () => {
  sim = await startAriSim({ username: 'u', password: 'p', timeScale: 0.01 });
  socket = new WebSocket(`${sim.url.replace('http', 'ws')}/ari/events?app=switchboard&api_key=u:p`);
  socket.on('message', (data: Buffer) => {
    const { type } = JSON.parse(data.toString()) as { type: string };
    counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const w of [...waiters]) if (w.type === type && (counts.get(type) ?? 0) >= w.n) w.resolve();
  });
  await once(socket, 'open');
});

afterAll(async () => {
  socket?.close();
  await sim?.stop();
});

const reach = (type: string, n: number) =>
  (counts.get(type) ?? 0) >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ type, n, resolve }));

it(`keeps ${CALLS} concurrent inbound calls alive and ends them all`, async () => {
  const ids = Array.from({ length: CALLS }, (_, i) =>
    sim.placeCall({ from: `+4940${i}`, to: '+494624800', script: [{ atMs: 100, dtmf: '1' }] }),
  );
  await reach('StasisStart', CALLS);
  await reach('ChannelDtmfReceived', CALLS);
  const listed = (await (await fetch(`${sim.url}/ari/channels?api_key=u:p`)).json()) as unknown[];
  expect(listed).toHaveLength(CALLS);
  for (const id of ids) sim.hangupCall(id);
  await reach('StasisEnd', CALLS);
  expect(counts.get('ChannelDestroyed')).toBeUndefined();
  expect(sim.getCall(ids[CALLS - 1] ?? '')?.dtmfPressed).toBe('1');
});
