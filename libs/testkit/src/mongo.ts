import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { infraMode } from './docker.js';
import { spawnServer } from './server-process.js';
import { localBinary } from './tools.js';

export interface MongoServer {
  /** A MongoDB connection string without a database name. */
  readonly url: string;
  /** `mongodb` under Testcontainers, `ferretdb` for the local stand-in. */
  readonly flavour: 'mongodb' | 'ferretdb';
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
    const server = await spawnServer({
      name: 'ferretdb',
      command: binary,
      args: ['-listen-addr', '127.0.0.1:0', '-sqlite-url', `file:${dataDir}/`],
      readyLine: /^ferretdb listening on (mongodb:\/\/\S+)/,
    });
    return {
      url: server.ready[1] ?? '',
      flavour: 'ferretdb',
      stop: async () => {
        await server.stop();
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
    stop: async () => {
      await container.stop();
    },
  };
}
