import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { infraMode } from './docker.js';
import { spawnServer } from './server-process.js';
import { localBinary } from './tools.js';

export interface NatsServer {
  /** e.g. `nats://127.0.0.1:41235` */
  readonly url: string;
  stop(): Promise<void>;
}

const NATS_IMAGE = 'nats:2.12-alpine';

/** Starts a NATS server with JetStream on a free loopback port, with its own empty store. */
export async function startNats(): Promise<NatsServer> {
  return (await infraMode()) === 'containers' ? startNatsContainer() : startLocalNats();
}

async function startLocalNats(): Promise<NatsServer> {
  const binary = await localBinary('nats-server');
  const storeDir = await mkdtemp(path.join(tmpdir(), 'sb-nats-'));
  try {
    const server = await spawnServer({
      name: 'nats-server',
      command: binary,
      // -p -1: the server picks a free port itself, so two suites never race for one.
      args: ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', storeDir],
      readyLine: /Listening for client connections on (\S+:\d+)/,
    });
    return {
      url: `nats://${server.ready[1]}`,
      stop: async () => {
        await server.stop();
        await rm(storeDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
}

async function startNatsContainer(): Promise<NatsServer> {
  const { NatsContainer } = await import('@testcontainers/nats');
  const container = await new NatsContainer(NATS_IMAGE).withJetStream().start();
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    stop: async () => {
      await container.stop();
    },
  };
}
