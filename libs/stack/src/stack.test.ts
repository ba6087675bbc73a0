import * as grpc from '@grpc/grpc-js';
import { createProgram } from '@switchboard/cli';
import { presenceV1 } from '@switchboard/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

describe('startStack', () => {
  beforeAll(async () => {
    stack = await startStack({
      services: ['directory', 'ivr', 'presence', 'ari-adapter'],
      replicas: { presence: 2 },
      alwaysOpen: true,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('starts each service as a ready process and loads the demo tenant with its staff signed in', async () => {
    expect(stack.tenantId).toBe('t-kropp');
    expect(stack.services.map((service) => service.name).sort()).toEqual([
      'ari-adapter',
      'directory',
      'ivr',
      'presence',
      'presence',
    ]);
    expect(new Set(stack.metricsTargets()).size).toBe(5);
    for (const target of stack.metricsTargets()) {
      expect((await fetch(`http://${target}/readyz`)).status).toBe(200);
    }
    const client = new presenceV1.PresenceServiceClient(
      stack.grpcAddress('presence'),
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await stack.token()}`);
    const { agents } = await new Promise<presenceV1.ListAgentsResponse>((resolve, reject) =>
      client.listAgents({ tenantId: stack.tenantId, departmentId: 'standesamt' }, metadata, (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
    client.close();
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.every((agent) => agent.state === presenceV1.AgentState.AGENT_STATE_AVAILABLE)).toBe(true);
  });

  it('serves the operator CLI: sb agents and sb departments with --live join directory and presence', async () => {
    vi.stubEnv('SB_DIRECTORY_ADDR', stack.grpcAddress('directory'));
    vi.stubEnv('SB_PRESENCE_ADDR', stack.grpcAddress('presence'));
    vi.stubEnv('SB_TOKEN', await stack.token());
    const printed: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await createProgram().exitOverride().parseAsync(['agents', '--tenant', 't-kropp', '--live'], { from: 'user' });
      await createProgram()
        .exitOverride()
        .parseAsync(['departments', '--tenant', 't-kropp', '--live'], { from: 'user' });
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }
    const lines = printed.join('').split('\n');
    expect(lines[0]).toContain('STATE');
    expect(lines.find((line) => line.startsWith('s-101\t'))).toMatch(/\tAVAILABLE\t.*\tPJSIP\/kropp-101$/);
    expect(lines.find((line) => line.startsWith('s-102\t'))).toMatch(/\thome \+4915124658343$/);
    expect(lines.find((line) => line.startsWith('zentrale\t'))).toMatch(/\tAVAILABLE 2$/);
  });

  it("gives the demo tenant a number pool with free numbers (the portal's pool page)", async () => {
    vi.stubEnv('SB_DIRECTORY_ADDR', stack.grpcAddress('directory'));
    vi.stubEnv('SB_TOKEN', await stack.token());
    const printed: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      await createProgram()
        .exitOverride()
        .parseAsync(['numbers', 'pool', 'list', '--tenant', 't-kropp'], { from: 'user' });
    } finally {
      stdout.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(printed.join('').split('\n')[1]).toBe(
      'kropp-selbstbedienung\tSelbstbedienung Kropp\t+494624720-10..99\t90\t90\t-',
    );
  });

  it('kills one service and, on stop, every process it started', async () => {
    const ivr = stack.services.find((service) => service.name === 'ivr')!;
    await stack.kill('ivr', 0, 'SIGKILL');
    expect(alive(ivr.pid)).toBe(false);
    expect(stack.services.some((service) => service.name === 'ivr')).toBe(false);
    const pids = stack.services.map((service) => service.pid);
    await stack.stop();
    await stack.stop();
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('startStack with a service that cannot start', () => {
  it("fails with the tail of that service's log", async () => {
    const failing = startStack({
      services: ['ivr'],
      serviceEnv: { ivr: { IVR_RESYNC_INTERVAL_MS: 'often' } },
      handleSignals: false,
    });
    await expect(failing).rejects.toThrow(/ivr \(replica 0\) did not start: exited early[\s\S]*IVR_RESYNC_INTERVAL_MS/);
  }, 60_000);
});
