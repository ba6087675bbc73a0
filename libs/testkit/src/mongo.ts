import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { infraMode } from './docker.js';
import { RESTART_IN_CONTAINERS, restartableServer, spawnServer, type RestartOptions } from './server-process.js';
import { localBinary } from './tools.js';

export interface MongoServer {
  /** A MongoDB connection string without a database name. */
  readonly url: string;
  /** `mongodb` under Testcontainers, `ferretdb` for the local stand-in. */
  readonly flavour: 'mongodb' | 'ferretdb';
  /**
   * Stops the server (SIGTERM, waits for its exit), waits `downMs` (default 0), starts it again
   * on the same port with the same data, and resolves once it accepts connections. FerretDB only:
   * under Testcontainers it rejects (a restarted container gets a new host port).
   */
  restart(options?: RestartOptions): Promise<void>;
  stop(): Promise<void>;
}

const MONGO_IMAGE = 'mongo:7.0';

/**
 * Starts a MongoDB-wire server on a free loopback port with an empty store: MongoDB in a
 * container where Docker is reachable, otherwise FerretDB v1 on SQLite (see scripts/ferretdb).
 */
export async function startMongo(): Promise<MongoServer> {
  return (await infraMode()) === 'containers' ? startMongoContainer() : startFerretDb();
}

async function startFerretDb(): Promise<MongoServer> {
  const binary = await localBinary('ferretdb');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-ferretdb-'));
  try {
    const start = (listenAddr: string) =>
      spawnServer({
        name: 'ferretdb',
        command: binary,
        args: ['-listen-addr', listenAddr, '-sqlite-url', `file:${dataDir}/`],
        // Printed once the listener is bound.
        readyLine: /^ferretdb listening on (mongodb:\/\/([^/]+)\S*)/,
      });
    const first = await start('127.0.0.1:0');
    const address = first.ready[2]!;
    const restartable = restartableServer(first, () => start(address));
    return {
      url: first.ready[1] ?? '',
      flavour: 'ferretdb',
      restart: restartable.restart,
      stop: async () => {
        await restartable.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function startMongoContainer(): Promise<MongoServer> {
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  const container = await new MongoDBContainer(MONGO_IMAGE).start();
  return {
    url: `${container.getConnectionString()}/?directConnection=true`,
    flavour: 'mongodb',
    restart: () => Promise.reject(new Error(RESTART_IN_CONTAINERS)),
    stop: async () => {
      await container.stop();
    },
  };
}
