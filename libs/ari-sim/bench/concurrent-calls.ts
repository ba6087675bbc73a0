/**
 * Many concurrent inbound calls through the emulator, each driven over ARI like an app would:
 * StasisStart → answer → play a prompt → PlaybackFinished → hangup. Prints throughput and memory;
 * `--json <file>` writes the figures. Usage: pnpm bench:ari-sim [--calls 2000] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startAriSim } from '../src/index.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000' }, json: { type: 'string' } } });
const calls = Number(values.calls);
const sim = await startAriSim({ username: 'b', password: 'b', timeScale: 0.01, soundDurationMs: 1000 });
// A bounded keep-alive pool, as an adapter would use; thousands of sockets at once measure the kernel.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const inFlight = new Set<Promise<number>>();
const ari = (method: string, path: string) => {
  const pending = new Promise<number>((resolve, reject) => {
    const url = `${sim.url}/ari${path}${path.includes('?') ? '&' : '?'}api_key=b:b`;
    const req = request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  inFlight.add(pending);
  void pending.finally(() => inFlight.delete(pending));
  return pending;
};

let requests = 0;
let events = 0;
let ended = 0;
let peakRss = 0;
const socket = new WebSocket(`${sim.url.replace('http', 'ws')}/ari/events?app=switchboard&api_key=b:b`);
await new Promise((resolve) => socket.once('open', resolve));

const started = performance.now();
const done = new Promise<void>((resolve) => {
  socket.on('message', (data: Buffer) => {
    events += 1;
    const e = JSON.parse(data.toString()) as {
      type: string;
      channel?: { id: string };
      playback?: { target_uri: string };
    };
    const step = async () => {
      if (e.type === 'StasisStart' && e.channel) {
        requests += 2;
        await ari('POST', `/channels/${e.channel.id}/answer`);
        await ari('POST', `/channels/${e.channel.id}/play?media=sound:beep`);
      } else if (e.type === 'PlaybackFinished' && e.playback) {
        requests += 1;
        await ari('DELETE', `/channels/${e.playback.target_uri.slice('channel:'.length)}`);
      } else if (e.type === 'StasisEnd') {
        ended += 1;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (ended === calls) resolve();
      }
    };
    void step();
  });
});

for (let i = 0; i < calls; i += 1) sim.placeCall({ from: `+4940${i}`, to: '+494624800' });
peakRss = Math.max(peakRss, process.memoryUsage().rss);
await done;
const seconds = (performance.now() - started) / 1000;
await Promise.all(inFlight);

const figures = {
  calls,
  seconds: Number(seconds.toFixed(2)),
  callsPerSecond: Math.round(calls / seconds),
  ariRequestsPerSecond: Math.round(requests / seconds),
  eventsPerSecond: Math.round(events / seconds),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
};
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 2));
socket.close();
agent.destroy();
await sim.stop();
