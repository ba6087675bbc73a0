import { readFile } from 'node:fs/promises';
import { eventually } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

let stack: Stack;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ready = async (service: { httpPort: number }) =>
  (await fetch(`http://127.0.0.1:${service.httpPort}/readyz`)).status;

describe('restarts in a stack', () => {
  beforeAll(async () => {
    stack = await startStack({ services: ['ivr', 'presence'], replicas: { presence: 2 }, handleSignals: false });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('restarts a replica: killed, started again with the same env on the ports it had', async () => {
    const before = stack.services.find((service) => service.name === 'presence' && service.replica === 1)!;
    const restarted = await stack.restart('presence', 1, { signal: 'SIGKILL', downMs: 200 });
    expect(alive(before.pid)).toBe(false);
    expect(restarted.pid).not.toBe(before.pid);
    expect(restarted).toMatchObject({
      name: 'presence',
      replica: 1,
      httpPort: before.httpPort,
      grpcPort: before.grpcPort,
    });
    expect(await ready(restarted)).toBe(200);
    expect(stack.services.filter((service) => service.name === 'presence')).toHaveLength(2);
    // Its log goes on in the same file: a replica's history stays in one place.
    expect((await readFile(restarted.logFile, 'utf8')).match(/"msg":"presence ready"/g)).toHaveLength(2);
  }, 120_000);

  it('starts a killed replica again; services and metricsTargets() follow', async () => {
    const ivr = stack.services.find((service) => service.name === 'ivr')!;
    await stack.kill('ivr');
    expect(stack.metricsTargets()).not.toContain(`127.0.0.1:${ivr.httpPort}`);
    await expect(stack.restart('ivr')).rejects.toThrow(/no running ivr replica 0/);
    const started = await stack.start('ivr');
    expect(started.pid).not.toBe(ivr.pid);
    expect(stack.services).toContainEqual(started);
    expect(stack.metricsTargets()).toContain(`127.0.0.1:${started.httpPort}`);
    expect(await ready(started)).toBe(200);
    await expect(stack.start('ivr')).rejects.toThrow(/running already/);
    await expect(stack.start('rating')).rejects.toThrow(/rating is not part of this stack/);
  }, 120_000);

  it('restarts NATS and FerretDB under the running services, which are ready again afterwards', async () => {
    await stack.restartNats({ downMs: 500 });
    await stack.restartMongo({ downMs: 500 });
    for (const target of stack.metricsTargets()) {
      await eventually(
        async () => ((await fetch(`http://${target}/readyz`)).status === 200 ? true : undefined),
        `${target} ready after the restarts`,
      );
    }
  }, 120_000);
});
