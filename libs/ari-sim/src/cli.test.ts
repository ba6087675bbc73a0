import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const auth = { Authorization: `Basic ${Buffer.from('u:pw').toString('base64')}` };

describe('standalone CLI', () => {
  it('prints the listening line, serves ARI and the control API, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--username', 'u', '--password', 'pw'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const text = line.toString();
    expect(text).toMatch(/^ari-sim listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const url = text.trim().split(' ').at(-1) ?? '';

    const info = await fetch(`${url}/ari/asterisk/info`, { headers: auth });
    expect(info.status).toBe(200);
    const badCall = await fetch(`${url}/sim/calls`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '+4940', script: [{ atMs: 5, dtmf: 'x' }] }),
    });
    expect(badCall.status).toBe(400);
    const problem = (await badCall.json()) as { message: string };
    expect(problem.message).toContain('to:');
    expect(problem.message).toContain('script.0');
    const noApp = await fetch(`${url}/sim/calls`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '+4940', to: '+4941' }),
    });
    // No app connected: the dialplan holds the call, ringing, for the app to come.
    expect(noApp.status).toBe(200);
    const { channelId: held } = (await noApp.json()) as { channelId: string };
    const heldCall = await fetch(`${url}/sim/calls/${held}`, { headers: auth });
    expect(await heldCall.json()).toMatchObject({ ringingIndicated: true, answered: false });
    const endpoint = await fetch(`${url}/sim/endpoints`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ resource: 'SIP/agent1', behavior: { busy: true } }),
    });
    expect(endpoint.status).toBe(400);
    expect((await fetch(`${url}/sim/calls/unknown`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${url}/ari/events`, { headers: auth })).status).toBe(426);
    const drop = await fetch(`${url}/sim/websockets/drop`, { method: 'POST', headers: auth });
    expect(await drop.json()).toEqual({ dropped: 0 });

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
