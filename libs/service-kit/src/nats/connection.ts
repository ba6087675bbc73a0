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
import { nanos } from '@nats-io/nats-core';
import { DLQ_STREAM, type StreamDefinition } from '@switchboard/events';
import type { Logger } from '../logger.js';

export interface NatsHandle {
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export interface ConnectNatsOptions {
  url: string;
  /** Shown in the server's connection list: the service name. */
  name: string;
  logger: Logger;
}

export async function connectNats({ url, name, logger }: ConnectNatsOptions): Promise<NatsHandle> {
  const connection = await connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        logger.warn({ nats: status }, `nats ${status.type}`);
      }
    }
  })();
  const jsm = await jetstreamManager(connection);
  return { connection, js: jetstream(connection), jsm };
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

/**
 * Creates the streams, or updates them to the declared config. The dead-letter stream is always
 * included: parking a poison message must never fail for want of it.
 */
export async function ensureStreams(jsm: JetStreamManager, definitions: readonly StreamDefinition[]): Promise<void> {
  const all = new Map([DLQ_STREAM, ...definitions].map((definition) => [definition.name, definition]));
  for (const definition of all.values()) {
    const config = toStreamConfig(definition);
    try {
      await jsm.streams.info(definition.name);
      await jsm.streams.update(definition.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await jsm.streams.add(config);
    }
  }
}

export { isNotFound as isJetStreamNotFound };
