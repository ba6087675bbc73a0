import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  NATS_IDENTITIES,
  createNatsUserKey,
  natsAuthConfig,
  type NatsIdentity,
  type NatsPermissions,
  type NatsUserKey,
} from '@switchboard/events';
import { infraMode } from './docker.js';
import { RESTART_IN_CONTAINERS, restartableServer, spawnServer, type RestartOptions } from './server-process.js';
import { localBinary } from './tools.js';

/** The test's own user: it fakes other services and inspects everything, so it may do anything. */
export const TESTER = 'tester' as const;

export type NatsUserName = NatsIdentity | typeof TESTER;

/** What a client needs to connect as one user (service-kit's NatsCredentials). */
export interface NatsTestCredentials {
  readonly identity: string;
  readonly seed: string;
}

export interface NatsServer {
  /** e.g. `nats://127.0.0.1:41235` */
  readonly url: string;
  /** The credentials of a service (its declared permissions) or of the test itself (`tester`). */
  credentials(user: NatsUserName | string): NatsTestCredentials;
  /** NATS_URL and NATS_NKEY_SEED for a service the test starts (its definition's name). */
  env(identity: NatsIdentity | string): { NATS_URL: string; NATS_NKEY_SEED: string };
  /**
   * Stops the server (SIGTERM, waits for its exit), waits `downMs` (default 0), starts it again
   * with the same arguments, port, JetStream store and users, and resolves once it accepts
   * connections. Clients connected before reconnect on their own. Local servers only: under
   * Testcontainers it rejects (a restarted container gets a new host port).
   */
  restart(options?: RestartOptions): Promise<void>;
  stop(): Promise<void>;
}

const NATS_IMAGE = 'nats:2.12-alpine';

const TESTER_PERMISSIONS: NatsPermissions = {
  publish: { allow: ['>'], deny: [] },
  subscribe: { allow: ['>'], deny: [] },
  allow_responses: true,
};

/**
 * Starts a NATS server with JetStream on a free loopback port, with its own empty store and
 * authentication on: a fresh nkey per declared identity, with the permissions libs/events
 * declares for it, plus the test's own user. Anonymous clients are refused.
 */
export async function startNats(): Promise<NatsServer> {
  const keys = new Map<NatsUserName, NatsUserKey>(
    [...NATS_IDENTITIES, TESTER].map((user): [NatsUserName, NatsUserKey] => [user, createNatsUserKey()]),
  );
  const auth = natsAuthConfig(
    [...keys].map(([identity, key]) => ({
      identity,
      publicKey: key.publicKey,
      ...(identity === TESTER ? { permissions: TESTER_PERMISSIONS } : {}),
    })),
  );
  const server = (await infraMode()) === 'containers' ? await startNatsContainer(auth) : await startLocalNats(auth);
  const credentials = (user: string): NatsTestCredentials => {
    const key = keys.get(user as NatsUserName);
    if (!key) throw new Error(`no NATS user "${user}" (known: ${[...keys.keys()].join(', ')})`);
    return { identity: user, seed: key.seed };
  };
  return {
    url: server.url,
    credentials,
    env: (identity) => ({ NATS_URL: server.url, NATS_NKEY_SEED: credentials(identity).seed }),
    restart: server.restart,
    stop: server.stop,
  };
}

interface RunningNats {
  url: string;
  restart(options?: RestartOptions): Promise<void>;
  stop(): Promise<void>;
}

async function startLocalNats(auth: string): Promise<RunningNats> {
  const binary = await localBinary('nats-server');
  const storeDir = await mkdtemp(path.join(tmpdir(), 'sb-nats-'));
  try {
    const configFile = path.join(storeDir, 'nats.conf');
    await writeFile(configFile, auth);
    const args = (port: string) => [
      '-c',
      configFile,
      '-a',
      '127.0.0.1',
      '-p',
      port,
      '-js',
      '-sd',
      path.join(storeDir, 'js'),
    ];
    const first = await spawnServer({
      name: 'nats-server',
      command: binary,
      // -p -1: the server picks a free port itself, so two suites never race for one.
      args: args('-1'),
      readyLine: /Listening for client connections on (\S+:(\d+))/,
    });
    const port = first.ready[2]!;
    const restartable = restartableServer(first, () =>
      spawnServer({
        name: 'nats-server',
        command: binary,
        args: args(port),
        // After the JetStream store is recovered and the client port is open.
        readyLine: /Server is ready/,
      }),
    );
    return {
      url: `nats://${first.ready[1]}`,
      restart: restartable.restart,
      stop: async () => {
        await restartable.stop();
        await rm(storeDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
}

async function startNatsContainer(auth: string): Promise<RunningNats> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(NATS_IMAGE)
    .withCopyContentToContainer([{ content: auth, target: '/etc/nats/sb.conf' }])
    .withCommand(['-c', '/etc/nats/sb.conf', '-js', '-sd', '/data'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    restart: () => Promise.reject(new Error(RESTART_IN_CONTAINERS)),
    stop: async () => {
      await container.stop();
    },
  };
}
