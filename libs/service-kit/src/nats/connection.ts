import { readFile } from 'node:fs/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { errors, nanos, nkeyAuthenticator } from '@nats-io/nats-core';
import { DLQ_STREAM, inboxPrefix, publicKeyOfSeed, type StreamDefinition } from '@switchboard/events';
import type { Logger } from '../logger.js';

export interface NatsHandle {
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Where replies to this connection's requests arrive; the only inbox its user may subscribe to. */
  readonly inboxPrefix: string;
  /** False from a disconnect until the reconnect (nats.js reconnects forever; see connectNats). */
  readonly connected: boolean;
}

/** Who connects: an identity of libs/events' permissions (a service's name) and its nkey seed. */
export interface NatsCredentials {
  readonly identity: string;
  /** The user's nkey seed (`SU…`). */
  readonly seed: string;
}

export interface ConnectNatsOptions {
  url: string;
  /** Shown in the server's connection list: the service name. */
  name: string;
  logger: Logger;
  credentials: NatsCredentials;
}

/** NATS refused the connection's credentials, or none were given. */
export class NatsCredentialsError extends Error {
  override readonly name = 'NatsCredentialsError';
}

/**
 * The seed from NATS_NKEY_SEED or the file NATS_NKEY_SEED_FILE (a mounted Secret). There is no
 * anonymous fallback: without a seed the service does not start.
 */
export async function natsSeedFromConfig(config: {
  NATS_NKEY_SEED?: string;
  NATS_NKEY_SEED_FILE?: string;
}): Promise<string> {
  if (config.NATS_NKEY_SEED) return config.NATS_NKEY_SEED.trim();
  const file = config.NATS_NKEY_SEED_FILE;
  if (file) {
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new NatsCredentialsError(`cannot read NATS_NKEY_SEED_FILE ${file}: ${(error as Error).message}`);
    }
  }
  throw new NatsCredentialsError('no NATS credentials: set NATS_NKEY_SEED or NATS_NKEY_SEED_FILE');
}

export async function connectNats({ url, name, logger, credentials }: ConnectNatsOptions): Promise<NatsHandle> {
  let publicKey: string;
  try {
    publicKey = publicKeyOfSeed(credentials.seed);
  } catch (error) {
    throw new NatsCredentialsError(`the NATS seed of ${credentials.identity} is unusable: ${(error as Error).message}`);
  }
  const prefix = inboxPrefix(credentials.identity);
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers: url.split(','),
      name,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(credentials.seed)),
      inboxPrefix: prefix,
      // Never give up: a NATS restart or outage of any length ends with the service connected
      // again. An attempt every second (plus up to 100 ms jitter) is cheap for one server, and
      // clients queue what they publish meanwhile (reconnectBufSize, 8 MiB by default).
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      // Otherwise nats.js builds an Error with a stack for every request and KV put, in case it
      // fails (the largest CPU cost of a request in routing's profile); the kit's own errors name
      // the subject instead.
      noAsyncTraces: true,
    });
  } catch (error) {
    if (error instanceof errors.AuthorizationError) {
      throw new NatsCredentialsError(
        `NATS at ${url} refused ${credentials.identity} (nkey ${publicKey}): ${error.message}; is the key in the server's configuration?`,
        { cause: error },
      );
    }
    throw error;
  }
  let connected = true;
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') connected = false;
      else if (status.type === 'reconnect') connected = true;
      // The server reports a denied publish or subscribe only asynchronously; say what was denied.
      if (status.type === 'error' && status.error instanceof errors.PermissionViolationError) {
        const { operation, subject, queue } = status.error;
        logger.error(
          { nats: { operation, subject, ...(queue ? { queue } : {}) }, identity: credentials.identity },
          `nats permission violation: ${credentials.identity} may not ${operation === 'publish' ? 'publish to' : 'subscribe to'} ${subject}`,
        );
      } else if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: status }, `nats ${status.type}`);
      }
    }
  })();
  const jsm = await jetstreamManager(connection);
  return {
    connection,
    js: jetstream(connection),
    jsm,
    inboxPrefix: prefix,
    get connected() {
      return connected && !connection.isClosed();
    },
  };
}

function toStreamConfig(definition: StreamDefinition): Partial<StreamConfig> & { name: string } {
  return {
    name: definition.name,
    subjects: [...definition.subjects],
    description: definition.description,
    max_age: nanos(definition.maxAgeMs),
    duplicate_window: nanos(definition.duplicateWindowMs),
  };
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound)
  );
}

function sameConfig(current: StreamConfig, declared: ReturnType<typeof toStreamConfig>): boolean {
  return (
    [...current.subjects].sort().join() === [...(declared.subjects ?? [])].sort().join() &&
    current.description === declared.description &&
    current.max_age === declared.max_age &&
    current.duplicate_window === declared.duplicate_window
  );
}

/**
 * Creates the streams, or updates them to the declared config when they differ. The dead-letter
 * stream is always included: parking a poison message must never fail for want of it. Only a
 * stream's owner may update it (libs/events' permissions: whoever could change a stream's subjects
 * and read it could capture others' messages); the names of streams that differ from their
 * declaration but this connection may not update are returned — their owner updates them.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  definitions: readonly StreamDefinition[],
): Promise<string[]> {
  const all = new Map([DLQ_STREAM, ...definitions].map((definition) => [definition.name, definition]));
  const notUpdated: string[] = [];
  for (const definition of all.values()) {
    const config = toStreamConfig(definition);
    let current: StreamConfig;
    try {
      current = (await jsm.streams.info(definition.name)).config;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await jsm.streams.add(config);
      continue;
    }
    if (sameConfig(current, config)) continue;
    try {
      await jsm.streams.update(definition.name, config);
    } catch (error) {
      if (!isPermissionViolation(error)) throw error;
      notUpdated.push(definition.name);
    }
  }
  return notUpdated;
}

/** A request the server refused to let this user send (nats.js may wrap it in a RequestError). */
export function isPermissionViolation(error: unknown): boolean {
  return (
    error instanceof errors.PermissionViolationError ||
    (error instanceof Error && error.cause instanceof errors.PermissionViolationError)
  );
}

export { isNotFound as isJetStreamNotFound };
